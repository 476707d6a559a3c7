// Topology: nodes and edges from GET /api/v1/graph/topology, drawn as SVG
// with the layered layout; a node opens its detail page.

import { ApiError, get } from "../api";
import { pageHeader } from "../components";
import { h, s } from "../dom";
import { layered } from "../layout";
import { navigate } from "../router";
import type { NodeRecord, Topology } from "../types";

const MAX_LABEL = 18;

function label(n: NodeRecord): string {
  const name = n.name || `${n.type} ${n.id}`;
  return name.length > MAX_LABEL ? `${name.slice(0, MAX_LABEL - 1)}…` : name;
}

function draw(t: Topology): SVGSVGElement {
  const layout = layered(t.nodes, t.edges);
  const known = new Set(t.nodes.map((n) => n.id));
  const svg = s("svg", {
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: "group",
    "aria-label": `Topology: ${t.nodes.length} nodes, ${t.edges.length} edges`,
    class: "topology",
  });
  svg.append(
    ...layout.rows.map((r) => s("text", { x: 8, y: r.y + 4, class: "row-label" }, `${r.type} (${r.count})`)),
  );
  const edges = s("g", { class: "edges" });
  for (const e of t.edges) {
    if (!known.has(e.source) || !known.has(e.target)) continue;
    const a = layout.positions.get(e.source);
    const b = layout.positions.get(e.target);
    if (!a || !b) continue;
    edges.append(
      s(
        "line",
        {
          x1: a.x,
          y1: a.y,
          x2: b.x,
          y2: b.y,
          class: `edge kind-${e.kind.replace(/[^a-z-]/g, "")}${e.active ? "" : " inactive"}`,
          "data-edge-id": e.id,
        },
        s("title", {}, `${e.kind}${e.active ? "" : " (inactive)"}`),
      ),
    );
  }
  const nodes = s("g", { class: "nodes" });
  for (const n of t.nodes) {
    const p = layout.positions.get(n.id);
    if (!p) continue;
    const open = (): void => navigate(`/nodes/${n.id}`);
    const g = s(
      "g",
      {
        class: `node type-${n.type.replace(/[^a-z]/g, "")}${n.active ? "" : " inactive"}`,
        transform: `translate(${p.x} ${p.y})`,
        tabindex: 0,
        role: "link",
        "aria-label": `${n.type} ${n.name}`,
        "data-node-id": n.id,
        onclick: open,
        onkeydown: (ev: Event) => {
          const k = (ev as KeyboardEvent).key;
          if (k === "Enter" || k === " ") {
            ev.preventDefault();
            open();
          }
        },
      },
      s("title", {}, `${n.type}: ${n.name}${n.active ? "" : " (inactive)"}`),
      s("circle", { r: 16 }),
      s("text", { y: 32, class: "label" }, label(n)),
    );
    nodes.append(g);
  }
  svg.append(edges, nodes);
  return svg;
}

export async function topologyPage(): Promise<HTMLElement> {
  let t: Topology;
  try {
    t = await get<Topology>("/graph/topology");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      return h(
        "section",
        {},
        pageHeader("Topology"),
        h("p", { class: "alert info", role: "status", id: "topology-unavailable" }, "This console does not serve the topology graph yet (GET /api/v1/graph/topology answered 404). Nodes are listed on the ", h("a", { href: "/nodes" }, "Nodes"), " page."),
      );
    }
    throw err;
  }
  const types = [...new Set(t.nodes.map((n) => n.type))].sort();
  return h(
    "section",
    {},
    pageHeader("Topology", h("span", { class: "muted" }, `${t.nodes.length} nodes, ${t.edges.length} edges`)),
    t.truncated ? h("p", { class: "alert info", role: "status" }, "The graph is larger than one answer: only part of it is drawn.") : null,
    t.nodes.length === 0
      ? h("p", { class: "empty" }, "No node reported yet.")
      : [
          h("ul", { class: "legend", "aria-label": "Node types" }, types.map((ty) => h("li", { class: `type-${ty.replace(/[^a-z]/g, "")}` }, ty))),
          h("div", { class: "topology-wrap" }, draw(t)),
        ],
  );
}
