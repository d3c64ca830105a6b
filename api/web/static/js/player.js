// The clip player: an event's clip (with adjustable pre/post roll) in an HTML5 video, and the wall-clock
// time of the frame on screen, from the clip's real start (X-Clip-Start) plus the playing position.

import { errorFromResponse } from "./api.js";
import { isoInZone, offsetMinutes, offsetText, timeInZone, wallOf } from "./time.js";

export class Player {
  constructor(root, { onTime, onAdd }) {
    this.root = root;
    this.video = root.querySelector("#video");
    this.clock = root.querySelector("#clock");
    this.title = root.querySelector("#player-title");
    this.error = root.querySelector("#player-error");
    this.download = root.querySelector("#player-download");
    this.pre = root.querySelector("#pre");
    this.post = root.querySelector("#post");
    this.onTime = onTime;
    this.event = null;
    this.tz = "UTC";
    this.startMs = null;
    this.loading = null;
    this.video.addEventListener("timeupdate", () => this.tick());
    this.video.addEventListener("seeked", () => this.tick());
    this.video.addEventListener("error", () => {
      if (this.event) this.fail("This clip cannot be played. Try again, or download it.");
    });
    for (const input of [this.pre, this.post]) input.addEventListener("change", () => this.event && this.open(this.event, this.tz));
    root.querySelector("#player-add").addEventListener("click", () => this.event && onAdd(this.event));
  }

  roll(input) {
    const n = Number(input.value);
    return Number.isFinite(n) && n >= 0 ? Math.round(n) : 5;
  }

  clipUrl(event) {
    const url = new URL(event.clip_url, location.origin);
    url.searchParams.set("pre", String(this.roll(this.pre)));
    url.searchParams.set("post", String(this.roll(this.post)));
    return url.pathname + url.search;
  }

  // Open an event's clip. The real start comes from the clip's own headers: a stream-copied clip starts at
  // the keyframe before the asked-for time, so "event start minus pre-roll" is only the first guess.
  async open(event, tz) {
    this.event = event;
    this.tz = tz || "UTC";
    this.root.hidden = false;
    // A tile far down the grid opens a player at the top of the column: bring it to where the user is.
    this.root.scrollIntoView({ block: "nearest" });
    this.error.hidden = true;
    const url = this.clipUrl(event);
    const { date, time } = wallOf(event.start);
    this.title.textContent = `${event.label}${event.plate ? ` ${event.plate}` : ""} · ${event.gate || ""} ${event.camera} · ${date} ${time}`;
    const plate = this.root.querySelector("#player-plate");
    if (plate) {
      plate.hidden = !event.plate_crop_url;
      if (event.plate_crop_url) plate.src = event.plate_crop_url;
    }
    this.download.href = `${url}&download=true`;
    this.download.setAttribute("download", `gatewatch-${event.camera}-${date}-${time.replaceAll(":", "")}.mp4`);
    this.startMs = Date.parse(event.start) - this.roll(this.pre) * 1000;
    this.clock.textContent = "loading clip…";
    if (this.loading) this.loading.abort();
    const loading = (this.loading = new AbortController());
    try {
      const response = await fetch(url, { headers: { Range: "bytes=1-1" }, signal: loading.signal });
      if (!response.ok) throw await errorFromResponse(response);
      const start = response.headers.get("X-Clip-Start");
      if (start && !Number.isNaN(Date.parse(start))) this.startMs = Date.parse(start);
      loading.abort();
    } catch (err) {
      if (err.name === "AbortError") {
        if (this.loading !== loading) return;
      } else {
        this.fail(err.message);
        return;
      }
    }
    if (this.loading !== loading) return;
    // A stream-copied clip can start well before the pre-roll (at the keyframe before it): begin at the pre-roll.
    const lead = (Date.parse(event.start) - this.roll(this.pre) * 1000 - this.startMs) / 1000;
    if (lead > 0.5) {
      this.video.addEventListener("loadedmetadata", () => {
        if (this.loading === loading) this.video.currentTime = lead;
      }, { once: true });
    }
    this.video.src = url;
    this.tick();
    try {
      await this.video.play();
    } catch {
      // Autoplay can be refused; the controls are there.
    }
  }

  // Stop and hide the clip (a new search): nothing of the old event stays playing or addable.
  close() {
    if (this.loading) this.loading.abort();
    this.loading = null;
    this.event = null;
    this.startMs = null;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    this.clock.textContent = "";
    this.root.hidden = true;
    this.onTime(null);
  }

  fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
    this.clock.textContent = "";
  }

  tick() {
    if (this.startMs == null) return;
    const ms = this.startMs + this.video.currentTime * 1000;
    const date = isoInZone(ms, this.tz).slice(0, 10);
    const tenths = Math.floor((ms % 1000) / 100);
    this.clock.textContent = `${date} ${timeInZone(ms, this.tz, true)}.${tenths} ${offsetText(offsetMinutes(ms, this.tz))}`;
    this.onTime(ms);
  }

  toggle() {
    if (!this.event) return;
    if (this.video.paused) this.video.play().catch(() => {});
    else this.video.pause();
  }
}
