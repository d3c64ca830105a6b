// A timeline per camera over the search window: how busy each stretch was (the summary's counts, as bars)
// and each event found (a mark you can click).

import { el } from "./api.js";
import { offsetMinutes, timeInZone } from "./time.js";

const STEPS_MIN = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
const BUCKETS_S = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

// A bucket size that gives the timeline about 48 bars whatever the window.
export function bucketFor(fromMs, toMs) {
  const want = (toMs - fromMs) / 1000 / 48;
  return BUCKETS_S.find((b) => b >= want) || 86400;
}

function ticks(fromMs, toMs, tz) {
  const spanMin = (toMs - fromMs) / 60000;
  const stepMin = STEPS_MIN.find((s) => spanMin / s <= 8) || 1440;
  const step = stepMin * 60000;
  const offset = offsetMinutes(fromMs, tz) * 60000;
  const out = [];
  for (let t = Math.ceil((fromMs + offset) / step) * step - offset; t <= toMs; t += step) out.push(t);
  return out;
}

export class Timeline {
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;
    this.cursor = null;
  }

  render({ fromMs, toMs, tz, rows, bucketS, events, selectedId }) {
    this.fromMs = fromMs;
    this.toMs = toMs;
    const span = toMs - fromMs;
    const pct = (ms) => `${Math.min(100, Math.max(0, ((ms - fromMs) / span) * 100))}%`;
    const axis = el("div", { class: "tl-row tl-axis" }, el("div", { class: "tl-label" }), el("div", { class: "tl-track" },
      ticks(fromMs, toMs, tz).map((t) => el("span", { class: "tl-tick", style: `left:${pct(t)}` }, timeInZone(t, tz)))));
    const max = Math.max(1, ...rows.flatMap((r) => r.counts.map((c) => c.count)));
    const lines = rows.map((row) => {
      const mine = events.filter((e) => e.camera === row.camera);
      const total = row.counts.reduce((n, c) => n + c.count, 0);
      const bars = row.counts
        .filter((c) => c.count > 0)
        .map((c) => {
          const start = Date.parse(c.start);
          const width = (bucketS * 1000 * 100) / span;
          return el("span", {
            class: "tl-bar",
            style: `left:${pct(start)};width:${width}%;height:${20 + (80 * c.count) / max}%`,
            title: `${c.count} event${c.count === 1 ? "" : "s"} from ${timeInZone(start, tz)}`,
          });
        });
      const marks = mine.map((e) =>
        el("button", {
          type: "button",
          class: `tl-mark${e.id === selectedId ? " selected" : ""}`,
          style: `left:${pct(Date.parse(e.start))}`,
          title: `${e.label} at ${timeInZone(Date.parse(e.start), tz, true)}`,
          "aria-label": `${e.label} at ${timeInZone(Date.parse(e.start), tz, true)}`,
          dataset: { event: e.id },
          tabindex: "-1",
          onclick: () => this.onPick(e.id),
        }),
      );
      return el(
        "div",
        { class: "tl-row", dataset: { camera: row.camera } },
        el("div", { class: "tl-label", title: `${row.site || ""} ${row.gate || ""} ${row.camera}` },
          el("strong", {}, row.gate || row.camera), el("span", { class: "muted small" }, ` ${row.camera} · ${total}`)),
        el("div", { class: "tl-track" }, bars, marks),
      );
    });
    this.cursor = el("div", { class: "tl-cursor", hidden: true });
    const body = el("div", { class: "tl-body" }, axis, lines, this.cursor);
    this.root.replaceChildren(body);
    this.root.hidden = rows.length === 0;
  }

  select(eventId) {
    this.root.querySelectorAll(".tl-mark.selected").forEach((m) => m.classList.remove("selected"));
    const mark = this.root.querySelector(`.tl-mark[data-event="${CSS.escape(String(eventId))}"]`);
    if (mark) mark.classList.add("selected");
  }

  // The wall-clock time being played, as a line across every camera's row.
  showCursor(ms) {
    if (!this.cursor || ms == null || ms < this.fromMs || ms > this.toMs) {
      if (this.cursor) this.cursor.hidden = true;
      return;
    }
    const frac = (ms - this.fromMs) / (this.toMs - this.fromMs);
    // The label column is fixed; the cursor spans the track column only.
    this.cursor.style.setProperty("--at", String(frac));
    this.cursor.hidden = false;
  }
}
