// The officer's page: search, the timeline and thumbnail grid of what was found, the clip player, the case.
// Everything comes from the public API with the session cookie.

import { api, el, notice, showWho } from "./api.js";
import { CasePanel } from "./cases.js";
import { Player } from "./player.js";
import { SearchForm } from "./search-form.js";
import { Timeline, bucketFor } from "./timeline.js";
import { duration, shortDate, timeInZone, wallOf } from "./time.js";

const PAGE = 60;

const state = {
  events: [],
  selected: -1,
  ticked: new Set(),
  cursor: null,
  params: null,
  window: null,
  summary: null,
  camerasById: new Map(),
  // What each event seen this session was (label, colour), so case items can say it.
  facts: new Map(),
};

const grid = document.getElementById("grid");
const status = document.getElementById("results-status");
const more = document.getElementById("more");
const outcome = document.getElementById("search-outcome");
const coverage = document.getElementById("results-coverage");
const caseJump = document.getElementById("case-jump");
// Touch screens and phones have no Enter key to press.
const touch = () => window.matchMedia("(hover: none), (max-width: 600px)").matches;

const timeline = new Timeline(document.getElementById("timeline"), { onPick: (id) => openById(id) });
const player = new Player(document.getElementById("player"), {
  onTime: (ms) => timeline.showCursor(ms),
  onAdd: (event) => {
    state.ticked.add(event.id);
    renderTicks();
    cases.addSelected();
  },
});
const cases = new CasePanel(document.querySelector(".case-panel"), {
  selection: () => [...state.ticked],
  clearSelection: () => {
    state.ticked.clear();
    renderTicks();
  },
  roll: () => ({ pre: player.roll(player.pre), post: player.roll(player.post) }),
  facts: (eventId) => state.facts.get(String(eventId)) || "",
  onItems: (n) => {
    caseJump.textContent = `Case (${n})`;
  },
});

let form;

function tzOf(event) {
  const camera = state.camerasById.get(event.camera);
  return camera ? camera.timezone || "UTC" : state.window ? state.window.tz : "UTC";
}

function tile(event, index) {
  const { time, date } = wallOf(event.start);
  const facts = [event.label, event.colour].filter(Boolean).join(" · ");
  const dwell = event.dwell_s >= 1
    ? `stopped ${duration(event.dwell_s)}${event.dwell_zone ? ` at ${event.dwell_zone}` : ""}`
    : `${duration((Date.parse(event.end) - Date.parse(event.start)) / 1000)} in view`;
  return el(
    "article",
    { class: "tile", dataset: { index, event: event.id } },
    el(
      "button",
      { type: "button", class: "tile-open", onclick: () => select(index, true), "aria-label": `${event.label} at ${time}` },
      el("img", { src: event.thumbnail_url, alt: "", loading: "lazy", width: 320, height: 180 }),
      el("span", { class: "tile-time" }, time),
      event.stationary ? el("span", { class: "tile-flag" }, "parked") : null,
    ),
    el(
      "div",
      { class: "tile-text" },
      el("strong", {}, facts),
      event.plate ? el("span", { class: "plate small", title: `plate read, score ${event.plate_score}` },
        el("img", { src: event.plate_crop_url, alt: "", loading: "lazy", class: "plate-crop" }), ` ${event.plate}`) : null,
      el("span", { class: "muted small" }, `${event.gate || ""} · ${event.camera} · ${date}`),
      el("span", { class: "small" }, dwell),
      el(
        "label",
        { class: "check small" },
        el("input", {
          type: "checkbox",
          class: "tick",
          checked: state.ticked.has(event.id),
          onchange: (e) => {
            if (e.target.checked) state.ticked.add(event.id);
            else state.ticked.delete(event.id);
            cases.selectionChanged();
          },
        }),
        " for the case",
      ),
    ),
  );
}

function remember(events) {
  for (const e of events) state.facts.set(String(e.id), [e.label, e.colour, e.plate].filter(Boolean).join(", "));
}

function renderTicks() {
  grid.querySelectorAll(".tile").forEach((node) => {
    node.querySelector(".tick").checked = state.ticked.has(Number(node.dataset.event)) || state.ticked.has(node.dataset.event);
  });
  cases.selectionChanged();
}

function renderTimeline() {
  const w = state.window;
  const rows = state.summary
    ? state.summary.cameras
    : [...new Set(state.events.map((e) => e.camera))].map((camera) => ({ camera, counts: [] }));
  timeline.render({
    fromMs: w.fromMs,
    toMs: w.toMs,
    tz: w.tz,
    rows: rows.map((r) => ({ ...r, gate: r.gate || (state.camerasById.get(r.camera) || {}).gate })),
    bucketS: state.summary ? state.summary.bucket_s : 3600,
    events: state.events,
    selectedId: state.selected >= 0 ? state.events[state.selected].id : null,
  });
}

const LABEL_WORDS = { vehicle: "vehicles", person: "people", car: "cars", truck: "trucks", bus: "buses",
  motorcycle: "motorcycles", bicycle: "bicycles" };

// Per camera, how much footage the window held: "no recordings" and "nothing seen" are different answers.
function coverageLines() {
  const cams = state.summary ? state.summary.cameras.filter((c) => c.footage) : [];
  const w = state.window;
  const what = LABEL_WORDS[state.params.label] || "";
  return cams.map((c) => {
    const name = c.gate ? `${c.gate} (${c.camera})` : c.camera;
    const found = c.counts.reduce((n, b) => n + b.count, 0);
    const f = c.footage;
    if (!f.recorded_s) {
      const span = `${timeInZone(w.fromMs, w.tz)}–${timeInZone(w.toMs, w.tz)} on ${shortDate(w.date)}`;
      return { kind: "none", text: `${name}: no recordings ${span}.` };
    }
    const searched = `${duration(f.indexed_s)} of footage searched`;
    const waiting = f.recorded_s - f.indexed_s >= 1 ? `, ${duration(f.recorded_s - f.indexed_s)} still being indexed` : "";
    const seen = found ? `${found} found` : what ? `no ${what}` : "nothing seen";
    return { kind: found ? "some" : "empty", text: `${name}: ${searched}${waiting}, ${seen}.` };
  });
}

function showCount() {
  const n = state.events.length;
  const lines = coverageLines();
  const open = touch() ? "Tap one to watch it." : "Click one (or press Enter) to watch it.";
  let text;
  if (n) text = `${n}${state.cursor ? "+" : ""} event${n === 1 ? "" : "s"}. ${open}`;
  else if (lines.length && lines.every((l) => l.kind === "none")) text = "No recordings in this window: nothing could be searched.";
  else text = "Nothing was seen in the footage of this window. Try a wider window or fewer filters.";
  status.textContent = text;
  outcome.textContent = text;
  outcome.className = `small search-outcome${n ? "" : " empty"}`;
  coverage.replaceChildren(...lines.map((l) => el("li", { class: `cov-${l.kind}` }, l.text)));
  coverage.hidden = !lines.length;
  more.hidden = !state.cursor;
}

// The outcome must be where the user is looking: the results' status line comes into view if it is not.
function revealStatus() {
  const box = status.getBoundingClientRect();
  const top = document.querySelector(".topbar").getBoundingClientRect().bottom;
  if (box.top < top || box.bottom > window.innerHeight) status.scrollIntoView({ block: "start" });
}

async function search() {
  const params = form.params();
  // A new search leaves nothing of the last one playing, nor able to add its event to the case.
  player.close();
  if (!params) {
    status.textContent = form.problem() || "Pick a date and a time window.";
    outcome.textContent = status.textContent;
    outcome.className = "small search-outcome error";
    // The refusal is read under the button; a taller form can leave it just below the fold.
    outcome.scrollIntoView({ block: "nearest" });
    return;
  }
  const w = form.window();
  state.params = params;
  state.window = w;
  state.selected = -1;
  status.textContent = "Searching…";
  outcome.textContent = "Searching…";
  outcome.className = "small search-outcome";
  notice("");
  const button = document.getElementById("search-submit");
  button.disabled = true;
  try {
    const [page, summary] = await Promise.all([
      api("GET", "/events", { params: { ...params, limit: PAGE } }),
      api("GET", "/events/summary", { params: { ...params, sort: "", bucket: bucketFor(w.fromMs, w.toMs) } }).catch(
        () => null,
      ),
    ]);
    state.events = page.events;
    state.cursor = page.next_cursor;
    state.summary = summary;
    remember(state.events);
    grid.replaceChildren(...state.events.map(tile));
    renderTimeline();
    showCount();
    revealStatus();
  } catch (err) {
    status.textContent = err.message;
    outcome.textContent = err.message;
    outcome.className = "small search-outcome error";
  } finally {
    button.disabled = false;
  }
}

async function loadMore() {
  if (!state.cursor) return;
  more.disabled = true;
  try {
    const page = await api("GET", "/events", { params: { ...state.params, limit: PAGE, cursor: state.cursor } });
    const first = state.events.length;
    state.events.push(...page.events);
    remember(page.events);
    state.cursor = page.next_cursor;
    grid.append(...page.events.map((e, i) => tile(e, first + i)));
    renderTimeline();
    showCount();
  } catch (err) {
    status.textContent = err.message;
  } finally {
    more.disabled = false;
  }
}

function select(index, open = false) {
  if (index < 0 || index >= state.events.length) return;
  state.selected = index;
  grid.querySelectorAll(".tile.selected").forEach((t) => t.classList.remove("selected"));
  const node = grid.querySelector(`.tile[data-index="${index}"]`);
  if (node) {
    node.classList.add("selected");
    node.scrollIntoView({ block: "nearest" });
    node.querySelector(".tile-open").focus({ preventScroll: true });
  }
  const event = state.events[index];
  timeline.select(event.id);
  if (open) player.open(event, tzOf(event));
}

function openById(id) {
  const index = state.events.findIndex((e) => String(e.id) === String(id));
  if (index >= 0) select(index, true);
}

function onKey(event) {
  const target = event.target;
  const typing = target.closest && target.closest("input, select, textarea, video, [contenteditable]");
  if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key;
  const inTile = target.closest && target.closest(".tile");
  if (inTile) state.selected = Number(inTile.dataset.index);
  // Enter and Space keep their usual meaning on the page's other buttons and links.
  if ((key === "Enter" || key === " ") && !inTile && target.closest && target.closest("button, a, summary")) return;
  if (key === "j" || key === "ArrowDown" || key === "ArrowRight") select(Math.min(state.selected + 1, state.events.length - 1));
  else if (key === "k" || key === "ArrowUp" || key === "ArrowLeft") select(Math.max(state.selected - 1, 0));
  else if (key === "Enter") select(Math.max(state.selected, 0), true);
  else if (key === " ") player.toggle();
  else return;
  event.preventDefault();
}

async function start() {
  try {
    const me = await showWho();
    if (me.role === "manager") {
      location.assign("/manage");
      return;
    }
    const [sites, cameras] = await Promise.all([api("GET", "/sites"), api("GET", "/cameras")]);
    for (const c of cameras) state.camerasById.set(c.id, c);
    form = new SearchForm(document.getElementById("search-form"), { sites, cameras, onSubmit: search });
    if (!cameras.length) status.textContent = "No cameras yet: an administrator adds them with 'gatewatch cameras add'.";
    document.addEventListener("keydown", onKey);
    // A button would otherwise take Space's keyup as a click and reopen the clip just paused.
    document.addEventListener("keyup", (e) => {
      if (e.key === " " && e.target.closest && e.target.closest(".tile")) e.preventDefault();
    });
    more.addEventListener("click", loadMore);
    await cases.load();
  } catch (err) {
    notice(err.message);
  }
}

start();
