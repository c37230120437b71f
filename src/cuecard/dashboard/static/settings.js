// Every settings section the API has, each a JSON editor sent to its own endpoint; the API's
// field errors show under the editor. The flow has a validate button too.

import { canWrite, get, patch, post, put } from "./api.js";
import { clearErrors, field, formError, h, notice, showErrors, statusNode } from "./dom.js";

const pick = (agent, keys) => Object.fromEntries(keys.map((k) => [k, agent[k] ?? null]));

function sections(agent, flow) {
  const voice = agent.voice || {};
  return [
    { key: "general", title: "General", method: "PATCH", path: "", hint: "PATCH /agents/{id}: any setting, e.g. name, training_budget_tokens.",
      value: pick(agent, ["name", "label", "training_budget_tokens", "max_call_duration_seconds", "enable_recording", "publish_requires_clean_lint", "publish_requires_passing_tests"]) },
    { key: "knowledge", title: "Knowledge", method: "PUT", path: "/knowledge", hint: "PUT /knowledge: description (min 5), initial message (5–255), interrupt sensitivity, temperature, delay.",
      value: pick(agent, ["description", "initial_message", "interrupt_sensitivity", "ask_if_human_present_on_idle", "llm_temperature", "initial_message_delay"]) },
    { key: "voice", title: "Voice", method: "PUT", path: "/voice", hint: "PUT /voice: a voice_id from GET /voice-templates, speed above 1 and below 2, who speaks first.",
      value: { voice_id: voice.id || "", conversation_speed: agent.conversation_speed > 1 ? agent.conversation_speed : 1.1, who_speaks_first: agent.who_speaks_first, language: agent.language } },
    { key: "calling", title: "Calling", method: "PUT", path: "/calling", hint: "PUT /calling: direction and phone_number_ids of your environment.",
      value: { direction: agent.direction, phone_number_ids: (agent.phone_numbers || []).map((n) => n.id) } },
    { key: "advanced", title: "Advanced", method: "PATCH", path: "/advanced-settings", hint: "PATCH /advanced-settings.",
      value: agent.advanced_settings || { enable_initial_message_cache: false } },
    { key: "flow", title: "Flow", method: "PUT", path: "/flow", hint: "PUT /flow: conversation_mode (llm_driven or flow_driven) and flow_config (nodes say, ask, decision, action, transfer, end).",
      value: flow, validate: true },
  ];
}

export async function settingsTab(panel, agent, ctx) {
  const id = encodeURIComponent(agent.id);
  let flow = { conversation_mode: "llm_driven", flow_config: null };
  try {
    flow = (await get(`/agents/${id}/flow`)).data;
  } catch {
    // Shown with the default; saving reports the API's answer.
  }
  panel.append(h("h2", {}, "Settings"));
  if (!canWrite()) panel.append(h("p", { class: "muted" }, "Read-only token: the settings are shown, not editable."));
  for (const section of sections(agent, flow)) panel.append(editor(id, section, ctx));
}

function editor(id, section, ctx) {
  const text = h("textarea", { name: section.key, rows: Math.min(24, JSON.stringify(section.value, null, 2).split("\n").length + 1), class: "json", spellcheck: "false", readonly: !canWrite() }, JSON.stringify(section.value, null, 2));
  const status = statusNode();
  const form = h("form", { class: "card", "aria-labelledby": `settings-${section.key}`, novalidate: true, "data-section": section.key },
    h("h3", { id: `settings-${section.key}` }, section.title),
    formError(),
    field(`${section.title} settings (JSON)`, text, section.hint),
    canWrite() ? h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, `Save ${section.title.toLowerCase()}`),
      section.validate ? h("button", { type: "button", onclick: () => validate() }, "Validate flow") : null) : null,
    status);

  const parsed = () => {
    try {
      return JSON.parse(text.value);
    } catch (error) {
      showErrors(form, { message: `Not valid JSON: ${error.message}` });
      return undefined;
    }
  };

  async function validate() {
    const body = parsed();
    if (body === undefined) return;
    try {
      const result = await post(`/agents/${id}/flow/validate`, { flow_config: body.flow_config });
      clearErrors(form);
      notice(status, result.message || "Flow is valid");
    } catch (error) {
      notice(status, "");
      showErrors(form, error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = parsed();
    if (body === undefined) return;
    const send = section.method === "PUT" ? put : patch;
    try {
      const result = await send(`/agents/${id}${section.path}`, body);
      clearErrors(form);
      notice(status, result.message || `${section.title} saved.`);
      await ctx.reload();
    } catch (error) {
      notice(status, "");
      showErrors(form, error);
    }
  });
  return form;
}
