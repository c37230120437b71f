// One agent: its header (status, publish, unpublish, delete) and its tabs.

import { ApiError, canWrite, del, get, patch, post } from "./api.js";
import { callsPage } from "./calls.js";
import { confirmDialog, field, fill, formError, h, hashOf, notice, showErrors, statusNode } from "./dom.js";
import { flowTab } from "./flow.js";
import { promptTab } from "./prompt.js";
import { publishTab } from "./publish.js";
import { settingsTab } from "./settings.js";
import { testTab } from "./testchat.js";
import { trainingsTab } from "./trainings.js";

const TABS = [
  ["trainings", "Trainings", trainingsTab],
  ["prompt", "Prompt", promptTab],
  ["flow", "Flow", flowTab],
  ["publish", "Diff & publish", publishTab],
  ["test", "Test", testTab],
  ["settings", "Settings", settingsTab],
  ["calls", "Calls", (panel, agent) => callsPage(panel, agent)],
];

export async function agentPage(container, agentId, tab) {
  let agent;
  try {
    agent = (await get(`/agents/${encodeURIComponent(agentId)}`)).data;
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? "Agent not found." : error.message;
    fill(container, h("h1", {}, "Agent"), h("p", { class: "notice error", role: "alert" }, text), h("p", {}, h("a", { href: "#/" }, "Back to the agents")));
    return;
  }
  document.title = `${agent.name} · Cuecard`;
  const status = statusNode();
  const header = h("div", { class: "agent-head" });
  const ctx = {
    agent,
    status,
    async reload() {
      ctx.agent = (await get(`/agents/${encodeURIComponent(agentId)}`)).data;
      renderHeader();
    },
  };

  function renderHeader() {
    const a = ctx.agent;
    const actions = [];
    if (canWrite()) {
      actions.push(h("a", { class: "button", href: hashOf("agents", a.id, "publish") }, "Review & publish"));
      if (a.current_status === "published") {
        actions.push(h("button", { type: "button", onclick: unpublish }, "Unpublish"));
      }
      actions.push(h("button", { type: "button", onclick: rename }, "Rename"));
      actions.push(h("button", { type: "button", class: "danger", onclick: remove }, "Delete agent"));
    }
    fill(header, 
      h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Agents"), " / "),
      h("h1", {}, a.name),
      h("p", { class: "meta" },
        h("span", { class: `badge ${a.current_status}`, id: "agent-status" }, a.current_status),
        a.published_version ? ` published version ${a.published_version}` : " never published",
        ` · ${a.trainings_count} training${a.trainings_count === 1 ? "" : "s"} · ${a.direction}`),
      actions.length ? h("div", { class: "row actions" }, actions) : null,
      renameSlot,
    );
  }
  const renameSlot = h("div");

  async function unpublish() {
    try {
      const body = await post(`/agents/${encodeURIComponent(agentId)}/unpublish`);
      notice(status, body.message || "Agent unpublished.");
      await ctx.reload();
    } catch (error) {
      notice(status, error.message, "error");
    }
  }

  function rename() {
    const name = h("input", { name: "name", value: ctx.agent.name, maxlength: 255 });
    const form = h("form", { class: "inline-form", novalidate: true }, formError(), field("Agent name", name), h("button", { type: "submit", class: "primary" }, "Save name"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await patch(`/agents/${encodeURIComponent(agentId)}`, { name: name.value });
        fill(renameSlot);
        await ctx.reload();
        notice(status, "Name saved; the agent is a draft until you publish.");
      } catch (error) {
        showErrors(form, error);
      }
    });
    fill(renameSlot, form);
    name.focus();
  }

  async function remove() {
    if (!(await confirmDialog(`Delete the agent “${ctx.agent.name}” and everything under it?`, "Delete agent"))) return;
    try {
      await del(`/agents/${encodeURIComponent(agentId)}`);
      location.hash = "#/";
    } catch (error) {
      notice(status, error.message, "error");
    }
  }

  const current = TABS.find(([key]) => key === tab) || TABS[0];
  const tabs = h("nav", { class: "tabs", "aria-label": "Agent sections" },
    TABS.map(([key, label]) => h("a", { href: hashOf("agents", agentId, key), "aria-current": key === current[0] ? "page" : null }, label)));
  const panel = h("section", { class: "panel", "aria-label": current[1] });
  renderHeader();
  container.append(header, status, tabs, panel);
  await current[2](panel, ctx.agent, ctx);
}
