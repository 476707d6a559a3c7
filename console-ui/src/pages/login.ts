// Login: POST /api/v1/auth/login; the console sets the session cookie.

import { request } from "../api";
import { field, statusLine } from "../components";
import { h } from "../dom";
import { navigate } from "../router";
import { refresh } from "../session";
import type { LoginResponse } from "../types";

/** Only paths inside the app are followed after login. */
function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/login")) return "/";
  return next;
}

export function loginPage(query: URLSearchParams): HTMLElement {
  const username = h("input", { name: "username", autocomplete: "username", required: true, id: "username" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, id: "password" });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const status = statusLine();
  const form = h(
    "form",
    { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, h("img", { src: "/favicon.svg", alt: "", width: 32, height: 32 }), "Rampart console"),
    field("User name", username),
    field("Password", password),
    status.el,
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    status.clear();
    submit.disabled = true;
    request<LoginResponse>("POST", "/auth/login", {
      body: { username: username.value, password: password.value },
      quiet401: true,
    })
      .then(async () => {
        password.value = "";
        await refresh();
        navigate(safeNext(query.get("next")), true);
      })
      .catch((err: unknown) => {
        status.error(err);
        password.select();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => username.focus());
  return h("div", { class: "login-page" }, form);
}
