// A small History API router: paths map to page functions that return
// their content. The console answers every non-API path with index.html.

export type Params = Record<string, string>;
export type PageFn = (params: Params, query: URLSearchParams) => Promise<Node> | Node;

interface Route {
  pattern: RegExp;
  keys: string[];
  page: PageFn;
}

const routes: Route[] = [];
let renderer: (page: PageFn | null, params: Params, query: URLSearchParams) => void = () => {};

export function route(path: string, page: PageFn): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    "^" +
      path.replace(/\/:([a-z]+)/g, (_m, k: string) => {
        keys.push(k);
        return "/([^/]+)";
      }) +
      "/?$",
  );
  routes.push({ pattern, keys, page });
}

export function onRender(r: typeof renderer): void {
  renderer = r;
}

export function resolve(): void {
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) {
      const params: Params = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1] ?? "");
      });
      renderer(r.page, params, query);
      return;
    }
  }
  renderer(null, {}, query);
}

/** Goes to a path inside the app. */
export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) {
    resolve();
    return;
  }
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  resolve();
}

export function start(): void {
  window.addEventListener("popstate", resolve);
  document.addEventListener("click", (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) {
      return;
    }
    const a = (ev.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  resolve();
}
