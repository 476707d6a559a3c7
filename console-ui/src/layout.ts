// A layered layout for the topology graph: one row per node type, nodes
// ordered within a row by the mean position of their neighbours in the rows
// above (one barycentre pass, which removes most edge crossings).

export interface LayoutNode {
  id: number;
  type: string;
}

export interface LayoutEdge {
  source: number;
  target: number;
}

export interface Placed {
  x: number;
  y: number;
}

export interface Layout {
  positions: Map<number, Placed>;
  width: number;
  height: number;
  rows: Array<{ type: string; y: number; count: number }>;
}

/** The order of the rows, top to bottom; other types come after, by name. */
export const LAYER_ORDER = ["internet", "ingress", "service", "host", "namespace", "pod", "container", "process", "image"];

export const GAP_X = 120;
export const GAP_Y = 110;
export const MARGIN = 70;

export function layered(nodes: LayoutNode[], edges: LayoutEdge[]): Layout {
  const types = [...new Set(nodes.map((n) => n.type))].sort((a, b) => {
    const ia = LAYER_ORDER.indexOf(a);
    const ib = LAYER_ORDER.indexOf(b);
    return (ia < 0 ? LAYER_ORDER.length : ia) - (ib < 0 ? LAYER_ORDER.length : ib) || a.localeCompare(b);
  });
  const neighbours = new Map<number, number[]>();
  for (const e of edges) {
    if (e.source === e.target) continue;
    neighbours.set(e.source, [...(neighbours.get(e.source) ?? []), e.target]);
    neighbours.set(e.target, [...(neighbours.get(e.target) ?? []), e.source]);
  }
  const order = new Map<number, number>();
  const rowsOfNodes = types.map((t) => nodes.filter((n) => n.type === t));
  rowsOfNodes.forEach((row) => {
    const keyed = row.map((n, i) => {
      const placed = (neighbours.get(n.id) ?? []).map((m) => order.get(m)).filter((v): v is number => v !== undefined);
      const bary = placed.length ? placed.reduce((a, b) => a + b, 0) / placed.length : Number.POSITIVE_INFINITY;
      return { n, bary, i };
    });
    keyed.sort((a, b) => a.bary - b.bary || a.i - b.i);
    const widest = Math.max(...rowsOfNodes.map((r) => r.length));
    const offset = (widest - keyed.length) / 2;
    keyed.forEach((k, i) => order.set(k.n.id, i + offset));
  });
  const widest = Math.max(1, ...rowsOfNodes.map((r) => r.length));
  const positions = new Map<number, Placed>();
  const rows = types.map((type, r) => ({ type, y: MARGIN + r * GAP_Y, count: rowsOfNodes[r]?.length ?? 0 }));
  for (const row of rowsOfNodes) {
    for (const n of row) {
      const r = types.indexOf(n.type);
      positions.set(n.id, { x: MARGIN + 60 + (order.get(n.id) ?? 0) * GAP_X, y: MARGIN + r * GAP_Y });
    }
  }
  return {
    positions,
    width: MARGIN * 2 + 60 + (widest - 1) * GAP_X + 40,
    height: MARGIN * 2 + Math.max(0, types.length - 1) * GAP_Y,
    rows,
  };
}
