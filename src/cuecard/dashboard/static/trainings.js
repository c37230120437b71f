// The trainings table: one page at a time from the API (?page=&per_page=); a search loads the
// whole list once and filters it here (the list endpoint has no search). Create and edit go
// through the upsert (POST), so the API's own messages and 422s show at the field.

import { allTrainings, canWrite, del, get, post, query } from "./api.js";
import { pager } from "./agents.js";
import { confirmDialog, field, fill, filters, fmtDate, formError, h, notice, select, showErrors, statusNode } from "./dom.js";

const PER_PAGE = 50;

export async function trainingsTab(panel, agent, ctx) {
  const base = `/agents/${encodeURIComponent(agent.id)}/trainings`;
  const state = { search: "", status: "", page: 1, all: null };
  const status = statusNode();
  const searchInput = h("input", { name: "training-search", type: "search", placeholder: "Subject, instructions or node_id" });
  const statusSelect = select("training-status", [["", "Active and inactive"], ["active", "Active"], ["inactive", "Inactive"]], "");
  const table = h("div", { class: "results" });
  const editor = h("div", { class: "editor-slot" });
  filters(searchInput, statusSelect, (search, status) => {
    Object.assign(state, { search: search.toLowerCase(), status, page: 1 });
    load();
  });

  panel.append(
    h("h2", {}, "Trainings"),
    h("div", { class: "toolbar", role: "search" },
      field("Search trainings", searchInput),
      field("Status", statusSelect),
      canWrite() ? h("button", { type: "button", class: "primary", onclick: () => openEditor(null) }, "New training") : null),
    status,
    editor,
    table,
  );

  async function changed(message) {
    state.all = null;
    notice(status, message);
    await load();
    await ctx.reload();
  }

  let latest = 0;
  async function load() {
    const seq = ++latest;
    let items;
    let meta;
    try {
      if (state.search) {
        state.all = state.all || (await allTrainings(agent.id));
        const matches = state.all.filter((t) =>
          (!state.status || t.current_status === state.status) &&
          [t.subject, t.instructions, t.node_id || ""].some((text) => text.toLowerCase().includes(state.search)));
        const last = Math.max(1, Math.ceil(matches.length / PER_PAGE));
        state.page = Math.min(state.page, last);
        items = matches.slice((state.page - 1) * PER_PAGE, state.page * PER_PAGE);
        meta = { current_page: state.page, last_page: last, total: matches.length };
      } else {
        const body = await get(`${base}${query({ page: state.page, per_page: PER_PAGE, current_status: state.status })}`);
        items = body.data;
        meta = body.meta;
      }
    } catch (error) {
      if (seq === latest) fill(table, h("p", { class: "notice error", role: "alert" }, error.message));
      return;
    }
    if (seq !== latest) return; // a newer search or page is loading
    const heads = ["Subject", "node_id", "Status", "Position", "Pinned", "Updated"];
    if (canWrite()) heads.push("Actions");
    fill(table, 
      items.length
        ? h("table", { class: "grid trainings", id: "trainings-table" },
            h("caption", {}, `${meta.total} training${meta.total === 1 ? "" : "s"}${state.search ? " match" : ""}`),
            h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, items.map(row)))
        : h("p", { class: "muted" }, state.search || state.status ? "No training matches." : "No trainings yet."),
      pager(meta, (page) => {
        state.page = page;
        load();
      }),
    );
  }

  function row(training) {
    const cells = [
      h("td", { class: "subject" }, training.subject),
      h("td", {}, training.node_id ? h("code", {}, training.node_id) : h("span", { class: "muted" }, "none")),
      h("td", {}, h("span", { class: `badge ${training.current_status}` }, training.current_status)),
      h("td", { class: "num" }, training.position ?? ""),
      h("td", {}, training.pinned ? "pinned" : ""),
      h("td", {}, fmtDate(training.updated_at)),
    ];
    if (canWrite()) {
      const other = training.current_status === "active" ? "inactive" : "active";
      cells.push(h("td", { class: "row-actions" },
        h("button", { type: "button", onclick: () => openEditor(training), "aria-label": `Edit ${training.subject}` }, "Edit"),
        h("button", { type: "button", onclick: () => toggle(training, other), "aria-label": `${other === "active" ? "Activate" : "Deactivate"} ${training.subject}` }, other === "active" ? "Activate" : "Deactivate"),
        h("button", { type: "button", class: "danger", onclick: () => remove(training), "aria-label": `Delete ${training.subject}` }, "Delete")));
    }
    return h("tr", { "data-training-id": training.id }, cells);
  }

  function bodyOf(training, changes = {}) {
    const body = {
      subject: training.subject,
      instructions: training.instructions,
      current_status: training.current_status,
      pinned: training.pinned,
      ...changes,
    };
    if (training.node_id) body.node_id = training.node_id;
    if (training.position !== null && training.position !== undefined) body.position = training.position;
    return body;
  }

  // A training without node_id has no update in the API (a POST without node_id always creates):
  // saving it creates its replacement, then deletes the old one, and says so.
  async function save(original, body) {
    const result = await post(base, body);
    if (original && !original.node_id && !body.node_id) {
      await del(`${base}/${encodeURIComponent(original.id)}`);
      return `${result.message} (it has no node_id, so it was replaced: new id ${result.data.id})`;
    }
    if (original && result.data.id === original.id) return `${result.message} (same id ${result.data.id})`;
    return result.message;
  }

  async function toggle(training, to) {
    try {
      await changed(await save(training, bodyOf(training, { current_status: to })));
    } catch (error) {
      notice(status, error.message, "error");
    }
  }

  async function remove(training) {
    if (!(await confirmDialog(`Delete the training “${training.subject}”?`))) return;
    try {
      const result = await del(`${base}/${encodeURIComponent(training.id)}`);
      await changed(result.message || "Training deleted.");
    } catch (error) {
      notice(status, error.message, "error");
    }
  }

  function openEditor(training) {
    const t = training || { subject: "", instructions: "", node_id: "", current_status: "active", position: null, pinned: false };
    const subject = h("input", { name: "subject", value: t.subject, maxlength: 255 });
    const instructions = h("textarea", { name: "instructions", rows: 6 }, t.instructions);
    const nodeId = h("input", { name: "node_id", value: t.node_id || "", readonly: Boolean(training && training.node_id) });
    const currentStatus = select("current_status", [["active", "active"], ["inactive", "inactive"]], t.current_status);
    const position = h("input", { name: "position", type: "number", value: t.position ?? "" });
    const pinned = h("input", { name: "pinned", type: "checkbox", checked: t.pinned });
    const title = training ? `Edit “${training.subject}”` : "New training";
    const form = h("form", { class: "card", "aria-label": title, novalidate: true },
      h("h3", {}, title),
      training && !training.node_id ? h("p", { class: "hint" }, "This training has no node_id: the API updates only by node_id, so saving replaces it with a new training (new id).") : null,
      training && training.node_id ? h("p", { class: "hint" }, "Saved by node_id: the same training is updated in place (same id).") : null,
      formError(),
      field("Subject", subject),
      field("Instructions", instructions),
      field("node_id", nodeId, "Optional. A training with a node_id is upserted by it and reaches that flow node."),
      field("Status", currentStatus),
      field("Position", position, "Optional order among the trainings."),
      field("Pinned (always inline)", pinned),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary" }, "Save training"),
        h("button", { type: "button", onclick: () => fill(editor) }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { subject: subject.value, instructions: instructions.value, current_status: currentStatus.value, pinned: pinned.checked };
      if (nodeId.value.trim()) body.node_id = nodeId.value;
      if (position.value !== "") body.position = Number(position.value);
      try {
        const message = await save(training, body);
        fill(editor);
        await changed(message);
      } catch (error) {
        showErrors(form, error);
      }
    });
    fill(editor, form);
    subject.focus();
  }

  await load();
}
