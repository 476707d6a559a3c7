// Users (admins): create, change role, disable or enable, delete.

import { del, get, patch, post } from "../api";
import { actionButton, field, intParam, pageHeader, pagination, statusLine, table } from "../components";
import { badge, h, time } from "../dom";
import { resolve } from "../router";
import { me } from "../session";
import { ROLES, type Page, type Role, type User } from "../types";

const LIMIT = 50;

function createForm(status: ReturnType<typeof statusLine>): HTMLElement {
  const username = h("input", { name: "username", required: true, autocomplete: "off", id: "new-username" });
  const password = h("input", { name: "password", type: "password", required: true, minlength: 12, autocomplete: "new-password", id: "new-password" });
  const role = h("select", { name: "role", id: "new-role" }, ROLES.map((r) => h("option", { value: r, selected: r === "read-only" }, r)));
  const submit = h("button", { type: "submit", class: "primary" }, "Create user");
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "New user" },
    field("User name", username),
    field("Password (12 characters or more)", password),
    field("Role", role),
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    post<User>("/users", { username: username.value.trim(), password: password.value, role: role.value })
      .then(() => resolve())
      .catch((err: unknown) => status.error(err))
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

export async function usersPage(_p: unknown, query: URLSearchParams): Promise<HTMLElement> {
  const offset = intParam(query, "offset", 0);
  const page = await get<Page<User>>("/users", { limit: LIMIT, offset, sort: "username" });
  const status = statusLine();
  const self = me()?.user.id;
  const roleSelect = (u: User): HTMLElement => {
    const sel = h(
      "select",
      { "aria-label": `Role of ${u.username}` },
      ROLES.map((r) => h("option", { value: r, selected: r === u.role }, r)),
    );
    sel.addEventListener("change", () => {
      patch<User>(`/users/${u.id}`, { role: sel.value as Role })
        .then(() => resolve())
        .catch((err: unknown) => {
          sel.value = u.role;
          status.error(err);
        });
    });
    return sel;
  };
  return h(
    "section",
    {},
    pageHeader("Users"),
    h("section", { class: "card wide" }, h("h2", {}, "New user"), createForm(status)),
    status.el,
    table(
      [
        { label: "User", cell: (u: User) => [u.username, u.id === self ? " (you)" : ""] },
        { label: "Role", cell: (u) => roleSelect(u) },
        { label: "State", cell: (u) => (u.disabled ? badge("disabled") : u.locked_until ? badge("locked") : badge("active")) },
        { label: "Last login", cell: (u) => time(u.last_login_at) },
        { label: "Created", cell: (u) => time(u.created_at) },
        {
          label: "",
          cell: (u) =>
            h(
              "div",
              { class: "inline" },
              actionButton(
                u.disabled ? "Enable" : "Disable",
                () =>
                  patch<User>(`/users/${u.id}`, { disabled: !u.disabled })
                    .then(() => resolve())
                    .catch((e: unknown) => status.error(e)),
                { class: "small", "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.username}` },
              ),
              u.id === self
                ? null
                : actionButton(
                    "Delete",
                    () =>
                      del(`/users/${u.id}`)
                        .then(() => resolve())
                        .catch((e: unknown) => status.error(e)),
                    { class: "small danger", "aria-label": `Delete ${u.username}` },
                  ),
            ),
        },
      ],
      page.items,
      "No user.",
      (u) => ({ "data-user": u.username }),
    ),
    pagination(page.total, LIMIT, offset, query),
  );
}
