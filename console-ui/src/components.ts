// Pieces the pages share: error boxes, tables, pagination, filters, forms.

import { ApiError } from "./api";
import { type Child, h } from "./dom";
import { navigate } from "./router";

/** The message of anything thrown, with the API's error code when there is one. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) return err.code ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** An alert box showing an error. */
export function errorBox(err: unknown): HTMLElement {
  return h("div", { class: "alert error", role: "alert" }, describe(err));
}

/** A status line whose content can be replaced (errors, confirmations). */
export function statusLine(): { el: HTMLElement; error(err: unknown): void; ok(msg: string): void; clear(): void } {
  const el = h("div", { class: "status", role: "status", "aria-live": "polite" });
  return {
    el,
    error(err) {
      el.className = "status alert error";
      el.setAttribute("role", "alert");
      el.textContent = describe(err);
    },
    ok(msg) {
      el.className = "status alert ok";
      el.setAttribute("role", "status");
      el.textContent = msg;
    },
    clear() {
      el.className = "status";
      el.textContent = "";
    },
  };
}

export function pageHeader(title: string, ...extra: Child[]): HTMLElement {
  return h("header", { class: "page-header" }, h("h1", {}, title), extra);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  class?: string;
}

/** A table of rows, or a message when there is none. */
export function table<T>(columns: Column<T>[], rows: T[], empty: string, rowAttrs?: (row: T) => Record<string, string>): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { class: c.class }, c.cell(r))))),
      ),
    ),
  );
}

/** Previous / next links over a paged list; the offset lives in the URL. */
export function pagination(total: number, limit: number, offset: number, query: URLSearchParams): HTMLElement {
  const link = (off: number): string => {
    const q = new URLSearchParams(query);
    if (off > 0) q.set("offset", String(off));
    else q.delete("offset");
    const s = q.toString();
    return location.pathname + (s ? `?${s}` : "");
  };
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return h(
    "nav",
    { class: "pagination", "aria-label": "Pages" },
    offset > 0
      ? h("a", { href: link(Math.max(0, offset - limit)), rel: "prev", class: "button" }, "← Previous")
      : h("span", { class: "button disabled", "aria-disabled": "true" }, "← Previous"),
    h("span", { class: "range" }, `${first}–${last} of ${total}`),
    offset + limit < total
      ? h("a", { href: link(offset + limit), rel: "next", class: "button" }, "Next →")
      : h("span", { class: "button disabled", "aria-disabled": "true" }, "Next →"),
  );
}

/** A labelled select whose choice goes into the URL query (resetting the offset). */
export function filterSelect(label: string, name: string, options: readonly string[], query: URLSearchParams, any = "any"): HTMLElement {
  const id = `filter-${name}`;
  const select = h(
    "select",
    {
      id,
      name,
      onchange: (ev: Event) => {
        const q = new URLSearchParams(location.search);
        const v = (ev.target as HTMLSelectElement).value;
        if (v) q.set(name, v);
        else q.delete(name);
        q.delete("offset");
        const s = q.toString();
        navigate(location.pathname + (s ? `?${s}` : ""));
      },
    },
    h("option", { value: "" }, any),
    options.map((o) => h("option", { value: o, selected: query.get(name) === o }, o)),
  );
  return h("div", { class: "field" }, h("label", { for: id }, label), select);
}

/** A search box that puts its text into the URL query on submit. */
export function searchBox(label: string, name: string, query: URLSearchParams): HTMLElement {
  const id = `filter-${name}`;
  const input = h("input", { id, name, type: "search", value: query.get(name) ?? "", autocomplete: "off" });
  return h(
    "form",
    {
      class: "field search",
      role: "search",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const q = new URLSearchParams(location.search);
        if (input.value.trim()) q.set(name, input.value.trim());
        else q.delete(name);
        q.delete("offset");
        const s = q.toString();
        navigate(location.pathname + (s ? `?${s}` : ""));
      },
    },
    h("label", { for: id }, label),
    h("div", { class: "inline" }, input, h("button", { type: "submit" }, "Search")),
  );
}

/** A labelled input. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = input.id || `f-${input.name}-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "hint" }, hint) : null);
}

/** Integer query parameter, or the default. */
export function intParam(query: URLSearchParams, name: string, dflt: number): number {
  const v = Number.parseInt(query.get(name) ?? "", 10);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
}

/** A button that runs an async action, disabled while it runs. */
export function actionButton(label: string, action: () => Promise<void>, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = h("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", () => {
    b.disabled = true;
    action().finally(() => {
      b.disabled = false;
    });
  });
  return b;
}

/** A secret shown once, with a copy button. */
export function secretOnce(title: string, secret: string): HTMLElement {
  const code = h("code", { class: "secret", "data-secret": "" }, secret);
  const copy = h("button", { type: "button", class: "small" }, "Copy");
  copy.addEventListener("click", () => {
    navigator.clipboard?.writeText(secret).then(
      () => {
        copy.textContent = "Copied";
      },
      () => {
        copy.textContent = "Copy failed: select the text";
      },
    );
  });
  return h(
    "div",
    { class: "alert ok secret-once", role: "status" },
    h("p", {}, h("strong", {}, title), " It is shown only now: store it safely."),
    h("div", { class: "inline" }, code, copy),
  );
}
