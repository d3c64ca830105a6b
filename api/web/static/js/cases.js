// The case panel: choose or create a case, add the ticked events, see what the case holds, and export the
// signed evidence package (zip) with progress while the server builds and sends it.

import { api, describeDetail, el, toLogin } from "./api.js";
import { wallOf } from "./time.js";

export class CasePanel {
  constructor(root, { selection, clearSelection, roll, facts = () => "", onItems = () => {} }) {
    this.facts = facts;
    this.onItems = onItems;
    this.root = root;
    this.selection = selection;
    this.clearSelection = clearSelection;
    this.roll = roll;
    this.$ = (id) => root.querySelector(`#${id}`);
    this.current = null;
    this.$("case-select").addEventListener("change", () => this.show(this.$("case-select").value));
    this.$("case-add").addEventListener("click", () => this.addSelected());
    this.$("case-export").addEventListener("click", () => this.export());
  }

  async load(selectId = null) {
    const cases = await api("GET", "/cases");
    const select = this.$("case-select");
    select.replaceChildren(
      el("option", { value: "" }, "New case…"),
      ...cases.map((c) => el("option", { value: String(c.id) },
        `${c.reference ? `${c.name} (${c.reference})` : c.name}${c.status === "closed" ? " · closed" : ""}`)),
    );
    if (selectId != null) select.value = String(selectId);
    await this.show(select.value);
  }

  async show(id) {
    this.$("case-new").hidden = Boolean(id);
    this.$("case-export").disabled = !id;
    this.current = id ? await api("GET", `/cases/${id}`) : null;
    this.renderItems();
    this.selectionChanged();
  }

  renderItems() {
    const list = this.$("case-items");
    const items = this.current ? this.current.items || [] : [];
    list.replaceChildren(
      ...items.map((item) => {
        const from = wallOf(item.start);
        const to = wallOf(item.end);
        // What was seen first: items of one gate and morning look alike by time alone.
        // The server says it (label, colour) for every item; this session's search results are the fallback.
        const said = [item.label, item.colour].filter(Boolean).join(", ");
        const seen = said || (item.event_id != null ? this.facts(item.event_id) : "");
        return el(
          "li",
          { dataset: { item: item.id } },
          seen ? el("strong", { class: "item-seen" }, `${seen} `) : null,
          el("span", {}, `${item.camera} · ${from.date} ${from.time}–${to.time}`),
          item.event_id != null ? el("span", { class: "muted small" }, ` event ${item.event_id}`) : null,
          el("button", {
            type: "button",
            class: "link",
            "aria-label": "Remove from case",
            onclick: () => this.remove(item.id),
          }, "remove"),
        );
      }),
    );
    if (this.current && !items.length) list.replaceChildren(el("li", { class: "muted" }, "Nothing in this case yet."));
    this.onItems(items.length);
  }

  selectionChanged() {
    const n = this.selection().length;
    this.$("case-selection").textContent = n
      ? `${n} event${n === 1 ? "" : "s"} ticked.`
      : "Tick events (or press Add to case while watching one).";
    this.$("case-add").disabled = n === 0;
    this.$("case-add").textContent = this.current ? `Add ${n || ""} to this case`.replace("  ", " ") : "Create case";
  }

  async addSelected() {
    const events = this.selection();
    if (!events.length) return;
    const status = this.$("export-status");
    try {
      if (this.current) {
        this.current = await api("POST", `/cases/${this.current.id}/items`, { json: { events } });
        this.renderItems();
      } else {
        const name = this.$("case-name").value.trim();
        if (!name) {
          status.textContent = "Give the new case a name first.";
          this.$("case-name").focus();
          return;
        }
        const created = await api("POST", "/cases", {
          json: { name, reference: this.$("case-ref").value.trim() || null, events, ranges: [] },
        });
        await this.load(created.id);
      }
      status.textContent = `Added ${events.length} event${events.length === 1 ? "" : "s"}.`;
      this.clearSelection();
    } catch (err) {
      status.textContent = err.message;
    }
  }

  async remove(itemId) {
    try {
      await api("DELETE", `/cases/${this.current.id}/items/${itemId}`);
      await this.show(String(this.current.id));
    } catch (err) {
      this.$("export-status").textContent = err.message;
    }
  }

  // XMLHttpRequest rather than fetch: it reports download progress, and the package can be large.
  export() {
    if (!this.current) return;
    const id = this.current.id;
    const button = this.$("case-export");
    const bar = this.$("export-progress");
    const status = this.$("export-status");
    const began = Date.now();
    button.disabled = true;
    bar.hidden = false;
    bar.removeAttribute("value");
    const waiting = setInterval(() => {
      status.textContent = `Building the signed package… ${Math.round((Date.now() - began) / 1000)} s`;
    }, 500);
    status.textContent = "Building the signed package…";
    const { pre, post } = this.roll();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/cases/${id}/export`);
    xhr.responseType = "blob";
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.onprogress = (e) => {
      clearInterval(waiting);
      const mb = (e.loaded / 1048576).toFixed(1);
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = `Downloading ${mb} of ${(e.total / 1048576).toFixed(1)} MB…`;
      } else {
        status.textContent = `Downloading ${mb} MB…`;
      }
    };
    const done = (message) => {
      clearInterval(waiting);
      bar.hidden = true;
      button.disabled = false;
      status.textContent = message;
    };
    xhr.onerror = () => done("The connection dropped while exporting. Try again.");
    xhr.onload = async () => {
      if (xhr.status === 401) toLogin();
      if (xhr.status !== 200) {
        let message = `The export failed (${xhr.status}).`;
        try {
          const body = JSON.parse(await xhr.response.text());
          message = describeDetail(body.detail) || message;
        } catch {
          // Not JSON: keep the plain message.
        }
        done(message);
        return;
      }
      const disposition = xhr.getResponseHeader("Content-Disposition") || "";
      const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
      const filename = named ? decodeURIComponent(named[1]) : `case-${id}.zip`;
      const url = URL.createObjectURL(xhr.response);
      const link = el("a", { href: url, download: filename, id: "export-link" }, `Save ${filename} again`);
      link.click();
      done(`Exported ${filename} (${(xhr.response.size / 1048576).toFixed(1)} MB, signed). `);
      status.append(link);
    };
    xhr.send(JSON.stringify({ pre, post, exact: this.$("export-exact").checked, burn_in: this.$("export-exact").checked }));
  }
}
