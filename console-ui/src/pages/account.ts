// The caller's own account: change the password, and API tokens (create,
// shown once; list; revoke).

import { del, get, post, request } from "../api";
import { actionButton, field, pageHeader, secretOnce, statusLine, table } from "../components";
import { badge, h, time } from "../dom";
import { me } from "../session";
import { ROLES, type Page, type Token } from "../types";

interface CreatedToken {
  token: string;
  info: Token;
}

function passwordForm(): HTMLElement {
  const current = h("input", { type: "password", name: "current", required: true, autocomplete: "current-password", id: "pw-current" });
  const next = h("input", { type: "password", name: "new", required: true, minlength: 12, autocomplete: "new-password", id: "pw-new" });
  const status = statusLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Change password");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "pw-title", id: "password-form" },
    h("h2", { id: "pw-title" }, "Password"),
    h("p", { class: "hint" }, "Changing it ends your other sessions and revokes your API tokens."),
    field("Current password", current),
    field("New password (12 characters or more)", next),
    status.el,
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    request<unknown>("PUT", "/auth/password", { body: { current_password: current.value, new_password: next.value } })
      .then(() => {
        current.value = "";
        next.value = "";
        status.ok("Password changed.");
      })
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

function tokenForm(shown: HTMLElement, status: ReturnType<typeof statusLine>, created: () => void): HTMLElement {
  const name = h("input", { name: "name", required: true, maxlength: 200, id: "token-name" });
  const scope = h(
    "select",
    { name: "scope", id: "token-scope" },
    h("option", { value: "" }, "my role"),
    ROLES.map((r) => h("option", { value: r }, r)),
  );
  const days = h("input", { type: "number", name: "days", min: 1, max: 3650, placeholder: "never", id: "token-days" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create token");
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "New API token" },
    field("Name", name),
    field("Scope", scope),
    field("Expires in (days)", days),
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    status.clear();
    post<CreatedToken>("/tokens", {
      name: name.value.trim(),
      scope: scope.value || null,
      expires_in_days: days.value ? Number(days.value) : null,
    })
      .then((c) => {
        name.value = "";
        shown.replaceChildren(secretOnce(`API token ${c.info.name}:`, c.token));
        created();
      })
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

function tokenTable(tokens: Token[], status: ReturnType<typeof statusLine>, changed: () => void): HTMLElement {
  return table(
    [
      { label: "Name", cell: (t: Token) => t.name },
      { label: "Prefix", cell: (t) => h("code", {}, t.prefix) },
      { label: "Scope", cell: (t) => t.scope ?? "role" },
      { label: "State", cell: (t) => (t.revoked_at ? badge("revoked") : badge("active")) },
      { label: "Created", cell: (t) => time(t.created_at) },
      { label: "Expires", cell: (t) => time(t.expires_at) },
      { label: "Last used", cell: (t) => time(t.last_used_at) },
      {
        label: "",
        cell: (t) =>
          t.revoked_at
            ? null
            : actionButton(
                "Revoke",
                () =>
                  del(`/tokens/${t.id}`)
                    .then(changed)
                    .catch((e: unknown) => status.error(e)),
                { class: "small danger", "aria-label": `Revoke token ${t.name}` },
              ),
      },
    ],
    tokens,
    "No API token.",
    (t) => ({ "data-token": t.name }),
  );
}

export async function accountPage(): Promise<HTMLElement> {
  const m = me();
  const fetchTokens = (): Promise<Page<Token>> =>
    get<Page<Token>>("/tokens", { user_id: m?.user.id, kind: "api", limit: 200, sort: "-id" });
  const status = statusLine();
  const shown = h("div", { id: "token-secret" });
  const list = h("div", {});
  const refreshList = (): void => {
    fetchTokens()
      .then((p) => list.replaceChildren(tokenTable(p.items, status, refreshList)))
      .catch((e: unknown) => status.error(e));
  };
  list.append(tokenTable((await fetchTokens()).items, status, refreshList));
  return h(
    "section",
    {},
    pageHeader("Account", m ? h("span", { class: "muted" }, `${m.user.username}, ${m.role}`) : null),
    h(
      "div",
      { class: "grid" },
      passwordForm(),
      h(
        "section",
        { class: "card span2", "aria-labelledby": "tokens-title" },
        h("h2", { id: "tokens-title" }, "API tokens"),
        h("p", { class: "hint" }, "For scripts: send as Authorization: Bearer. A scope lower than your role limits the token."),
        tokenForm(shown, status, refreshList),
        status.el,
        shown,
        list,
      ),
    ),
  );
}
