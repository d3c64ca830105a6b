// A timeline per camera over the search window: how busy each stretch was (bars) and each event found (a mark
// you can click). Click a bar, or "Fit to events", to zoom in; "Whole window" zooms back out.

import { el } from "./api.js";
import { offsetMinutes, timeInZone } from "./time.js";

const STEPS_S = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const BUCKETS_S = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MIN_SPAN_MS = 30 * 1000;

// A bucket size that gives the summary about 48 bars whatever the window.
export function bucketFor(fromMs, toMs) {
  const want = (toMs - fromMs) / 1000 / 48;
  return BUCKETS_S.find((b) => b >= want) || 86400;
}

function ticks(fromMs, toMs, tz, most) {
  const spanS = (toMs - fromMs) / 1000;
  const stepS = STEPS_S.find((s) => spanS / s <= most) || 86400;
  const step = stepS * 1000;
  const offset = offsetMinutes(fromMs, tz) * 60000;
  const out = [];
  for (let t = Math.ceil((fromMs + offset) / step) * step - offset; t <= toMs; t += step) out.push({ t, seconds: stepS < 60 });
  return out;
}

// Counts of loaded events per bucket, for a zoomed view finer than the server's summary.
function localCounts(events, camera, fromMs, toMs, bucketMs) {
  const counts = new Map();
  for (const e of events) {
    const at = Date.parse(e.start);
    if (e.camera !== camera || at < fromMs || at >= toMs) continue;
    const start = fromMs + Math.floor((at - fromMs) / bucketMs) * bucketMs;
    counts.set(start, (counts.get(start) || 0) + 1);
  }
  return [...counts].map(([start, count]) => ({ startMs: start, count }));
}

export class Timeline {
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;
    this.cursor = null;
    this.data = null;
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(() => this.data && this.draw(this.fromMs, this.toMs), 150);
    });
  }

  // The search's window, the summary rows and the events loaded; shown whole.
  render(data) {
    this.data = data;
    this.draw(data.fromMs, data.toMs);
  }

  zoom(fromMs, toMs) {
    const d = this.data;
    const mid = (fromMs + toMs) / 2;
    const half = Math.max(MIN_SPAN_MS, toMs - fromMs) / 2;
    this.draw(Math.max(d.fromMs, mid - half), Math.min(d.toMs, mid + half));
  }

  fit(events = this.data.events) {
    if (!events.length) return;
    const starts = events.map((e) => Date.parse(e.start));
    const ends = events.map((e) => Date.parse(e.end));
    const from = Math.min(...starts);
    const to = Math.max(...ends);
    const pad = Math.max(2000, (to - from) * 0.05);
    this.zoom(from - pad, to + pad);
  }

  // As many time labels as fit the track's width without running into each other.
  mostTicks(spanMs) {
    const width = (this.root.clientWidth || 800) - 160;
    const label = spanMs < 600000 ? 72 : 52;
    return Math.max(2, Math.min(8, Math.floor(width / label)));
  }

  draw(fromMs, toMs) {
    const { tz, rows, bucketS, events, selectedId } = this.data;
    const whole = fromMs === this.data.fromMs && toMs === this.data.toMs;
    this.root.hidden = rows.length === 0;
    this.fromMs = fromMs;
    this.toMs = toMs;
    const span = toMs - fromMs;
    const pct = (ms) => `${Math.min(100, Math.max(0, ((ms - fromMs) / span) * 100))}%`;
    // Whole window: the server's summary (it counts every event, not only the loaded page); zoomed: finer
    // buckets counted from the loaded events.
    const bucketMs = whole ? bucketS * 1000 : Math.max(1000, span / 48);
    const countsOf = (row) =>
      whole ? row.counts.map((c) => ({ startMs: Date.parse(c.start), count: c.count }))
        : localCounts(events, row.camera, fromMs, toMs, bucketMs);
    const rowCounts = rows.map(countsOf);
    const max = Math.max(1, ...rowCounts.flat().map((c) => c.count));
    const tools = el(
      "div",
      { class: "tl-tools" },
      el("span", { class: "muted small" }, `${timeInZone(fromMs, tz, span < 600000)} – ${timeInZone(toMs, tz, span < 600000)}`),
      el("button", { type: "button", class: "link small", onclick: () => this.fit(), disabled: !events.length }, "Fit to events"),
      whole ? null : el("button", { type: "button", class: "link small", onclick: () => this.draw(this.data.fromMs, this.data.toMs) }, "Whole window"),
    );
    const axis = el("div", { class: "tl-row tl-axis" }, el("div", { class: "tl-label" }), el("div", { class: "tl-track" },
      ticks(fromMs, toMs, tz, this.mostTicks(span)).map(({ t, seconds }) => {
        // Labels at the ends lean inwards, so the first and last are not cut off by the panel's edge.
        const at = (t - fromMs) / span;
        const edge = at < 0.06 ? " tl-tick-start" : at > 0.94 ? " tl-tick-end" : "";
        return el("span", { class: `tl-tick${edge}`, style: `left:${pct(t)}` }, timeInZone(t, tz, seconds));
      })));
    const lines = rows.map((row, i) => {
      const total = whole ? row.counts.reduce((n, c) => n + c.count, 0) : rowCounts[i].reduce((n, c) => n + c.count, 0);
      const bars = rowCounts[i]
        .filter((c) => c.count > 0)
        .map((c) =>
          el("button", {
            type: "button",
            tabindex: "-1",
            class: "tl-bar",
            style: `left:${pct(c.startMs)};width:${(bucketMs * 100) / span}%;height:${20 + (80 * c.count) / max}%`,
            title: `${c.count} event${c.count === 1 ? "" : "s"} from ${timeInZone(c.startMs, tz, bucketMs < 60000)}; click to zoom in`,
            // Zoom to the bar's own events: a 20 s burst in a 5 min bucket would still be a sliver.
            onclick: () => this.zoomToBucket(row.camera, c.startMs, c.startMs + bucketMs),
          }),
        );
      const marks = events
        .filter((e) => e.camera === row.camera && Date.parse(e.start) >= fromMs && Date.parse(e.start) <= toMs)
        .map((e) =>
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
          el("strong", {}, row.gate || row.camera), el("span", { class: "muted small" }, `${row.camera} · ${total}`)),
        el("div", { class: "tl-track" }, bars, marks),
      );
    });
    this.cursor = el("div", { class: "tl-cursor", hidden: true });
    this.root.replaceChildren(tools, el("div", { class: "tl-body" }, axis, lines, this.cursor));
    if (this.lastCursor != null) this.showCursor(this.lastCursor);
  }

  zoomToBucket(camera, fromMs, toMs) {
    const inside = this.data.events.filter((e) => e.camera === camera && Date.parse(e.start) >= fromMs && Date.parse(e.start) < toMs);
    if (inside.length) this.fit(inside);
    else this.zoom(fromMs, toMs);
  }

  select(eventId) {
    this.data.selectedId = eventId;
    this.root.querySelectorAll(".tl-mark.selected").forEach((m) => m.classList.remove("selected"));
    const mark = this.root.querySelector(`.tl-mark[data-event="${CSS.escape(String(eventId))}"]`);
    if (mark) mark.classList.add("selected");
  }

  // The wall-clock time being played, as a line across every camera's row.
  showCursor(ms) {
    this.lastCursor = ms;
    if (!this.cursor || ms == null || ms < this.fromMs || ms > this.toMs) {
      if (this.cursor) this.cursor.hidden = true;
      return;
    }
    this.cursor.style.setProperty("--at", String((ms - this.fromMs) / (this.toMs - this.fromMs)));
    this.cursor.hidden = false;
  }
}
