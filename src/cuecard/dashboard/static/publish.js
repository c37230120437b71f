// Before publishing: what changes (the diff endpoint's summary) and a side-by-side text diff of
// the published version against the draft (settings, prompt, trainings, flow); then publish,
// unpublish, and the version list with restore.

import { allTrainings, canWrite, get, post, query } from "./api.js";
import { confirmDialog, fill, fmtDate, h, notice, statusNode } from "./dom.js";

export async function publishTab(panel, agent, ctx) {
  const id = encodeURIComponent(agent.id);
  const status = statusNode();
  const summary = h("div", { id: "diff-summary" });
  const sideBySide = h("div", { id: "diff" });
  const versions = h("div", { id: "versions" });
  const publishBar = h("div", { class: "row actions" });
  panel.append(h("h2", {}, "Diff & publish"), status, summary, publishBar, h("h3", {}, "Published (left) against draft (right)"), sideBySide, h("h2", {}, "Versions"), versions);

  async function refresh() {
    await ctx.reload();
    const current = ctx.agent;
    fill(publishBar);
    if (canWrite()) {
      publishBar.append(h("button", { type: "button", class: "primary", id: "publish", onclick: publish }, current.published_version ? "Publish the draft" : "Publish"));
      if (current.current_status === "published") publishBar.append(h("button", { type: "button", onclick: unpublish }, "Unpublish"));
    }
    await Promise.all([loadDiff(current), loadVersions()]);
  }

  async function publish() {
    try {
      const body = await post(`/agents/${id}/publish`);
      notice(status, `${body.message}: version ${body.data.version}.`);
    } catch (error) {
      notice(status, error.message, "error");
    }
    await refresh();
  }

  async function unpublish() {
    try {
      notice(status, (await post(`/agents/${id}/unpublish`)).message);
    } catch (error) {
      notice(status, error.message, "error");
    }
    await refresh();
  }

  async function loadDiff(current) {
    const draftSide = Promise.all([
      get(`/agents/${id}/runtime-config${query({ version: "draft" })}`),
      allTrainings(agent.id),
      get(`/agents/${id}/flow`).then((b) => b.data.flow_config),
    ]);
    if (!current.published_version) {
      const [config, trainings, flow] = await draftSide;
      fill(summary, h("p", {}, "Never published: publishing makes everything below version 1."));
      fill(sideBySide, diffTable([], documentLines(config, trainings, flow)));
      return;
    }
    try {
      const [diff, published, version, [config, trainings, flow]] = await Promise.all([
        get(`/agents/${id}/diff${query({ from: "published", to: "draft" })}`),
        get(`/agents/${id}/runtime-config${query({ version: "published" })}`),
        get(`/agents/${id}/versions/${current.published_version}`),
        draftSide,
      ]);
      fill(summary, describeDiff(diff.data));
      const snapshot = version.data.snapshot || {};
      fill(sideBySide, diffTable(
        documentLines(published, snapshot.trainings || [], (snapshot.flow || {}).flow_config || null),
        documentLines(config, trainings, flow)));
    } catch (error) {
      fill(summary, h("p", { class: "notice error", role: "alert" }, error.message));
    }
  }

  async function loadVersions() {
    let body;
    try {
      body = await get(`/agents/${id}/versions${query({ per_page: 100 })}`);
    } catch (error) {
      fill(versions, h("p", { class: "notice error" }, error.message));
      return;
    }
    if (!body.data.length) {
      fill(versions, h("p", { class: "muted" }, "No versions yet."));
      return;
    }
    const heads = ["Version", "Published", "By", "Config hash"];
    if (canWrite()) heads.push("Actions");
    fill(versions, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, body.data.map((v) => h("tr", {},
        h("td", {}, `${v.version}${v.is_latest ? " (latest)" : ""}`),
        h("td", {}, fmtDate(v.published_at)),
        h("td", {}, (v.published_by && (v.published_by.label || v.published_by.token_id)) || ""),
        h("td", {}, h("code", {}, v.config_hash.slice(0, 12))),
        canWrite() ? h("td", {}, h("button", { type: "button", onclick: () => restore(v.version), "aria-label": `Restore version ${v.version}` }, "Restore")) : null)))));
  }

  async function restore(version) {
    if (!(await confirmDialog(`Make the draft equal to version ${version}? The draft's current changes are replaced (versions are kept).`, "Restore"))) return;
    try {
      notice(status, (await post(`/agents/${id}/versions/${version}/restore`)).message || `Draft restored from version ${version}.`);
    } catch (error) {
      notice(status, error.message, "error");
    }
    await refresh();
  }

  await refresh();
}

function describeDiff(diff) {
  if (!diff.has_changes) return h("p", { class: "notice ok" }, "The draft is the same as the published version.");
  const t = diff.trainings;
  const items = [];
  for (const x of t.added) items.push(h("li", { class: "added" }, "Training added: ", x.subject, x.node_id ? ` (${x.node_id})` : ""));
  for (const x of t.removed) items.push(h("li", { class: "removed" }, "Training removed: ", x.subject, x.node_id ? ` (${x.node_id})` : ""));
  for (const x of t.changed) items.push(h("li", { class: "changed" }, "Training changed: ", x.subject || x.id, x.fields ? ` (${[].concat(x.fields).map((f) => (typeof f === "string" ? f : f.field)).join(", ")})` : ""));
  for (const s of diff.settings) items.push(h("li", { class: "changed" }, `Setting ${s.field}: ${JSON.stringify(s.from)} → ${JSON.stringify(s.to)}`));
  if (diff.flow && diff.flow.changed) items.push(h("li", { class: "changed" }, "The flow changed"));
  const tokens = diff.tokens ? ` Prompt tokens ${diff.tokens.from} → ${diff.tokens.to} (${diff.tokens.delta >= 0 ? "+" : ""}${diff.tokens.delta}).` : "";
  return h("div", {}, h("p", {}, `Publishing would change:${tokens}`), h("ul", { class: "changes" }, items));
}

/** The text a reviewer compares: settings, the compiled prompt, every training, the flow. */
export function documentLines(config, trainings, flow) {
  const lines = ["# Settings"];
  for (const [key, value] of Object.entries(config.settings || {}).sort()) lines.push(`${key}: ${JSON.stringify(value)}`);
  lines.push("", "# System prompt", ...String(config.system_prompt || "").split("\n"));
  lines.push("", "# Trainings");
  const sorted = [...trainings].sort((a, b) => (a.node_id || "").localeCompare(b.node_id || "") || a.subject.localeCompare(b.subject));
  for (const t of sorted) {
    lines.push(`## ${t.subject}${t.node_id ? ` [${t.node_id}]` : ""} (${t.current_status}${t.pinned ? ", pinned" : ""})`);
    lines.push(...String(t.instructions).split("\n").map((l) => `  ${l}`));
  }
  lines.push("", "# Flow", ...(flow ? JSON.stringify(flow, null, 2).split("\n") : ["(none)"]));
  return lines;
}

/** Line diff (LCS on what is left after the common head and tail). */
export function diffLines(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops = a.slice(0, start).map((line) => ["=", line, line]);
  if (midA.length * midB.length > 4_000_000) {
    for (const line of midA) ops.push(["-", line, null]);
    for (const line of midB) ops.push(["+", null, line]);
  } else {
    const n = midA.length;
    const m = midB.length;
    const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) table[i][j] = midA[i] === midB[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push(["=", midA[i++], midB[j++]]);
      } else if (i < n && (j >= m || table[i + 1][j] >= table[i][j + 1])) {
        ops.push(["-", midA[i++], null]);
      } else {
        ops.push(["+", null, midB[j++]]);
      }
    }
  }
  for (let k = endA; k < a.length; k++) ops.push(["=", a[k], a[k]]);
  return ops;
}

function diffTable(left, right) {
  const ops = diffLines(left, right);
  if (!ops.some(([op]) => op !== "=")) return h("p", { class: "muted" }, "No differences.");
  // Pair each run of removals with the additions that follow it, so a changed line sits beside
  // its new text; keep three lines of context around every change.
  const rows = [];
  for (let k = 0; k < ops.length; ) {
    if (ops[k][0] === "=") {
      rows.push({ kind: "same", l: ops[k][1], r: ops[k][2] });
      k++;
      continue;
    }
    const removed = [];
    const added = [];
    while (k < ops.length && ops[k][0] === "-") removed.push(ops[k++][1]);
    while (k < ops.length && ops[k][0] === "+") added.push(ops[k++][2]);
    for (let x = 0; x < Math.max(removed.length, added.length); x++) {
      rows.push({ kind: "change", l: removed[x] ?? null, r: added[x] ?? null });
    }
  }
  const keep = rows.map(() => false);
  rows.forEach((row, index) => {
    if (row.kind !== "change") return;
    for (let d = -3; d <= 3; d++) if (rows[index + d]) keep[index + d] = true;
  });
  const body = [];
  let skipped = 0;
  const flush = () => {
    if (skipped) body.push(h("tr", { class: "skip" }, h("td", { colspan: 2 }, `… ${skipped} unchanged line${skipped === 1 ? "" : "s"}`)));
    skipped = 0;
  };
  rows.forEach((row, index) => {
    if (!keep[index]) {
      skipped++;
      return;
    }
    flush();
    const cls = (side) => (row.kind === "same" ? "same" : side === null ? "empty" : row.l === null ? "add" : row.r === null ? "del" : "mod");
    body.push(h("tr", {}, h("td", { class: `l ${cls(row.l)}` }, row.l ?? ""), h("td", { class: `r ${cls(row.r)}` }, row.r ?? "")));
  });
  flush();
  return h("table", { class: "diff", "aria-label": "Side-by-side diff" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Published"), h("th", { scope: "col" }, "Draft"))),
    h("tbody", {}, body));
}
