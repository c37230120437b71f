// What the runtime will load: the compiled config of the draft or the published version, in each
// format, with its token budget bar and its warnings.

import { get, query } from "./api.js";
import { field, fill, h, pre, select, svg } from "./dom.js";

const FORMATS = [["native", "native"], ["pipecat-flows", "pipecat-flows"], ["openai-messages", "openai-messages"]];

export async function promptTab(panel, agent) {
  const versions = [["draft", "Draft"], ["published", "Published"]];
  const versionSelect = select("prompt-version", versions, "draft");
  const formatSelect = select("prompt-format", FORMATS, "native");
  const out = h("div", { class: "prompt-out", "aria-live": "polite" });
  versionSelect.addEventListener("change", load);
  formatSelect.addEventListener("change", load);
  panel.append(
    h("h2", {}, "What the runtime will load"),
    h("div", { class: "toolbar" }, field("Version", versionSelect), field("Format", formatSelect)),
    out,
  );

  let latest = 0;
  async function load() {
    const seq = ++latest;
    const path = `/agents/${encodeURIComponent(agent.id)}/runtime-config`;
    const version = versionSelect.value;
    let native;
    let document;
    try {
      native = await get(`${path}${query({ version, format: "native" })}`);
      document = formatSelect.value === "native" ? native : await get(`${path}${query({ version, format: formatSelect.value })}`);
    } catch (error) {
      if (seq === latest) fill(out, h("p", { class: "notice error", role: "alert" }, error.message));
      return;
    }
    if (seq !== latest) return; // a newer choice is loading: never show an older answer over it
    fill(out, 
      h("h3", {}, "Token budget"),
      budgetBar(native.budget, native.tokens),
      warnings(native.warnings || []),
      h("h3", {}, "System prompt"),
      pre(native.system_prompt || "", { id: "system-prompt", "aria-label": `System prompt (${version})` }),
      h("h3", {}, `Runtime config (${formatSelect.value})`),
      h("details", { open: formatSelect.value !== "native" }, h("summary", {}, "The whole document"), pre(JSON.stringify(document, null, 2), { id: "runtime-document" })),
    );
  }
  await load();
}

export function budgetBar(budget, tokens) {
  const limit = Math.max(1, budget.budget_tokens);
  const inline = budget.inline_tokens;
  const retrieved = budget.retrieved_tokens;
  const scale = Math.max(limit, inline + retrieved);
  const width = 600;
  const px = (n) => Math.round((n / scale) * width);
  const inlineWithin = Math.min(inline, limit);
  const over = Math.max(0, inline - limit);
  const bar = svg("svg", { viewBox: `0 0 ${width} 28`, class: "budget-bar", role: "img", "aria-label": `Inline ${inline} of ${limit} budget tokens, ${retrieved} retrieved per turn` },
    svg("rect", { x: 0, y: 4, width, height: 20, class: "track" }),
    svg("rect", { x: 0, y: 4, width: px(inlineWithin), height: 20, class: "inline" }),
    svg("rect", { x: px(inlineWithin), y: 4, width: px(over), height: 20, class: "over" }),
    svg("rect", { x: px(inline), y: 4, width: px(retrieved), height: 20, class: "retrieved" }),
    svg("line", { x1: px(limit), x2: px(limit), y1: 0, y2: 28, class: "limit" }));
  return h("figure", { class: "budget" }, bar,
    h("figcaption", {},
      h("span", { class: "key inline" }, `inline ${inline} tokens (${budget.inline_count} trainings)`),
      h("span", { class: "key retrieved" }, `retrieved per turn ${retrieved} tokens (${budget.retrieved_count} trainings)`),
      over ? h("span", { class: "key over" }, `over budget by ${over} tokens`) : null,
      h("span", {}, `budget ${limit} tokens · mode ${budget.mode} · prompt ${tokens ? tokens.total : "?"} tokens (${tokens ? tokens.encoding : ""})`)));
}

function warnings(list) {
  if (!list.length) return h("p", { class: "muted", id: "warnings" }, "No warnings.");
  return h("div", { id: "warnings" }, h("h3", {}, "Warnings"),
    h("ul", { class: "warnings" }, list.map((w) => h("li", {}, typeof w === "string" ? w : [w.code ? h("code", {}, w.code) : null, " ", w.message || JSON.stringify(w)]))));
}
