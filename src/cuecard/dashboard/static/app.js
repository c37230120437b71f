// The dashboard's entry point: sign-in, navigation and the hash router (`#/agents/<id>/<tab>`),
// so that nothing but the page's own state ever sits in the URL.

import { ApiError, api, forget, get, remember, session, token } from "./api.js";
import { agentPage } from "./agent.js";
import { agentsPage } from "./agents.js";
import { callPage, callsPage } from "./calls.js";
import { field, fill, formError, h, showErrors } from "./dom.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");

function view(title) {
  const container = h("div", { class: "view" });
  fill(main, container);
  document.title = title ? `${title} · Cuecard` : "Cuecard";
  return container;
}

function renderNav() {
  if (!session.abilities) {
    fill(nav);
    return;
  }
  const abilities = session.abilities;
  const badge = abilities.can_write
    ? null
    : h("span", { class: "badge readonly", title: "This token can read but not change anything" }, "read-only");
  fill(nav, 
    h("a", { href: "#/" }, "Agents"),
    h("a", { href: "#/calls" }, "Calls"),
    h("span", { class: "who" }, abilities.label ? `Token: ${abilities.label}` : "Signed in", badge),
    h("button", { type: "button", class: "link", id: "sign-out", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  forget();
  renderNav();
  location.hash = "#/";
  showSignIn("You are signed out.");
}

function showSignIn(message) {
  const container = view("Sign in");
  const input = h("input", { name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const form = h(
    "form",
    { class: "card sign-in", "aria-labelledby": "sign-in-title", novalidate: true },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", {}, "Paste an environment token (talq_…). It is kept for this browser tab only and forgotten when you sign out or close the tab."),
    formError(),
    field("Token", input),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  if (message) container.append(h("p", { class: "notice", role: "status" }, message));
  container.append(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const secret = input.value.trim();
    if (!secret) {
      showErrors(form, { message: "The given data was invalid.", errors: { token: ["The token field is required."] } });
      return;
    }
    try {
      session.abilities = (await api("GET", "/token", undefined, { secret })).data;
      remember(secret);
      input.value = "";
      route();
    } catch (error) {
      const text = error instanceof ApiError && error.status === 401 ? "That token is not valid (or was revoked)." : error.message;
      showErrors(form, { message: text, errors: { token: [text] } });
    }
  });
  input.focus();
}

async function route() {
  if (!token()) {
    renderNav();
    showSignIn();
    return;
  }
  if (!session.abilities) {
    try {
      session.abilities = (await get("/token")).data;
    } catch (error) {
      forget();
      renderNav();
      showSignIn(error.message);
      return;
    }
  }
  renderNav();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "agents" && parts[1]) {
    await agentPage(view("Agent"), parts[1], parts[2] || "trainings");
  } else if (parts[0] === "calls" && parts[1] && parts[2]) {
    await callPage(view("Call"), parts[1], parts[2]);
  } else if (parts[0] === "calls") {
    await callsPage(view("Calls"), null);
  } else {
    await agentsPage(view("Agents"));
  }
}

window.addEventListener("hashchange", () => route());
window.addEventListener("cuecard:signed-out", (event) => {
  renderNav();
  showSignIn(event.detail || "Your token is no longer valid: sign in again.");
});
route();
