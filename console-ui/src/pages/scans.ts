// Scans: queue one, list them (state filter, pages), cancel, and one scan's
// detail with its difference from the previous scan of the same targets.

import { ApiError, get, post } from "../api";
import { actionButton, errorBox, field, filterSelect, intParam, pageHeader, pagination, statusLine, table } from "../components";
import { badge, h, severity, time } from "../dom";
import { navigate, resolve } from "../router";
import { can } from "../session";
import { SCANNERS, SCAN_STATES, type Finding, type Page, type Scan, type ScanDiff } from "../types";

const LIMIT = 25;

/** Targets, node ids as links to their node. */
function targets(s: Scan): HTMLElement {
  return h(
    "span",
    {},
    s.targets.map((t, i) => [i ? ", " : "", /^\d+$/.test(t) ? h("a", { href: `/nodes/${t}` }, `node ${t}`) : t]),
  );
}

function isFinal(s: Scan): boolean {
  return s.state !== "queued" && s.state !== "running";
}

function cancelButton(s: Scan, onError: (e: unknown) => void): HTMLElement | null {
  if (isFinal(s) || !can("standard")) return null;
  return actionButton(
    "Cancel",
    () =>
      post(`/scans/${s.id}/cancel`, { reason: "cancelled from the console UI" })
        .then(() => resolve())
        .catch(onError),
    { class: "small danger", "data-action": "cancel", "aria-label": `Cancel scan ${s.id}` },
  );
}

function queueForm(onQueued: (s: Scan) => void): HTMLElement {
  const targets = h("textarea", { name: "targets", rows: 2, required: true, placeholder: "node id or target, one per line", id: "scan-targets" });
  const boxes = SCANNERS.map((s) => h("input", { type: "checkbox", name: "scanners", value: s, checked: true }));
  const timeout = h("input", { type: "number", name: "timeout", min: 60, max: 86400, value: 3600, id: "scan-timeout" });
  const status = statusLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Queue scan");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "queue-title", id: "queue-scan" },
    h("h2", { id: "queue-title" }, "Queue a scan"),
    field("Targets", targets, "Node ids or target specifications (image:..., dir:...), one per line."),
    h(
      "fieldset",
      { class: "inline" },
      h("legend", {}, "Scanners"),
      SCANNERS.map((s, i) => h("label", { class: "choice" }, boxes[i], ` ${s}`)),
    ),
    field("Time limit (seconds)", timeout),
    status.el,
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const list = targets.value
      .split(/[\n,]/)
      .map((t) => t.trim())
      .filter(Boolean);
    const scanners = boxes.filter((b) => b.checked).map((b) => b.value);
    if (scanners.length === 0) {
      status.error(new Error("choose at least one scanner"));
      return;
    }
    submit.disabled = true;
    post<Scan>("/scans", { targets: list, scanners, timeout_secs: Number(timeout.value) })
      .then((s) => {
        targets.value = "";
        onQueued(s);
      })
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

export async function scansPage(_p: unknown, query: URLSearchParams): Promise<HTMLElement> {
  const offset = intParam(query, "offset", 0);
  const page = await get<Page<Scan>>("/scans", { state: query.get("state"), limit: LIMIT, offset });
  const status = statusLine();
  return h(
    "section",
    {},
    pageHeader("Scans"),
    can("standard") ? queueForm(() => resolve()) : null,
    h("div", { class: "filters" }, filterSelect("State", "state", SCAN_STATES, query)),
    status.el,
    table(
      [
        { label: "Scan", cell: (s: Scan) => h("a", { href: `/scans/${s.id}` }, `#${s.id}`) },
        { label: "State", cell: (s) => badge(s.state) },
        { label: "Targets", cell: (s) => targets(s), class: "truncate" },
        { label: "Scanners", cell: (s) => s.scanners.join(", ") },
        { label: "Requested by", cell: (s) => s.requested_by },
        { label: "Requested", cell: (s) => time(s.created_at) },
        { label: "Finished", cell: (s) => time(s.finished_at) },
        { label: "Reason", cell: (s) => s.reason ?? "" },
        { label: "", cell: (s) => cancelButton(s, (e) => status.error(e)) },
      ],
      page.items,
      "No scan matches.",
      (s) => ({ "data-scan-id": String(s.id), "data-state": s.state }),
    ),
    pagination(page.total, LIMIT, offset, query),
  );
}

function findingRows(items: Finding[], empty: string): HTMLElement {
  return table(
    [
      { label: "Severity", cell: (f: Finding) => severity(f.severity) },
      { label: "Kind", cell: (f) => f.kind },
      { label: "Rule", cell: (f) => h("code", {}, f.rule_id) },
      { label: "Title", cell: (f) => f.title },
      { label: "Node", cell: (f) => h("a", { href: `/nodes/${f.node_id}` }, `node ${f.node_id}`) },
    ],
    items,
    empty,
  );
}

async function diffSection(s: Scan, against: string | null): Promise<HTMLElement> {
  if (s.state !== "succeeded") {
    return h("p", { class: "empty" }, "Only a succeeded scan can be compared.");
  }
  try {
    const d = await get<ScanDiff>(`/scans/${s.id}/diff`, { against, limit: 100 });
    return h(
      "div",
      { id: "scan-diff" },
      h("p", {}, "Compared with ", h("a", { href: `/scans/${d.against}` }, `scan #${d.against}`), `: ${d.added_total} added, ${d.removed_total} removed, ${d.unchanged_total} unchanged.`),
      h("h3", {}, `Added (${d.added_total})`),
      findingRows(d.added, "Nothing new."),
      h("h3", {}, `Removed (${d.removed_total})`),
      findingRows(d.removed, "Nothing went away."),
    );
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 409)) {
      return h("p", { class: "empty" }, err.message);
    }
    return errorBox(err);
  }
}

export async function scanPage(params: { id?: string }, query: URLSearchParams): Promise<HTMLElement> {
  const id = Number.parseInt(params.id ?? "", 10);
  if (!Number.isFinite(id)) throw new Error("not a scan id");
  const s = await get<Scan>(`/scans/${id}`);
  const status = statusLine();
  const against = h("input", { type: "number", name: "against", min: 1, value: query.get("against") ?? "", id: "diff-against" });
  const compare = h(
    "form",
    {
      class: "inline",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        navigate(`/scans/${id}${against.value ? `?against=${encodeURIComponent(against.value)}` : ""}`);
      },
    },
    field("Compare with scan (default: the previous one)", against),
    h("button", { type: "submit" }, "Compare"),
  );
  return h(
    "section",
    {},
    pageHeader(`Scan #${s.id}`, badge(s.state), cancelButton(s, (e) => status.error(e))),
    status.el,
    h(
      "div",
      { class: "grid" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Scan"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Targets"),
          h("dd", {}, targets(s)),
          h("dt", {}, "Scanners"),
          h("dd", {}, s.scanners.join(", ")),
          h("dt", {}, "Requested by"),
          h("dd", {}, s.requested_by),
          h("dt", {}, "Runner"),
          h("dd", {}, s.runner ?? "—"),
          h("dt", {}, "Attempts"),
          h("dd", {}, `${s.attempts} of ${s.max_attempts}`),
          h("dt", {}, "Time limit"),
          h("dd", {}, `${s.timeout_secs} s`),
          h("dt", {}, "Reason"),
          h("dd", {}, s.reason ?? "—"),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Times"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Requested"),
          h("dd", {}, time(s.created_at)),
          h("dt", {}, "Started"),
          h("dd", {}, time(s.started_at)),
          h("dt", {}, "Last heartbeat"),
          h("dd", {}, time(s.heartbeat_at)),
          h("dt", {}, "Finished"),
          h("dd", {}, time(s.finished_at)),
        ),
      ),
      h("section", { class: "card wide" }, h("h2", {}, "Difference"), compare, await diffSection(s, query.get("against"))),
    ),
  );
}
