// Dashboard: nodes by type, open findings by kind and severity, recent scans.

import { get } from "../api";
import { pageHeader, table } from "../components";
import { badge, h, time } from "../dom";
import { FINDING_KINDS, NODE_TYPES, SEVERITIES, type Page, type Scan } from "../types";

async function total(path: string, query: Record<string, string>): Promise<number> {
  const p = await get<Page<unknown>>(path, { ...query, limit: 1 });
  return p.total;
}

export async function dashboardPage(): Promise<HTMLElement> {
  const [nodeCounts, findingCounts, scans] = await Promise.all([
    Promise.all(NODE_TYPES.map((t) => total("/nodes", { type: t }))),
    Promise.all(
      FINDING_KINDS.map((k) => Promise.all(SEVERITIES.map((s) => total("/findings", { kind: k, severity: s })))),
    ),
    get<Page<Scan>>("/scans", { limit: 5 }),
  ]);

  const nodesCard = h(
    "section",
    { class: "card", "aria-labelledby": "dash-nodes" },
    h("h2", { id: "dash-nodes" }, "Nodes"),
    h(
      "ul",
      { class: "stats" },
      NODE_TYPES.map((t, i) =>
        h(
          "li",
          { "data-node-type": t },
          h("a", { href: `/nodes?type=${t}` }, h("span", { class: "num" }, nodeCounts[i] ?? 0), h("span", { class: "label" }, t)),
        ),
      ),
    ),
  );

  const kindTotals = findingCounts.map((row) => row.reduce((a, b) => a + b, 0));
  const findingsCard = h(
    "section",
    { class: "card span2", "aria-labelledby": "dash-findings" },
    h("h2", { id: "dash-findings" }, "Open findings"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "matrix", id: "findings-matrix" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, "Kind"), SEVERITIES.map((s) => h("th", { scope: "col" }, s)), h("th", { scope: "col" }, "Total")),
        ),
        h(
          "tbody",
          {},
          FINDING_KINDS.map((k, i) =>
            h(
              "tr",
              { "data-kind": k },
              h("th", { scope: "row" }, h("a", { href: `/findings?kind=${k}` }, k)),
              SEVERITIES.map((s, j) => {
                const n = findingCounts[i]?.[j] ?? 0;
                return h(
                  "td",
                  { class: n ? `num sev-cell sev-${s}` : "num muted", "data-severity": s },
                  n ? h("a", { href: `/findings?kind=${k}&severity=${s}` }, n) : "0",
                );
              }),
              h("td", { class: "num total" }, kindTotals[i] ?? 0),
            ),
          ),
        ),
      ),
    ),
  );

  const scansCard = h(
    "section",
    { class: "card wide", "aria-labelledby": "dash-scans" },
    h("h2", { id: "dash-scans" }, "Recent scans ", h("a", { href: "/scans", class: "more" }, "all scans")),
    table(
      [
        { label: "Scan", cell: (s: Scan) => h("a", { href: `/scans/${s.id}` }, `#${s.id}`) },
        { label: "State", cell: (s) => badge(s.state) },
        { label: "Targets", cell: (s) => s.targets.join(", ") },
        { label: "Requested", cell: (s) => time(s.created_at) },
      ],
      scans.items,
      "No scan yet.",
    ),
  );

  return h("section", {}, pageHeader("Dashboard"), h("div", { class: "grid" }, nodesCard, findingsCard, scansCard));
}
