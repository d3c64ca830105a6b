// The public API, as the pages use it: same-origin requests with the session cookie, errors in words.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// FastAPI's `detail` is a sentence, a list of validation errors, or (for refused imports) an object.
export function describeDetail(detail) {
  if (detail == null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "query" && p !== "body").join(" ") : "";
        return where ? `${where}: ${d.msg}` : d.msg || JSON.stringify(d);
      })
      .join("; ");
  }
  if (typeof detail === "object") return detail.error || detail.message || detail.detail || JSON.stringify(detail);
  return String(detail);
}

const PLAIN = {
  401: "You are not signed in any more. Sign in again.",
  403: "Your account may not do this.",
  404: "Not found.",
  413: "The file is larger than this server accepts.",
  429: "Too many attempts. Wait a minute and try again.",
  500: "The server hit a problem. Try again; if it keeps happening, tell your administrator.",
  502: "The server is not answering. Try again in a minute.",
  503: "The server is busy or starting. Try again in a minute.",
};

export async function errorFromResponse(response) {
  let body = null;
  let text = "";
  try {
    text = await response.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const said = body && body.detail !== undefined ? describeDetail(body.detail) : "";
  const message = said || PLAIN[response.status] || `The server answered ${response.status}.`;
  return new ApiError(response.status, message, body);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// A request to the API; JSON in and out. A 401 on a page (not the sign-in itself) sends the user to /login.
export async function api(method, path, { json, params, headers = {}, raw = false, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin", signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(`${API}${path}${params ? query(params) : ""}`, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached. Check the connection and try again.");
  }
  if (!response.ok) {
    const error = await errorFromResponse(response);
    if (response.status === 401 && path !== "/session") toLogin();
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response;
}

export function toLogin() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/login?next=${next}`);
}

// The header: who is signed in, and the sign-out button. Returns /me.
export async function showWho() {
  const me = await api("GET", "/me");
  document.getElementById("who-name").textContent = me.name;
  document.getElementById("who-role").textContent = me.role;
  document.getElementById("who").hidden = false;
  // An admin may use both pages: offer the other one (the page routes let an admin into each).
  const nav = document.getElementById("nav");
  if (nav && me.role === "admin") {
    nav.hidden = false;
    for (const link of nav.querySelectorAll("a")) {
      if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
    }
  }
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("DELETE", "/session");
    } finally {
      location.assign("/login");
    }
  });
  return me;
}

export function notice(message) {
  const box = document.getElementById("notice");
  box.textContent = message || "";
  box.hidden = !message;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") {
      // Through the CSSOM: the pages' Content-Security-Policy refuses style attributes.
      for (const rule of String(value).split(";")) {
        const at = rule.indexOf(":");
        if (at > 0) node.style.setProperty(rule.slice(0, at).trim(), rule.slice(at + 1).trim());
      }
    }
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
