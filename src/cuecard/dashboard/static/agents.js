// The agents list: search, status filter, pages; create an agent.

import { canWrite, get, post, query } from "./api.js";
import { field, fill, filters, fmtDate, formError, h, hashOf, select, showErrors } from "./dom.js";

const PER_PAGE = 20;

export async function agentsPage(container) {
  const state = { search: "", status: "", page: 1 };
  const searchInput = h("input", { name: "search", type: "search", placeholder: "Name or description" });
  const statusSelect = select("status", [["", "Any status"], ["draft", "Draft"], ["published", "Published"]], "");
  const results = h("div", { class: "results", "aria-live": "polite" });
  filters(searchInput, statusSelect, (search, status) => {
    Object.assign(state, { search: search, status, page: 1 });
    load();
  });

  container.append(
    h("h1", {}, "Agents"),
    canWrite() ? createForm() : null,
    h("div", { class: "toolbar", role: "search" }, field("Search agents", searchInput), field("Status", statusSelect)),
    results,
  );

  let latest = 0;
  async function load() {
    const seq = ++latest;
    let body;
    try {
      body = await get(`/agents${query({ search: state.search, status: state.status, page: state.page, per_page: PER_PAGE })}`);
    } catch (error) {
      if (seq === latest) fill(results, h("p", { class: "notice error", role: "alert" }, error.message));
      return;
    }
    if (seq !== latest) return; // a newer search or page is loading
    const rows = body.data.map((agent) =>
      h("tr", {},
        h("td", {}, h("a", { href: hashOf("agents", agent.id) }, agent.name)),
        h("td", {}, h("span", { class: `badge ${agent.current_status}` }, agent.current_status)),
        h("td", {}, agent.direction),
        h("td", { class: "num" }, agent.trainings_count ?? (agent.trainings || []).length),
        h("td", {}, fmtDate(agent.updated_at)),
      ));
    const meta = body.meta || { current_page: 1, last_page: 1, total: body.data.length };
    fill(results, 
      rows.length
        ? h("table", { class: "grid" },
            h("caption", {}, `${meta.total} agent${meta.total === 1 ? "" : "s"}`),
            h("thead", {}, h("tr", {}, ["Name", "Status", "Direction", "Trainings", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows))
        : h("p", { class: "muted" }, state.search || state.status ? "No agent matches." : "No agents yet."),
      pager(meta, (page) => {
        state.page = page;
        load();
      }),
    );
  }
  await load();
}

export function pager(meta, go) {
  if (!meta || meta.last_page <= 1) return null;
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: meta.current_page <= 1, onclick: () => go(meta.current_page - 1) }, "Previous page"),
    h("span", {}, `Page ${meta.current_page} of ${meta.last_page}`),
    h("button", { type: "button", disabled: meta.current_page >= meta.last_page, onclick: () => go(meta.current_page + 1) }, "Next page"));
}

function createForm() {
  const name = h("input", { name: "name", required: true, maxlength: 255 });
  const description = h("textarea", { name: "description", rows: 3 });
  const form = h("form", { class: "card", "aria-labelledby": "new-agent-title", novalidate: true },
    h("h2", { id: "new-agent-title" }, "New agent"),
    formError(),
    field("Name", name),
    field("Description", description, "What the agent does; the first part of its prompt."),
    h("button", { type: "submit", class: "primary" }, "Create agent"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value };
    if (description.value.trim()) body.description = description.value;
    try {
      const created = await post("/agents", body);
      location.hash = hashOf("agents", created.data.id);
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h("details", { class: "create" }, h("summary", {}, "New agent"), form);
}
