// The flow as a graph: nodes in layers by their distance from the initial node, arrows for `next`
// and each branch, and under each node the trainings that reach it (by node_id). Drawn as SVG by
// script, with a text list of the same graph for screen readers.

import { allTrainings, get } from "./api.js";
import { h, svg } from "./dom.js";

const NODE_W = 220;
const GAP_X = 40;
const GAP_Y = 70;
const LINE = 16;
const MAX_LISTED = 4;

export function targets(node) {
  const out = [];
  if (typeof node.next === "string" && node.next.trim()) out.push({ to: node.next.trim(), label: "" });
  for (const branch of Array.isArray(node.branches) ? node.branches : []) {
    if (branch && typeof branch.next === "string" && branch.next.trim()) out.push({ to: branch.next.trim(), label: String(branch.match ?? "") });
  }
  return out;
}

export async function flowTab(panel, agent) {
  panel.append(h("h2", {}, "Flow"));
  let flow;
  let trainings;
  try {
    [flow, trainings] = await Promise.all([get(`/agents/${encodeURIComponent(agent.id)}/flow`), allTrainings(agent.id)]);
  } catch (error) {
    panel.append(h("p", { class: "notice error", role: "alert" }, error.message));
    return;
  }
  const config = flow.data.flow_config;
  panel.append(h("p", {}, `Conversation mode: ${flow.data.conversation_mode}. Edit the flow in Settings → Flow.`));
  if (!config || !Array.isArray(config.nodes) || !config.nodes.length) {
    panel.append(h("p", { class: "muted" }, "This agent has no flow: the LLM drives the whole call with the compiled prompt."));
    return;
  }
  const byNode = new Map();
  for (const t of trainings) {
    if (!t.node_id) continue;
    if (!byNode.has(t.node_id)) byNode.set(t.node_id, []);
    byNode.get(t.node_id).push(t);
  }
  panel.append(drawFlow(config, byNode), describeFlow(config, byNode));
}

function layers(config) {
  const ids = config.nodes.map((n) => String(n.id));
  const nodes = new Map(config.nodes.map((n) => [String(n.id), n]));
  const depth = new Map();
  const start = nodes.has(config.initial_node_id) ? config.initial_node_id : ids[0];
  const queue = [start];
  depth.set(start, 0);
  while (queue.length) {
    const id = queue.shift();
    for (const { to } of targets(nodes.get(id))) {
      if (nodes.has(to) && !depth.has(to)) {
        depth.set(to, depth.get(id) + 1);
        queue.push(to);
      }
    }
  }
  let unreachable = Math.max(0, ...depth.values()) + 1;
  for (const id of ids) if (!depth.has(id)) depth.set(id, unreachable);
  const rows = [];
  for (const id of ids) {
    const d = depth.get(id);
    (rows[d] = rows[d] || []).push(id);
  }
  return { nodes, rows: rows.filter(Boolean), start };
}

function drawFlow(config, byNode) {
  const { nodes, rows, start } = layers(config);
  const heightOf = (id) => 44 + Math.min((byNode.get(id) || []).length, MAX_LISTED + 1) * LINE;
  const widest = Math.max(...rows.map((r) => r.length));
  const width = widest * (NODE_W + GAP_X) + GAP_X;
  const place = new Map();
  let y = 20;
  for (const row of rows) {
    const rowH = Math.max(...row.map(heightOf));
    const offset = (width - row.length * (NODE_W + GAP_X) + GAP_X) / 2;
    row.forEach((id, i) => place.set(id, { x: offset + i * (NODE_W + GAP_X), y, h: heightOf(id) }));
    y += rowH + GAP_Y;
  }
  const edges = [];
  for (const [id, node] of nodes) {
    const from = place.get(id);
    for (const { to, label } of targets(node)) {
      const dest = place.get(to);
      if (!dest) continue;
      const x1 = from.x + NODE_W / 2;
      const y1 = from.y + from.h;
      const x2 = dest.x + NODE_W / 2;
      const y2 = dest.y;
      let d;
      if (y2 > y1) {
        d = `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2 - 4}`;
      } else if (dest.y === from.y) {
        // A neighbour in the same layer: side to side.
        const right = dest.x > from.x;
        const sx = right ? from.x + NODE_W : from.x;
        const ex = right ? dest.x - 4 : dest.x + NODE_W + 4;
        d = `M${sx},${from.y + 22} L${ex},${dest.y + 22}`;
      } else {
        // Back to an earlier layer: loop out on the right.
        d = `M${from.x + NODE_W},${from.y + 20} C${from.x + NODE_W + 60},${from.y - 30} ${x2 + 60},${y2 - 30} ${x2},${y2 - 4}`;
      }
      edges.push(svg("g", { class: "edge" },
        svg("path", { d, "marker-end": "url(#arrow)" }),
        label ? svg("text", { x: (x1 + x2) / 2 + 6, y: (y1 + y2) / 2, class: "edge-label" }, label) : null));
    }
  }
  const boxes = [];
  for (const [id, node] of nodes) {
    const p = place.get(id);
    const attached = byNode.get(id) || [];
    const lines = attached.slice(0, MAX_LISTED).map((t, i) =>
      svg("text", { x: p.x + 10, y: p.y + 52 + i * LINE, class: `training ${t.current_status}` }, `• ${clip(t.subject, 30)}${t.current_status === "inactive" ? " (inactive)" : ""}`));
    if (attached.length > MAX_LISTED) lines.push(svg("text", { x: p.x + 10, y: p.y + 52 + MAX_LISTED * LINE, class: "training more" }, `+ ${attached.length - MAX_LISTED} more`));
    boxes.push(svg("g", { class: `node ${node.type || ""}${id === start ? " initial" : ""}`, "data-node-id": id },
      svg("rect", { x: p.x, y: p.y, width: NODE_W, height: p.h, rx: 8 }),
      svg("text", { x: p.x + 10, y: p.y + 20, class: "node-id" }, clip(id, 28)),
      svg("text", { x: p.x + 10, y: p.y + 36, class: "node-type" }, `${node.type || "?"}${id === start ? " · start" : ""}`),
      lines));
  }
  return h("div", { class: "graph-wrap" }, svg("svg", { class: "flow-graph", id: "flow-graph", viewBox: `0 0 ${width} ${y}`, width, height: y, role: "img", "aria-label": `Flow graph with ${nodes.size} nodes` },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z" }))),
    edges, boxes));
}

function describeFlow(config, byNode) {
  return h("details", { class: "flow-list" }, h("summary", {}, "The flow as a list"),
    h("ul", {}, config.nodes.map((node) => {
      const outs = targets(node).map((t) => (t.label ? `${t.label} → ${t.to}` : `→ ${t.to}`));
      const attached = (byNode.get(String(node.id)) || []).map((t) => t.subject);
      return h("li", {}, h("code", {}, String(node.id)), ` (${node.type}) `, outs.join(", "),
        attached.length ? h("span", { class: "muted" }, ` · trainings: ${attached.join("; ")}`) : null);
    })));
}

const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
