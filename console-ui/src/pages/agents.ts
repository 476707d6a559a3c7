// Agents and (admins) their enrollment tokens: create one (shown once),
// list, revoke; revoke an agent.

import { del, get, post } from "../api";
import { actionButton, field, pageHeader, secretOnce, statusLine, table } from "../components";
import { badge, h, time } from "../dom";
import { resolve } from "../router";
import { can } from "../session";
import type { Agent, CreatedEnrollment, EnrollmentToken, Page } from "../types";

function tokenState(t: EnrollmentToken): HTMLElement {
  if (t.revoked_at) return badge("revoked");
  if (t.used_at) return badge("used");
  if (new Date(t.expires_at).getTime() < Date.now()) return badge("expired");
  return badge("unused");
}

function enrollmentSection(tokens: Page<EnrollmentToken>): HTMLElement {
  const name = h("input", { name: "name", required: true, maxlength: 200, id: "enroll-name" });
  const hours = h("input", { name: "expires", type: "number", min: 1, max: 720, value: 24, id: "enroll-hours" });
  const status = statusLine();
  const shown = h("div", { id: "enrollment-secret" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create token");
  const form = h(
    "form",
    { class: "inline-form", "aria-labelledby": "enroll-title" },
    field("Name", name),
    field("Expires in (hours)", hours),
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    status.clear();
    post<CreatedEnrollment>("/agents/enrollment-tokens", { name: name.value.trim(), expires_in_hours: Number(hours.value) })
      .then((c) => {
        name.value = "";
        shown.replaceChildren(
          secretOnce(`Enrollment token ${c.info.name}:`, c.token),
          h("p", { class: "hint" }, "On the host: ", h("code", {}, `rampart sensor --console ${location.origin} --enroll-token ${c.token}`)),
        );
        list.replaceWith((list = tokenTable([c.info, ...tokens.items], status)));
      })
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  let list = tokenTable(tokens.items, status);
  return h(
    "section",
    { class: "card wide", "aria-labelledby": "enroll-title" },
    h("h2", { id: "enroll-title" }, "Enrollment tokens"),
    h("p", {}, "A sensor spends a one-time enrollment token for its own credential."),
    form,
    status.el,
    shown,
    list,
  );
}

function tokenTable(items: EnrollmentToken[], status: ReturnType<typeof statusLine>): HTMLElement {
  return table(
    [
      { label: "Name", cell: (t: EnrollmentToken) => t.name },
      { label: "Prefix", cell: (t) => h("code", {}, t.prefix) },
      { label: "State", cell: (t) => tokenState(t) },
      { label: "Created by", cell: (t) => t.created_by },
      { label: "Expires", cell: (t) => time(t.expires_at) },
      { label: "Used", cell: (t) => (t.used_at ? [time(t.used_at), t.agent_id ? ` by agent ${t.agent_id}` : ""] : "—") },
      {
        label: "",
        cell: (t) =>
          t.revoked_at || t.used_at
            ? null
            : actionButton(
                "Revoke",
                () =>
                  del(`/agents/enrollment-tokens/${t.id}`)
                    .then(() => resolve())
                    .catch((e: unknown) => status.error(e)),
                { class: "small danger", "aria-label": `Revoke enrollment token ${t.name}` },
              ),
      },
    ],
    items,
    "No enrollment token.",
    (t) => ({ "data-token-id": String(t.id) }),
  );
}

export async function agentsPage(): Promise<HTMLElement> {
  const admin = can("admin");
  const [agents, tokens] = await Promise.all([
    get<Page<Agent>>("/agents", { limit: 200 }),
    admin ? get<Page<EnrollmentToken>>("/agents/enrollment-tokens", { limit: 200, sort: "-id" }) : Promise.resolve(null),
  ]);
  const status = statusLine();
  return h(
    "section",
    {},
    pageHeader("Agents"),
    status.el,
    h(
      "section",
      { class: "card wide", "aria-labelledby": "agents-title" },
      h("h2", { id: "agents-title" }, `Enrolled agents (${agents.total})`),
      table(
        [
          { label: "Host name", cell: (a: Agent) => a.hostname },
          { label: "Credential", cell: (a) => h("code", {}, a.prefix) },
          { label: "State", cell: (a) => (a.revoked_at ? badge("revoked") : badge("active")) },
          { label: "Enrolled", cell: (a) => time(a.created_at) },
          { label: "Last seen", cell: (a) => time(a.last_seen_at) },
          {
            label: "",
            cell: (a) =>
              admin && !a.revoked_at
                ? actionButton(
                    "Revoke",
                    () =>
                      del(`/agents/${a.id}`)
                        .then(() => resolve())
                        .catch((e: unknown) => status.error(e)),
                    { class: "small danger", "aria-label": `Revoke agent ${a.hostname}` },
                  )
                : null,
          },
        ],
        agents.items,
        "No agent enrolled yet.",
      ),
    ),
    tokens ? enrollmentSection(tokens) : null,
  );
}
