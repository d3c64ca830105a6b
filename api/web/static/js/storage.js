// The manager's storage panel: what their sites keep (per site and camera), how long it is kept, what the next
// daily purge deletes, what open cases hold, the indexing backlog, the room left and the server's warnings.
// Everything comes from GET /api/v1/status, which already limits a manager to their own sites.

import { api, el } from "./api.js";
import { duration, shortDate, wallOf } from "./time.js";

export function humanBytes(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < 1073741824) return `${(bytes / 1048576).toFixed(1)} MB`;
  if (bytes < 1099511627776) return `${(bytes / 1073741824).toFixed(1)} GB`;
  return `${(bytes / 1099511627776).toFixed(2)} TB`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// "7 Nov 2024 05:20" in the camera's own clock (the API gives its times with the camera's offset).
function cameraTime(iso) {
  const { date, time } = wallOf(iso);
  return date ? `${shortDate(date)} ${time.slice(0, 5)}` : "";
}

function localTime(iso) {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

function kept(row) {
  if (row.retain_days == null) return "for ever: no retention is set";
  return `${plural(row.retain_days, "day")}${row.retention_from === "site" ? " (the site's default)" : ""}`;
}

function fact(name, label, value, cls = "") {
  return el("div", { class: `fact ${cls}`.trim(), dataset: { fact: name } }, el("dt", {}, label), el("dd", {}, value));
}

function cameraCard(row) {
  const due = row.purge_due;
  const first = cameraTime(row.oldest);
  const last = cameraTime(row.newest);
  // One date when the footage is of one day: "7 Nov 2024 05:20 to 05:40".
  const sameDay = first && first.slice(0, -6) === last.slice(0, -6);
  const span = row.oldest ? `${first} to ${sameDay ? last.slice(-5) : last}` : "no footage yet";
  return el(
    "article",
    { class: "store-camera", dataset: { camera: row.camera } },
    el("h3", {}, `${row.gate} `, el("span", { class: "muted small" }, `${row.camera} · ${row.site}`)),
    el(
      "dl",
      { class: "facts" },
      fact("footage", "Stored", `${duration(row.hours * 3600) || "0 s"} in ${plural(row.segments, "file")}, ${humanBytes(row.bytes)}`),
      fact("span", "Recorded", row.oldest ? `${span} (camera time)` : span),
      fact("kept", "Kept", kept(row), row.retain_days == null ? "warn" : ""),
      fact(
        "purge",
        "Next purge deletes",
        due.segments
          ? `${plural(due.segments, "file")}, ${humanBytes(due.bytes)}, recorded up to ${cameraTime(due.newest_end)}`
          : "nothing",
        due.segments ? "warn" : "",
      ),
      fact(
        "held",
        "Held as evidence",
        row.held_segments
          ? `${plural(row.held_segments, "file")}, ${humanBytes(row.held_bytes)}, for ${plural(row.held_cases, "open case")}` +
            (row.held_by.length ? ` (${row.held_by.join(", ")})` : "") + "; kept however old"
          : "nothing",
      ),
    ),
  );
}

function siteLine(site) {
  const keep = site.retain_days == null ? "no default retention" : `kept ${plural(site.retain_days, "day")} by default`;
  return el(
    "li",
    { dataset: { site: site.site } },
    el("strong", {}, site.site),
    `: ${plural(site.cameras, "camera")}, ${humanBytes(site.bytes)} of footage, ${keep}`,
    site.purge_due_bytes ? `; ${humanBytes(site.purge_due_bytes)} due for deletion` : "",
    site.held_bytes ? `; ${humanBytes(site.held_bytes)} held` : "",
  );
}

function purgeLine(next) {
  const what = next.segments
    ? `The next purge deletes ${plural(next.segments, "file")} (${humanBytes(next.bytes)}, ${duration(next.hours * 3600)} of footage) past its retention.`
    : "The next purge deletes nothing: no footage is past its retention.";
  const held = next.held_segments
    ? ` ${plural(next.held_segments, "file")} held by open cases ${next.held_segments === 1 ? "is" : "are"} kept.` : "";
  const when = next.last_run
    ? ` It runs daily; last run ${localTime(next.last_run)}, next by ${localTime(next.due_by)}.`
    : " It runs daily.";
  return `${what}${held}${when}`;
}

function dataLine(status) {
  const d = status.data;
  const mine = status.scope === "sites" ? "Your footage uses" : "The data folder holds";
  const disk = d.total_bytes != null ? ` The disk has ${humanBytes(d.free_bytes)} free of ${humanBytes(d.total_bytes)}.` : "";
  return `${mine} ${humanBytes(d.store_bytes)} of recordings, ${humanBytes(d.clip_cache_bytes)} of cached clips and ` +
    `${humanBytes(d.uploads_bytes)} of uploads in progress. Room left for uploads: ${humanBytes(d.room_bytes)}.${disk}`;
}

function backlogLine(backlog) {
  if (!backlog.hours) return "Indexing: nothing waiting.";
  const eta = backlog.eta_s != null ? `about ${duration(backlog.eta_s) || "0 s"} at the measured speed` : "time not known yet";
  return `Indexing: ${duration(backlog.hours * 3600)} of footage waiting, ${eta}.`;
}

export async function refreshStorage(root = document.getElementById("storage")) {
  const status = root.querySelector("#storage-status");
  try {
    const data = await api("GET", "/status");
    root.querySelector("#storage-sites").replaceChildren(...data.sites.map(siteLine));
    root.querySelector("#storage-cameras").replaceChildren(...data.cameras.map(cameraCard));
    root.querySelector("#storage-purge").textContent = purgeLine(data.next_purge);
    root.querySelector("#storage-data").textContent = dataLine(data);
    root.querySelector("#storage-backlog").textContent = backlogLine(data.backlog);
    root.querySelector("#storage-warnings").replaceChildren(...data.warnings.map((w) => el("li", {}, w)));
    status.textContent = data.cameras.length ? "" : "Your sites have no cameras yet.";
    root.dataset.loaded = "true";
  } catch (err) {
    status.textContent = err.message;
  }
}
