// The manager's page: the cameras of their site, resumable uploads of recorder exports (several at once,
// a progress bar each), and each camera's footage with its indexing state, refreshed every few seconds.
// The chosen camera's plate reading shows under the cameras; an admin may switch it (the API lets only admins)
// and, once it is off, delete the plates already read.

import { api, el, notice, showWho } from "./api.js";
import { duration, isoInZone, wallOf, wallToMs } from "./time.js";
import { refreshStorage } from "./storage.js";
import { Upload } from "./upload.js";

// Every few seconds while something is being indexed; less often once all is done.
const POLL_BUSY_MS = 3000;
const POLL_IDLE_MS = 15000;
const chunkBytes = Number(document.body.dataset.chunkBytes) || 8 * 1048576;

const cameraSelect = document.getElementById("u-camera");
const startInput = document.getElementById("u-start");
const uploads = document.getElementById("uploads");
const drop = document.getElementById("drop");
const segmentsBody = document.getElementById("segments");
const segmentsStatus = document.getElementById("segments-status");
const readPlates = document.getElementById("c-read-plates");
const readPlatesNote = document.getElementById("c-read-plates-note");
const forgetPlates = document.getElementById("c-forget-plates");
const forgetNote = document.getElementById("c-forget-note");
let cameras = [];
let pollTimer = null;
let me = null;

const camera = () => cameras.find((c) => c.id === cameraSelect.value);

// What the file name says about the start (the common recorder forms hold YYYYMMDDhhmmss), so the manager
// can see before uploading whether a start time must be typed. The server's reading is the one that counts.
export function startFromName(name) {
  const m = /(?:^|\D)(20\d{2})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})(\d{2})(?:\D|$)/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : null;
}

function mb(bytes) {
  if (bytes < 1048576) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  if (bytes < 1073741824) return `${(bytes / 1048576).toFixed(1)} MB`;
  return `${(bytes / 1073741824).toFixed(2)} GB`;
}

function statedStart(value = startInput.value, cam = camera()) {
  if (!value || !cam) return null;
  const [date, time] = value.split("T");
  return isoInZone(wallToMs(date, time.length === 5 ? `${time}:00` : time, cam.timezone || "UTC"), cam.timezone || "UTC");
}

function addFiles(files) {
  notice("");
  const cam = camera();
  if (!cam) {
    notice("Choose the camera the footage comes from first.");
    return;
  }
  for (const file of files) uploadOne(file, cam, statedStart());
}

function uploadOne(file, cam, stated) {
  const fromName = startFromName(file.name);
  const bar = el("progress", { max: file.size, value: 0 });
  const state = el("span", { class: "small" }, "Waiting");
  const outcome = el("p", { class: "small outcome" });
  const resume = el("button", { type: "button", hidden: true }, "Resume");
  const said = el("p", { class: "small muted" },
    stated ? `Start as you stated: ${wallOf(stated).date} ${wallOf(stated).time} (camera time, ${cam.timezone})`
      : fromName ? `Start read from the file name: ${fromName} (camera time, ${cam.timezone})`
        : `No time in the file name: when did this recording start, in camera time (${cam.timezone})?`);
  const row = el(
    "li",
    { class: "upload", dataset: { file: file.name } },
    el("div", { class: "upload-head" }, el("strong", {}, file.name), el("span", { class: "muted small" }, ` ${mb(file.size)} → ${cam.id}`)),
    said,
    bar,
    el("div", { class: "row" }, state, resume),
    outcome,
  );
  // Newest first, right under the drop zone, where the manager just dropped it.
  uploads.prepend(row);
  row.scrollIntoView({ block: "nearest" });
  if (stated || fromName) {
    send(row, bar, state, outcome, resume, file, cam, stated, fromName);
    return;
  }
  // Ask before sending a byte: without a start the server would refuse the file once it had all of it.
  askStart(row, said, bar, state, outcome, resume, file, cam);
}

// A start field and an Upload button in the file's row; sending waits until a start is typed.
function askStart(row, said, bar, state, outcome, resume, file, cam) {
  bar.hidden = true;
  state.textContent = "Waiting for its start time";
  const input = el("input", { type: "datetime-local", step: "1", class: "u-row-start", required: true });
  const go = el("button", { type: "button", class: "primary u-row-send" }, "Upload");
  const ask = el("div", { class: "upload-start" },
    el("label", {}, `Recording started (camera time, ${cam.timezone})`, input), go);
  said.after(ask);
  go.addEventListener("click", () => {
    const start = statedStart(input.value, cam);
    if (!start) {
      outcome.textContent = "Type the date and time the recording started first.";
      input.focus();
      return;
    }
    ask.remove();
    outcome.textContent = "";
    row.classList.remove("failed");
    said.textContent = `Start as you stated: ${wallOf(start).date} ${wallOf(start).time} (camera time, ${cam.timezone})`;
    bar.hidden = false;
    send(row, bar, state, outcome, resume, file, cam, start, null);
  });
  input.focus({ preventScroll: true });
}

function send(row, bar, state, outcome, resume, file, cam, start, fromName) {
  const said = row.querySelector("p.muted");
  const upload = new Upload(file, {
    camera: cam.id,
    start,
    chunkBytes,
    onProgress: (done, total) => {
      bar.value = done;
      state.textContent = `${mb(done)} of ${mb(total)}`;
    },
    onState: (text) => {
      state.textContent = text;
    },
  });
  const go = async () => {
    resume.hidden = true;
    row.classList.remove("failed");
    try {
      const result = await upload.run();
      bar.value = file.size;
      showOutcome(row, bar, state, outcome, result, start, fromName);
      if (result.status === "refused" && !start && /no start time/.test(result.error || "")) {
        // The name looked timed to the page but not to the server: ask for the start in this row.
        outcome.textContent = "The server found no start time in this file's name or recording. Type when it started and upload it again.";
        askStart(row, said, bar, state, outcome, resume, file, cam);
        return;
      }
      refreshSegments();
      refreshStorage();
    } catch (err) {
      row.classList.add("failed");
      bar.hidden = true;
      state.textContent = "Stopped";
      outcome.textContent = err.message;
      resume.hidden = err.status >= 400 && err.status < 500;
    }
  };
  resume.onclick = go; // a property, not a listener: a row sent again must not resume its earlier upload too
  go();
}

function showOutcome(row, bar, state, outcome, result, stated, fromName) {
  const start = wallOf(result.start);
  const end = wallOf(result.end);
  if (result.status === "imported") {
    row.classList.add("done");
    state.textContent = "Uploaded; its indexing shows in the footage list below";
    const source = stated ? "as you stated" : fromName && `${start.date} ${start.time}` === fromName ? "from the file name" : "from the recording";
    outcome.textContent = `Covers ${start.date} ${start.time} to ${end.date !== start.date ? `${end.date} ` : ""}${end.time} (${source}). If that is wrong, tell your administrator.`;
  } else if (result.status === "duplicate") {
    row.classList.add("done");
    state.textContent = "Already here";
    outcome.textContent = `This exact file was uploaded before (${start.date} ${start.time}); nothing new was stored.`;
  } else {
    row.classList.add("failed");
    // A full bar reads as success; a refused file shows only why it was refused.
    bar.hidden = true;
    state.textContent = "Not accepted";
    outcome.textContent = result.error || "The server could not use this file.";
  }
}

function segmentRow(s) {
  const start = wallOf(s.start);
  const end = wallOf(s.end);
  const job = s.job || null;
  let progress = job && job.progress != null ? Number(job.progress) : null;
  if (progress != null && progress > 1) progress /= 100;
  const state = s.status === "indexed" ? "indexed" : job && job.status ? job.status : s.status;
  const error = s.error || (job && job.error) || "";
  return el(
    "tr",
    { dataset: { segment: s.id, status: s.status } },
    el("td", { class: "file" }, s.original_name),
    el("td", {}, `${start.date} ${start.time}`),
    el("td", {}, end.date === start.date ? end.time : `${end.date} ${end.time}`),
    el("td", {}, duration(s.duration_s)),
    el(
      "td",
      {},
      el(
        "div",
        { class: "indexing" },
        el("span", { class: `badge state-${s.status}` }, state),
        progress != null && s.status !== "indexed" ? el("progress", { max: 1, value: progress }) : null,
        error ? el("span", { class: "error small" }, ` ${error}`) : null,
      ),
    ),
  );
}

async function refreshSegments() {
  clearTimeout(pollTimer);
  const cam = camera();
  if (!cam) return;
  let wait = POLL_BUSY_MS;
  try {
    const segments = await api("GET", `/cameras/${encodeURIComponent(cam.id)}/segments`);
    segments.sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
    segmentsBody.replaceChildren(...segments.map(segmentRow));
    const busy = segments.filter((s) => s.status !== "indexed" && s.status !== "failed").length;
    segmentsStatus.textContent = segments.length
      ? `${segments.length} file${segments.length === 1 ? "" : "s"}${busy ? `, ${busy} still being indexed` : ", all indexed or done"}.`
      : "No footage for this camera yet.";
    if (!busy) wait = POLL_IDLE_MS;
  } catch (err) {
    segmentsStatus.textContent = err.message;
  }
  pollTimer = setTimeout(refreshSegments, wait);
}

function showCameras() {
  const list = document.getElementById("cameras");
  list.replaceChildren(
    ...cameras.map((c) =>
      el(
        "button",
        {
          type: "button",
          class: `camera${c.id === cameraSelect.value ? " selected" : ""}`,
          dataset: { camera: c.id },
          onclick: () => chooseCamera(c.id),
        },
        el("strong", {}, c.gate),
        el("span", { class: "muted small" }, `${c.id} · ${c.timezone}`),
        Object.keys(c.zones || {}).length ? el("span", { class: "small" }, `zones: ${Object.keys(c.zones).join(", ")}`) : null,
        el("span", { class: "small muted", dataset: { kept: c.effective_retain_days ?? "" } },
          c.effective_retain_days != null ? `footage kept ${c.effective_retain_days} days` : "footage kept for ever"),
      ),
    ),
  );
  if (!cameras.length) list.replaceChildren(el("p", { class: "muted" }, "Your site has no cameras yet. An administrator adds them."));
}

function platesNote(cam) {
  const what = cam.read_plates
    ? "On: indexing reads the plates of this camera's vehicles, and officers can search them."
    : "Off: indexing reads no plates on this camera.";
  return me && me.role === "admin" ? `${what} Footage indexed before keeps what it had.` : `${what} An administrator can change this.`;
}

function showSettings() {
  const cam = camera();
  const box = document.getElementById("camera-settings");
  box.hidden = !cam;
  if (!cam) return;
  document.getElementById("c-settings-name").textContent = cam.gate;
  if (box.dataset.camera !== cam.id) forgetNote.textContent = "";
  box.dataset.camera = cam.id;
  readPlates.checked = Boolean(cam.read_plates);
  readPlates.disabled = !(me && me.role === "admin");
  readPlatesNote.textContent = platesNote(cam);
  // Plates already read may be deleted once reading is off (the API refuses it before); open cases keep theirs.
  forgetPlates.hidden = !(me && me.role === "admin") || Boolean(cam.read_plates);
  forgetPlates.disabled = false;
}

async function deletePlates() {
  const cam = camera();
  if (!cam || !window.confirm(`Delete every plate read on ${cam.gate}? Events an open case holds keep theirs.`)) return;
  forgetPlates.disabled = true;
  try {
    const done = await api("DELETE", `/cameras/${encodeURIComponent(cam.id)}/plates`);
    forgetNote.textContent = `Deleted the plates of ${done.forgotten} event${done.forgotten === 1 ? "" : "s"}`
      + (done.kept_for_cases ? `; ${done.kept_for_cases} kept because an open case holds them.` : ".");
  } catch (err) {
    forgetNote.textContent = `Not deleted: ${err.message}`;
  } finally {
    forgetPlates.disabled = false;
  }
}

async function setReadPlates() {
  const cam = camera();
  if (!cam) return;
  const wanted = readPlates.checked;
  readPlates.disabled = true;
  readPlatesNote.textContent = wanted ? "Turning plate reading on…" : "Turning plate reading off…";
  try {
    const changed = await api("PATCH", `/cameras/${encodeURIComponent(cam.id)}`, { json: { read_plates: wanted } });
    cameras = cameras.map((c) => (c.id === changed.id ? { ...c, ...changed } : c));
    showSettings();
  } catch (err) {
    showSettings();
    readPlatesNote.textContent = `Not changed: ${err.message}`;
  }
}

function chooseCamera(id) {
  cameraSelect.value = id;
  document.getElementById("s-camera-name").textContent = `${camera().gate} (${id})`;
  document.getElementById("u-start-zone").textContent = `camera time, ${camera().timezone || "UTC"}`;
  showCameras();
  showSettings();
  segmentsBody.replaceChildren();
  refreshSegments();
}

async function start() {
  try {
    me = await showWho();
    readPlates.addEventListener("change", setReadPlates);
    forgetPlates.addEventListener("click", deletePlates);
    cameras = await api("GET", "/cameras");
    cameraSelect.replaceChildren(...cameras.map((c) => el("option", { value: c.id }, `${c.gate} · ${c.id}`)));
    cameraSelect.addEventListener("change", () => chooseCamera(cameraSelect.value));
    if (cameras.length) chooseCamera(cameras[0].id);
    else showCameras();
    refreshStorage();
  } catch (err) {
    notice(err.message);
  }
  const picker = document.getElementById("u-files");
  picker.addEventListener("change", () => {
    addFiles([...picker.files]);
    picker.value = "";
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      picker.click();
    }
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles([...e.dataTransfer.files]);
  });
}

start();
