// The audit log (admins): who did what, when, from where; filters and pages.

import { get } from "../api";
import { filterSelect, intParam, pageHeader, pagination, searchBox, table } from "../components";
import { badge, h, time } from "../dom";
import type { AuditEntry, Page } from "../types";

const LIMIT = 50;

export async function auditPage(_p: unknown, query: URLSearchParams): Promise<HTMLElement> {
  const offset = intParam(query, "offset", 0);
  const page = await get<Page<AuditEntry>>("/audit", {
    actor: query.get("actor"),
    action: query.get("action"),
    outcome: query.get("outcome"),
    limit: LIMIT,
    offset,
  });
  return h(
    "section",
    {},
    pageHeader("Audit log"),
    h(
      "div",
      { class: "filters" },
      searchBox("Actor", "actor", query),
      searchBox("Action", "action", query),
      filterSelect("Outcome", "outcome", ["success", "failure", "denied"], query),
    ),
    table(
      [
        { label: "When", cell: (e: AuditEntry) => time(e.at) },
        { label: "Actor", cell: (e) => e.actor },
        { label: "Action", cell: (e) => h("code", {}, e.action) },
        { label: "Target", cell: (e) => e.target ?? "—" },
        { label: "Outcome", cell: (e) => badge(e.outcome) },
        { label: "From", cell: (e) => e.source ?? "—" },
        { label: "Detail", cell: (e) => (e.detail === null ? "" : h("code", { class: "detail" }, JSON.stringify(e.detail))), class: "truncate" },
      ],
      page.items,
      "No entry matches.",
      (e) => ({ "data-action": e.action }),
    ),
    pagination(page.total, LIMIT, offset, query),
  );
}
