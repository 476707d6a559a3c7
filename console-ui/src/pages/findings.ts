// Findings: filters (kind, severity, status, node), pages, and suppression
// of a rule on one node or everywhere, with a reason.

import { get, post } from "../api";
import { field, filterSelect, intParam, pageHeader, pagination, statusLine, table } from "../components";
import { badge, h, severity, time } from "../dom";
import { resolve } from "../router";
import { can } from "../session";
import { FINDING_KINDS, SEVERITIES, type Finding, type NodeRecord, type Page } from "../types";

const LIMIT = 25;

function suppressDialog(f: Finding, nodeName: string, done: () => void): HTMLDialogElement {
  const reason = h("textarea", { name: "reason", required: true, rows: 3, maxlength: 1000, id: "suppress-reason" });
  const scopeNode = h("input", { type: "radio", name: "scope", value: "node", checked: true, id: "scope-node" });
  const scopeAll = h("input", { type: "radio", name: "scope", value: "all", id: "scope-all" });
  const status = statusLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Suppress");
  const cancel = h("button", { type: "button" }, "Cancel");
  const dialog = h(
    "dialog",
    { "aria-labelledby": "suppress-title", class: "dialog" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "suppress-title" }, "Suppress ", h("code", {}, f.rule_id)),
      h("p", {}, "Suppressed findings leave the lists and the totals; they stay stored, and the suppression is audited."),
      h(
        "fieldset",
        {},
        h("legend", {}, "Where"),
        h("label", { class: "choice" }, scopeNode, ` on ${nodeName} only`),
        h("label", { class: "choice" }, scopeAll, " on every node"),
      ),
      field("Reason (required)", reason),
      status.el,
      h("div", { class: "actions" }, cancel, submit),
    ),
  );
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  dialog.querySelector("form")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) {
      status.error(new Error("give a reason"));
      return;
    }
    submit.disabled = true;
    post("/suppressions", {
      rule_id: f.rule_id,
      node_id: scopeAll.checked ? null : f.node_id,
      reason: reason.value.trim(),
    })
      .then(() => {
        dialog.close();
        done();
      })
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  return dialog;
}

export async function findingsPage(_p: unknown, query: URLSearchParams): Promise<HTMLElement> {
  const offset = intParam(query, "offset", 0);
  const page = await get<Page<Finding>>("/findings", {
    kind: query.get("kind"),
    severity: query.get("severity"),
    status: query.get("status"),
    node: query.get("node"),
    rule_id: query.get("rule_id"),
    suppressed: query.get("suppressed"),
    limit: LIMIT,
    offset,
  });
  const ids = [...new Set(page.items.map((f) => f.node_id))];
  const nodes = new Map<number, NodeRecord>();
  await Promise.all(
    ids.map((id) =>
      get<NodeRecord>(`/nodes/${id}`)
        .then((n) => nodes.set(id, n))
        .catch(() => undefined),
    ),
  );
  const nodeName = (id: number): string => nodes.get(id)?.name ?? `node ${id}`;
  const status = statusLine();
  const nodeFilter = query.get("node");
  const mayMask = can("standard");
  const view = h(
    "section",
    {},
    pageHeader("Findings"),
    h(
      "div",
      { class: "filters" },
      filterSelect("Kind", "kind", FINDING_KINDS, query),
      filterSelect("Severity", "severity", SEVERITIES, query),
      filterSelect("Status", "status", ["open", "fixed", "all"], query, "open"),
      filterSelect("Suppressed", "suppressed", ["true", "all"], query, "hidden"),
      nodeFilter ? h("p", { class: "chip" }, `Node: ${nodeName(Number(nodeFilter))} `, h("a", { href: "/findings", "aria-label": "Clear the node filter" }, "×")) : null,
    ),
    status.el,
    table(
      [
        { label: "Severity", cell: (f: Finding) => severity(f.severity) },
        { label: "Kind", cell: (f) => f.kind },
        { label: "Rule", cell: (f) => h("code", {}, f.rule_id) },
        { label: "Title", cell: (f) => [f.title, f.suppressed ? [" ", badge("suppressed")] : null] },
        { label: "Node", cell: (f) => h("a", { href: `/nodes/${f.node_id}` }, nodeName(f.node_id)) },
        { label: "Status", cell: (f) => badge(f.status) },
        { label: "Last seen", cell: (f) => time(f.last_seen) },
        ...(mayMask
          ? [
              {
                label: "Actions",
                cell: (f: Finding) =>
                  f.suppressed
                    ? null
                    : h(
                        "button",
                        {
                          type: "button",
                          class: "small",
                          "data-action": "suppress",
                          "aria-label": `Suppress ${f.rule_id} on ${nodeName(f.node_id)}`,
                          onclick: () => {
                            const d = suppressDialog(f, nodeName(f.node_id), () => {
                              status.ok(`${f.rule_id} suppressed.`);
                              resolve();
                            });
                            document.body.appendChild(d);
                            d.showModal();
                          },
                        },
                        "Suppress",
                      ),
              },
            ]
          : []),
      ],
      page.items,
      "No finding matches.",
      (f) => ({ "data-finding-id": String(f.id), "data-rule": f.rule_id, "data-severity": f.severity }),
    ),
    pagination(page.total, LIMIT, offset, query),
  );
  return view;
}
