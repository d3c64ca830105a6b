// Resumable upload of one footage file (the tus 1.0.0 core subset the API speaks): create the upload, send
// it in chunks with Upload-Offset, and after a dropped connection ask the server (HEAD) how much it holds
// and carry on from there. The upload's address is remembered in localStorage, so choosing the same file
// again, even after reloading the page, resumes it instead of starting over.

import { API, ApiError, describeDetail, errorFromResponse } from "./api.js";

const TUS = { "Tus-Resumable": "1.0.0" };
const RETRIES = 6;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export class Upload {
  constructor(file, { camera, start, chunkBytes, onProgress, onState }) {
    this.file = file;
    this.camera = camera;
    this.start = start;
    this.chunkBytes = chunkBytes;
    this.onProgress = onProgress;
    this.onState = onState;
    this.key = `gatewatch-upload:${camera}:${file.name}:${file.size}:${file.lastModified}`;
    this.url = null;
    this.xhr = null;
  }

  async create() {
    const meta = [`filename ${b64(this.file.name)}`];
    if (this.start) meta.push(`start ${b64(this.start)}`);
    const response = await fetch(`${API}/cameras/${encodeURIComponent(this.camera)}/uploads`, {
      method: "POST",
      credentials: "same-origin",
      headers: { ...TUS, "Upload-Length": String(this.file.size), "Upload-Metadata": meta.join(",") },
    });
    if (!response.ok) throw await errorFromResponse(response);
    const location = response.headers.get("Location");
    if (!location) throw new ApiError(response.status, "The server did not say where to send the file.");
    return new URL(location, window.location.origin).pathname;
  }

  // How many bytes the server holds; null when it has forgotten this upload (start again).
  async offset(url) {
    const response = await fetch(url, { method: "HEAD", credentials: "same-origin", headers: TUS });
    if (response.status === 404 || response.status === 410) return null;
    if (!response.ok) throw new ApiError(response.status, `The server answered ${response.status} when asked how far the upload got.`);
    return Number(response.headers.get("Upload-Offset"));
  }

  // One chunk, through XMLHttpRequest because fetch cannot report upload progress.
  patch(url, offset) {
    const chunk = this.file.slice(offset, Math.min(offset + this.chunkBytes, this.file.size));
    return new Promise((resolve, reject) => {
      const xhr = (this.xhr = new XMLHttpRequest());
      xhr.open("PATCH", url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("Upload-Offset", String(offset));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.upload.onprogress = (e) => this.onProgress(offset + e.loaded, this.file.size);
      xhr.onerror = () => reject(new ApiError(0, "The connection dropped."));
      xhr.onabort = () => reject(new ApiError(0, "The upload was stopped."));
      xhr.onload = () => {
        if (xhr.status === 204 || xhr.status === 200) {
          resolve(Number(xhr.getResponseHeader("Upload-Offset")));
          return;
        }
        let message = "";
        try {
          message = describeDetail(JSON.parse(xhr.responseText).detail);
        } catch {
          message = "";
        }
        reject(new ApiError(xhr.status, message || `The server refused the upload (${xhr.status}).`));
      };
      xhr.send(chunk);
    });
  }

  // The import's outcome once the last byte is in: {status, start, end, error, ...}.
  async result(url) {
    for (let i = 0; i < 600; i += 1) {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw await errorFromResponse(response);
      const body = await response.json();
      if (body.result) return body.result;
      await sleep(1000);
    }
    throw new ApiError(0, "The server took too long to check the file. Look for it in the footage list below.");
  }

  async run() {
    let offset = null;
    this.url = localStorage.getItem(this.key);
    if (this.url) {
      try {
        offset = await this.offset(this.url);
        if (offset !== null) this.onState(`Resuming from ${(offset / 1048576).toFixed(1)} MB`);
      } catch {
        offset = null;
      }
    }
    if (offset === null) {
      this.onState("Starting");
      this.url = await this.create();
      localStorage.setItem(this.key, this.url);
      offset = 0;
    }
    let failures = 0;
    while (offset < this.file.size) {
      try {
        offset = await this.patch(this.url, offset);
        failures = 0;
        this.onProgress(offset, this.file.size);
        this.onState("Uploading");
      } catch (err) {
        // A refusal (4xx other than a lost offset) will not get better by trying again.
        if (err.status >= 400 && err.status < 500 && err.status !== 409) {
          localStorage.removeItem(this.key);
          throw err;
        }
        failures += 1;
        if (failures > RETRIES) throw new ApiError(0, "The connection keeps dropping. Press Resume to carry on from where it stopped.");
        this.onState(`Connection lost; retrying (${failures} of ${RETRIES})`);
        await sleep(Math.min(500 * 2 ** failures, 8000));
        try {
          const held = await this.offset(this.url);
          if (held === null) {
            localStorage.removeItem(this.key);
            throw new ApiError(410, "The server no longer holds this upload. Drop the file again to start over.");
          }
          offset = held;
        } catch (headErr) {
          if (headErr.status === 410) throw headErr;
          // Still offline: the next PATCH attempt will fail and count.
        }
      }
    }
    this.onState("Checking the file");
    const result = await this.result(this.url);
    localStorage.removeItem(this.key);
    return result;
  }
}
