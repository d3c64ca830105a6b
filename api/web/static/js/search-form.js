// The officer's search form: where (site, gate, camera, zone), when (a window in the camera's time zone),
// and what (label, dwell, colour, plate). It turns itself into the query the events API takes.

import { addDays, dateInZone, duration, isoInZone, offsetMinutes, offsetText, shortDate, timeInZone, wallToMs } from "./time.js";
import { el } from "./api.js";

export class SearchForm {
  constructor(form, { sites, cameras, onSubmit }) {
    this.form = form;
    this.sites = sites;
    this.cameras = cameras;
    this.$ = (id) => form.querySelector(`#${id}`);
    this.fillSelect(this.$("f-site"), sites.map((s) => [s.name, s.name]));
    this.refreshPlaces();
    this.$("f-date").value = dateInZone(Date.now(), this.timezone());
    this.$("f-site").addEventListener("change", () => this.refreshPlaces("site"));
    this.$("f-gate").addEventListener("change", () => this.refreshPlaces("gate"));
    this.$("f-camera").addEventListener("change", () => this.refreshPlaces("camera"));
    for (const id of ["f-date", "f-from", "f-to"]) this.$(id).addEventListener("input", () => this.showWindow());
    for (const id of ["f-zone", "f-dwell", "f-colour", "f-stationary", "f-sort"]) {
      this.$(id).addEventListener("change", () => this.showMoreCount());
    }
    form.querySelectorAll("[data-pick]").forEach((button) =>
      button.addEventListener("click", () => {
        this.pick(button.dataset.pick);
        onSubmit();
      }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit();
    });
    this.showWindow();
  }

  fillSelect(select, options) {
    const keep = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...options.map(([value, label]) => el("option", { value }, label)));
    select.value = options.some(([value]) => value === keep) ? keep : "";
  }

  siteOf(camera) {
    const site = this.sites.find((s) => (s.cameras || []).includes(camera.id));
    return site ? site.name : camera.site;
  }

  // Cameras that the site / gate / camera choices leave in play.
  matching() {
    const site = this.$("f-site").value;
    const gate = this.$("f-gate").value;
    const camera = this.$("f-camera").value;
    return this.cameras.filter(
      (c) => (!site || this.siteOf(c) === site) && (!gate || c.gate === gate) && (!camera || c.id === camera),
    );
  }

  refreshPlaces() {
    const site = this.$("f-site").value;
    const inSite = this.cameras.filter((c) => !site || this.siteOf(c) === site);
    const gates = [...new Set(inSite.map((c) => c.gate))].sort();
    this.fillSelect(this.$("f-gate"), gates.map((g) => [g, g]));
    const gate = this.$("f-gate").value;
    const atGate = inSite.filter((c) => !gate || c.gate === gate);
    this.fillSelect(
      this.$("f-camera"),
      atGate.map((c) => [c.id, gate ? c.id : `${c.gate} · ${c.id}`]),
    );
    const zones = new Set();
    for (const c of this.matching()) for (const name of Object.keys(c.zones || {})) zones.add(name);
    this.fillSelect(this.$("f-zone"), [...zones].sort().map((z) => [z, z]));
    this.showWindow();
  }

  // The time zone the window is typed in: the cameras' own (they share one in practice).
  timezone() {
    const zones = [...new Set(this.matching().map((c) => c.timezone || "UTC"))];
    if (zones.length) return zones[0];
    return this.cameras.length ? this.cameras[0].timezone || "UTC" : Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  mixedZones() {
    return new Set(this.matching().map((c) => c.timezone || "UTC")).size > 1;
  }

  window() {
    const tz = this.timezone();
    const date = this.$("f-date").value;
    const from = this.$("f-from").value;
    const to = this.$("f-to").value;
    if (!date || !from || !to || to === from) return null;
    // A window whose end is before its start runs over midnight ("22:00 to 06:00").
    const overnight = to < from;
    const fromMs = wallToMs(date, from, tz);
    const toMs = wallToMs(overnight ? addDays(date, 1) : date, to, tz);
    return { tz, fromMs, toMs, from: isoInZone(fromMs, tz), to: isoInZone(toMs, tz), overnight, date };
  }

  // Why the window cannot be searched, in words; "" when it can.
  problem() {
    const from = this.$("f-from").value;
    const to = this.$("f-to").value;
    if (!this.$("f-date").value || !from || !to) return "Pick a date and a time window.";
    if (from === to) return `From and To are both ${from}: give the window an end (for a whole day, 00:00 to 23:59).`;
    return "";
  }

  showWindow() {
    const hint = this.$("f-window-hint");
    const badge = this.$("f-overnight");
    const w = this.window();
    const tz = this.timezone();
    this.$("f-zone-name").textContent = `(${tz})`;
    badge.hidden = !(w && w.overnight);
    hint.classList.toggle("error", Boolean(this.problem()));
    if (!w) {
      hint.textContent = this.problem();
      return;
    }
    // Said loudly: an end before the start silently searching most of a day is an easy slip.
    if (w.overnight) badge.textContent = `Overnight, ${duration((w.toMs - w.fromMs) / 1000).replace(" 00 min", "")}`;
    const offset = offsetText(offsetMinutes(w.fromMs, tz));
    const until = w.overnight ? `${this.$("f-to").value} next day` : this.$("f-to").value;
    hint.textContent =
      `${shortDate(w.date)}, ${this.$("f-from").value} to ${until}, camera time (${offset})` +
      (this.mixedZones() ? ". These cameras are in different time zones: pick one site or gate." : "");
  }

  pick(name) {
    const tz = this.timezone();
    const now = Date.now();
    const today = dateInZone(now, tz);
    if (name === "last-night") this.setWindow(addDays(today, -1), "22:00", "06:00");
    else if (name === "this-morning") this.setWindow(today, "05:00", "09:00");
    else if (name === "last-hour") {
      const start = now - 3600 * 1000;
      this.setWindow(dateInZone(start, tz), timeInZone(start, tz), timeInZone(now + 60000, tz));
    }
  }

  setWindow(date, from, to) {
    this.$("f-date").value = date;
    this.$("f-from").value = from;
    this.$("f-to").value = to;
    this.showWindow();
  }

  // How many of the folded filters are set, shown on the fold so a hidden filter is never forgotten.
  showMoreCount() {
    const set = [this.$("f-zone").value, this.$("f-dwell").value && Number(this.$("f-dwell").value) > 0,
      this.$("f-colour").value, this.$("f-stationary").checked, this.$("f-sort").value !== "time"].filter(Boolean).length;
    this.$("f-more-count").textContent = set ? `(${set} set)` : "";
    if (set) this.$("f-more").open = true;
  }

  // The filters as the events API spells them.
  params() {
    const w = this.window();
    if (!w) return null;
    const dwell = this.$("f-dwell").value;
    return {
      site: this.$("f-site").value,
      gate: this.$("f-gate").value,
      camera: this.$("f-camera").value,
      from: w.from,
      to: w.to,
      label: this.$("f-label").value,
      zone: this.$("f-zone").value,
      min_dwell: dwell && Number(dwell) > 0 ? dwell : "",
      colour: this.$("f-colour").value,
      plate: this.$("f-plate").value.trim(),
      stationary: this.$("f-stationary").checked ? "true" : "",
      sort: this.$("f-sort").value,
    };
  }
}
