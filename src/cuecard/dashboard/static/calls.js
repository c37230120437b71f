// Calls the runtimes reported: the list (all agents, or one), and a call's turns with the
// trainings that shaped each.

import { ApiError, get, query } from "./api.js";
import { pager } from "./agents.js";
import { fill, fmtDate, h, hashOf } from "./dom.js";

export async function callsPage(container, agent) {
  const state = { page: 1 };
  const results = h("div", { class: "results" });
  container.append(h(agent ? "h2" : "h1", {}, agent ? "Calls" : "Calls"), results);
  async function load() {
    const path = agent ? `/agents/${encodeURIComponent(agent.id)}/calls` : "/calls";
    let body;
    try {
      body = await get(`${path}${query({ page: state.page, per_page: 20 })}`);
    } catch (error) {
      fill(results, h("p", { class: "notice error", role: "alert" }, error.message));
      return;
    }
    const p = body.pagination || body.meta || { current_page: 1, last_page: 1 };
    fill(results, 
      body.data.length
        ? h("table", { class: "grid", id: "calls-table" },
            h("thead", {}, h("tr", {}, ["Started", "Agent", "Direction", "Status", "Duration", "From", "To"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, body.data.map((call) => {
              const agentId = agent ? agent.id : call.agent.id;
              return h("tr", {},
                h("td", {}, h("a", { href: hashOf("calls", agentId, call.id) }, fmtDate(call.created_at))),
                h("td", {}, agent ? agent.name : call.agent.name),
                h("td", {}, call.direction),
                h("td", {}, call.status),
                h("td", { class: "num" }, `${call.duration} s`),
                h("td", {}, call.from_formatted || call.from || ""),
                h("td", {}, call.to_formatted || call.to || ""));
            })))
        : h("p", { class: "muted" }, "No calls reported yet."),
      pager(p, (page) => {
        state.page = page;
        load();
      }));
  }
  await load();
}

export async function callPage(container, agentId, callId) {
  let call;
  try {
    call = (await get(`/agents/${encodeURIComponent(agentId)}/calls/${encodeURIComponent(callId)}`)).data;
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? "Call not found." : error.message;
    container.append(h("h1", {}, "Call"), h("p", { class: "notice error", role: "alert" }, text));
    return;
  }
  container.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/calls" }, "Calls"), " / ", h("a", { href: hashOf("agents", agentId) }, "Agent")),
    h("h1", {}, `Call ${fmtDate(call.created_at)}`),
    h("p", { class: "meta" }, `${call.direction} · ${call.status} · ${call.duration} s · version ${call.version ?? "?"}${call.is_testing ? " · test call" : ""}`),
    h("h2", {}, "Turns"),
    call.turns.length
      ? h("table", { class: "grid", id: "turns-table" },
          h("thead", {}, h("tr", {}, ["#", "Node", "Caller", "Agent", "Trainings that shaped it"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, call.turns.map((turn) => h("tr", {},
            h("td", { class: "num" }, turn.seq),
            h("td", {}, turn.node_id || ""),
            h("td", {}, turn.user_text || ""),
            h("td", {}, turn.reply_text || ""),
            h("td", {}, h("ul", { class: "used" }, turn.trainings.map((t) =>
              h("li", {}, `${t.subject || t.id} (${t.source})${t.exists ? "" : " — deleted since"}`))))))))
      : h("p", { class: "muted" }, "No turns reported."),
  );
}
