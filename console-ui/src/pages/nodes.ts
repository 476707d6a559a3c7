// Nodes: the list (type filter, search, pages) and one node's detail.

import { get } from "../api";
import { filterSelect, intParam, pageHeader, pagination, searchBox, table } from "../components";
import { badge, h, time } from "../dom";
import { NODE_TYPES, SEVERITIES, type JsonValue, type NodeDetail, type NodeRecord, type Page } from "../types";

const LIMIT = 50;

export function nodeLink(n: { id: number; name: string }): HTMLElement {
  return h("a", { href: `/nodes/${n.id}` }, n.name || `node ${n.id}`);
}

export async function nodesPage(_p: unknown, query: URLSearchParams): Promise<HTMLElement> {
  const offset = intParam(query, "offset", 0);
  const page = await get<Page<NodeRecord>>("/nodes", {
    type: query.get("type"),
    q: query.get("q"),
    active: query.get("active"),
    sort: "name",
    limit: LIMIT,
    offset,
  });
  return h(
    "section",
    {},
    pageHeader("Nodes"),
    h(
      "div",
      { class: "filters" },
      filterSelect("Type", "type", NODE_TYPES, query),
      filterSelect("State", "active", ["true", "false"], query),
      searchBox("Name contains", "q", query),
    ),
    table(
      [
        { label: "Name", cell: (n: NodeRecord) => nodeLink(n) },
        { label: "Type", cell: (n) => n.type },
        { label: "State", cell: (n) => (n.active ? badge("active") : badge("inactive")) },
        { label: "Key", cell: (n) => h("code", {}, n.key), class: "truncate" },
        { label: "Last seen", cell: (n) => time(n.last_seen) },
      ],
      page.items,
      "No node matches.",
      (n) => ({ "data-node-id": String(n.id) }),
    ),
    pagination(page.total, LIMIT, offset, query),
  );
}

function renderValue(v: JsonValue): HTMLElement | string {
  if (v === null) return "—";
  if (typeof v === "object") return h("pre", { class: "json" }, JSON.stringify(v, null, 2));
  return String(v);
}

export async function nodePage(params: { id?: string }): Promise<HTMLElement> {
  const id = Number.parseInt(params.id ?? "", 10);
  if (!Number.isFinite(id)) throw new Error("not a node id");
  const [node, children] = await Promise.all([
    get<NodeDetail>(`/nodes/${id}`),
    get<Page<NodeRecord>>("/nodes", { parent: id, limit: 100, sort: "name" }),
  ]);
  const parent = node.parent_id !== null ? await get<NodeRecord>(`/nodes/${node.parent_id}`).catch(() => null) : null;
  const attrs = Object.entries(node.attributes ?? {});
  const kinds = Object.keys(node.findings.by_kind).sort();
  return h(
    "section",
    {},
    pageHeader(node.name || `node ${node.id}`, badge(node.type, "type"), node.active ? badge("active") : badge("inactive")),
    h(
      "div",
      { class: "grid" },
      h(
        "section",
        { class: "card", "aria-labelledby": "node-facts" },
        h("h2", { id: "node-facts" }, "Node"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Key"),
          h("dd", {}, h("code", {}, node.key)),
          h("dt", {}, "Parent"),
          h("dd", {}, parent ? nodeLink(parent) : "—"),
          h("dt", {}, "First seen"),
          h("dd", {}, time(node.first_seen)),
          h("dt", {}, "Last seen"),
          h("dd", {}, time(node.last_seen)),
        ),
      ),
      h(
        "section",
        { class: "card span2", "aria-labelledby": "node-findings" },
        h("h2", { id: "node-findings" }, "Findings ", h("a", { href: `/findings?node=${node.id}`, class: "more" }, "list")),
        h("p", {}, `${node.findings.total} open`, node.findings.suppressed ? `, ${node.findings.suppressed} suppressed` : ""),
        kinds.length
          ? table(
              [
                { label: "Kind", cell: (k: string) => h("a", { href: `/findings?node=${node.id}&kind=${k}` }, k) },
                ...SEVERITIES.map((s) => ({ label: s, cell: (k: string) => node.findings.by_kind[k]?.[s] ?? 0, class: "num" })),
              ],
              kinds,
              "",
            )
          : h("p", { class: "empty" }, "No open finding."),
      ),
      h(
        "section",
        { class: "card wide", "aria-labelledby": "node-attrs" },
        h("h2", { id: "node-attrs" }, "Attributes"),
        attrs.length
          ? h("dl", { class: "facts" }, attrs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, renderValue(v))]))
          : h("p", { class: "empty" }, "No attribute reported."),
      ),
      children.total
        ? h(
            "section",
            { class: "card wide", "aria-labelledby": "node-children" },
            h("h2", { id: "node-children" }, `Children (${children.total})`),
            table(
              [
                { label: "Name", cell: (n: NodeRecord) => nodeLink(n) },
                { label: "Type", cell: (n) => n.type },
                { label: "State", cell: (n) => (n.active ? badge("active") : badge("inactive")) },
              ],
              children.items,
              "",
            ),
          )
        : null,
    ),
  );
}
