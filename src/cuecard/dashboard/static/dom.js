// DOM helpers. Every text goes in as a text node (never innerHTML), so a training subject such as
// `<img src=x onerror=alert(1)>` shows as those characters.

let counter = 0;
export const uid = (prefix = "f") => `${prefix}-${++counter}`;

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") {
      el.value = String(value);
    } else if (key === "checked") {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children (null and false children are skipped, as in `h`). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  return append(el, children);
}

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);
export const hashOf = (...parts) => `#/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;

/** A labelled form control with a slot for the API's messages about it. */
export function field(label, input, hint) {
  if (!input.id) input.id = uid();
  const error = h("p", { class: "field-error", id: `${input.id}-error`, "data-error-for": input.name });
  const described = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h("p", { class: "hint", id: `${input.id}-hint` }, hint);
    described.push(hintEl.id);
  }
  input.setAttribute("aria-describedby", described.join(" "));
  const wrap = input.type === "checkbox"
    ? h("div", { class: "field check" }, input, h("label", { for: input.id }, label), hintEl, error)
    : h("div", { class: "field" }, h("label", { for: input.id }, label), input, hintEl, error);
  return wrap;
}

/** Show an API error on a form: each field's messages at the field, the rest in its banner. */
export function showErrors(form, error) {
  clearErrors(form);
  const banner = form.querySelector(".form-error");
  const leftovers = [];
  const errors = error && error.errors;
  if (errors && !Array.isArray(errors) && typeof errors === "object") {
    for (const [name, messages] of Object.entries(errors)) {
      const list = Array.isArray(messages) ? messages : [String(messages)];
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) {
        slot.textContent = list.join(" ");
        const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        leftovers.push(...list.map((m) => `${name}: ${m}`));
      }
    }
  } else if (Array.isArray(errors)) {
    leftovers.push(...errors.map(String));
  }
  if (banner) {
    fill(banner,
      h("p", {}, (error && error.message) || "Something went wrong."),
      leftovers.length ? h("ul", {}, leftovers.map((m) => h("li", {}, m))) : null,
    );
    banner.hidden = false;
  }
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const banner = form.querySelector(".form-error");
  if (banner) {
    banner.replaceChildren();
    banner.hidden = true;
  }
}

export const formError = () => h("div", { class: "form-error", role: "alert", hidden: true });

/** A status line that screen readers announce. */
export function notice(el, text, kind = "ok") {
  el.className = `notice ${kind}`;
  el.textContent = text;
}

export const statusNode = () => h("p", { class: "notice", role: "status", "aria-live": "polite" });

export function fmtDate(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace("T", " ").slice(0, 16);
}

/** Ask before something that cannot be undone; resolves true only on the confirm button. */
export function confirmDialog(question, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "danger" }, confirmLabel);
    const no = h("button", { type: "button" }, "Cancel");
    const title = h("p", { id: uid("dlg") }, question);
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": title.id }, title, h("div", { class: "row" }, yes, no));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
}

export function pre(text, attrs = {}) {
  return h("pre", { class: "code", tabindex: "0", ...attrs }, text);
}

/** A search box (debounced) and a status select that both re-run `apply(search, status)`. */
export function filters(searchInput, statusSelect, apply, ms = 200) {
  let timer = null;
  const run = () => apply(searchInput.value.trim(), statusSelect.value);
  searchInput.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  });
  statusSelect.addEventListener("change", run);
}
