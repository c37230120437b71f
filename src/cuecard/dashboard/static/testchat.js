// Test it: a chat against the draft or a version (test-conversations), showing per reply what was
// sent and which trainings were used; and a retrieval probe with scores.

import { ApiError, allTrainings, canWrite, get, post } from "./api.js";
import { clearErrors, field, fill, formError, h, pre, select, showErrors } from "./dom.js";

export async function testTab(panel, agent) {
  const id = encodeURIComponent(agent.id);
  let versionOptions = [["draft", "Draft"], ["published", "Published"]];
  let subjects = new Map();
  try {
    const [versions, trainings] = await Promise.all([get(`/agents/${id}/versions?per_page=100`), allTrainings(agent.id)]);
    versionOptions = versionOptions.concat(versions.data.map((v) => [String(v.version), `Version ${v.version}`]));
    subjects = new Map(trainings.map((t) => [t.id, t.subject]));
  } catch {
    // The selectors still work with draft and published.
  }
  panel.append(h("h2", {}, "Test conversation"));
  if (canWrite()) {
    panel.append(chat(id, versionOptions, subjects));
  } else {
    panel.append(h("p", { class: "muted" }, "A read-only token cannot run test conversations (they call the LLM); the retrieval probe below works."));
  }
  panel.append(h("h2", {}, "Retrieval probe"), probe(id, versionOptions));
}

function usedTrainings(debug, subjects) {
  const ids = debug.training_ids || { system: [], node: [], retrieved: [] };
  const groups = [["system prompt", ids.system], ["node", ids.node], ["retrieved", ids.retrieved]];
  return h("ul", { class: "used" }, groups.filter(([, list]) => list.length).map(([where, list]) =>
    h("li", {}, `${where}: `, list.map((tid) => subjects.get(tid) || tid).join("; "))));
}

function sentMessages(debug) {
  return h("ol", { class: "sent" }, (debug.messages || []).map((m) => h("li", {}, h("strong", {}, m.role), pre(m.content))));
}

function chat(id, versionOptions, subjects) {
  const messages = [];
  const transcript = h("div", { class: "transcript", id: "transcript", "aria-live": "polite" });
  const version = select("chat-version", versionOptions, "draft");
  const nodeId = h("input", { name: "chat-node", placeholder: "optional" });
  const input = h("textarea", { name: "message", rows: 2 });
  const form = h("form", { class: "card chat", "aria-label": "Test conversation", novalidate: true },
    h("div", { class: "toolbar" }, field("Version", version), field("Flow node", nodeId)),
    transcript,
    formError(),
    field("Message", input),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, "Send"),
      h("button", { type: "button", onclick: () => { messages.length = 0; fill(transcript); } }, "New conversation")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    messages.push({ role: "user", content: text });
    transcript.append(h("div", { class: "msg user" }, h("span", { class: "who" }, "Caller"), h("p", {}, text)));
    input.value = "";
    const body = { version: version.value, messages };
    if (nodeId.value.trim()) body.node_id = nodeId.value.trim();
    try {
      const result = (await post(`/agents/${id}/test-conversations`, body)).data;
      messages.push({ role: "assistant", content: result.reply.content });
      transcript.append(h("div", { class: "msg assistant" }, h("span", { class: "who" }, "Agent"), h("p", { class: "reply" }, result.reply.content),
        h("details", {}, h("summary", {}, `What was sent (${result.debug.tokens.total} tokens, ${result.debug.llm_model || "model"})`),
          h("h4", {}, "Trainings used"), usedTrainings(result.debug, subjects), h("h4", {}, "Messages"), sentMessages(result.debug))));
    } catch (error) {
      messages.pop();
      if (error instanceof ApiError && error.code === "LLM_NOT_CONFIGURED") {
        const debug = error.body.debug || {};
        transcript.append(h("div", { class: "msg system", id: "llm-not-configured" },
          h("p", { class: "notice warn" }, "No LLM is configured on this server, so nothing was sent. To configure one, set CUECARD_LLM_BASE_URL (an OpenAI-compatible API such as https://api.openai.com/v1, vLLM or Ollama), CUECARD_LLM_MODEL and, if it needs one, CUECARD_LLM_API_KEY, then restart `cuecard serve`."),
          h("h4", {}, "What would be sent"), usedTrainings(debug, subjects), sentMessages(debug)));
      } else {
        showErrors(form, error);
      }
    }
  });
  return form;
}

function probe(id, versionOptions) {
  const version = select("probe-version", versionOptions, "draft");
  const sentence = h("input", { name: "probe-sentence", placeholder: "I want my money back" });
  const topK = h("input", { name: "top_k", type: "number", value: 5, min: 1, max: 50 });
  const budget = h("input", { name: "budget_tokens", type: "number", min: 1 });
  const out = h("div", { id: "probe-results", "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-label": "Retrieval probe", novalidate: true },
    h("p", { class: "hint" }, "Type what a caller might say: the trainings the runtime would retrieve for that turn, with their scores. Only trainings that did not fit the agent's token budget are retrieved; when all fit inline there is nothing to retrieve (lower training_budget_tokens in Settings → General to try it)."),
    formError(),
    h("div", { class: "toolbar" }, field("Caller says", sentence), field("Version", version), field("Top k", topK), field("Turn budget tokens", budget, "Empty: what the agent's budget leaves for a turn.")),
    h("button", { type: "submit", class: "primary" }, "Probe"),
    out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { version: version.value, messages: [{ role: "user", content: sentence.value }] };
    if (topK.value) body.top_k = Number(topK.value);
    if (budget.value) body.budget_tokens = Number(budget.value);
    try {
      const result = await post(`/agents/${id}/runtime/retrieve`, body);
      clearErrors(form);
      fill(out, 
        h("p", {}, `Mode ${result.mode}; ${result.used_tokens} of ${result.budget_tokens} tokens used; ${result.documents.length} retrieved.`),
        result.documents.length
          ? h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ["Score", "Subject", "Content"].map((t) => h("th", { scope: "col" }, t)))),
              h("tbody", {}, result.documents.map((d) => h("tr", {}, h("td", { class: "num" }, d.score.toFixed(3)), h("td", {}, d.subject), h("td", {}, d.content)))))
          : h("p", { class: "muted" }, result.mode === "inline" ? "Nothing to retrieve: every active training fits the prompt inline." : "Nothing retrieved for this turn."));
    } catch (error) {
      fill(out);
      showErrors(form, { ...error, message: error.message, errors: rename(error.errors) });
    }
  });
  return form;
}

// The probe's inputs are named apart from the chat's; map the API's field names onto them.
function rename(errors) {
  if (!errors || Array.isArray(errors)) return errors;
  const out = {};
  for (const [key, value] of Object.entries(errors)) out[key === "messages" || key.startsWith("messages.") ? "probe-sentence" : key] = value;
  return out;
}
