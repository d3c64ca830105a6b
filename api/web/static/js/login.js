// The sign-in page: name and token into the session cookie, then the page the role uses.

import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

function landing(role) {
  const next = new URLSearchParams(location.search).get("next") || "";
  // Only local paths: a crafted ?next= must not send anyone to another site.
  const local = next.startsWith("/") && !next.startsWith("//") ? next : "";
  if (role === "manager") return "/manage";
  if (local === "/manage" && role === "admin") return "/manage";
  return "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    await api("POST", "/session", {
      json: { name: form.elements.name.value.trim(), token: form.elements.token.value.trim() },
    });
    const me = await api("GET", "/me");
    location.assign(landing(me.role));
  } catch (err) {
    error.textContent = err.status === 401 ? "That name and token do not match. Check both and try again." : err.message;
    error.hidden = false;
    button.disabled = false;
  }
});
