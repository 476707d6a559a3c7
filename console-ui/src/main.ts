// The Rampart console UI: the shell (navigation, session) and the routes.

import "./style.css";
import { onSessionExpired, post } from "./api";
import { errorBox } from "./components";
import { h, mount } from "./dom";
import { type PageFn, navigate, onRender, route, start } from "./router";
import { can, me, refresh, setMe } from "./session";
import type { Role } from "./types";
import { loginPage } from "./pages/login";
import { dashboardPage } from "./pages/dashboard";
import { nodesPage, nodePage } from "./pages/nodes";
import { findingsPage } from "./pages/findings";
import { scansPage, scanPage } from "./pages/scans";
import { topologyPage } from "./pages/topology";
import { agentsPage } from "./pages/agents";
import { usersPage } from "./pages/users";
import { auditPage } from "./pages/audit";
import { accountPage } from "./pages/account";

const app = document.getElementById("app") as HTMLElement;

interface NavItem {
  path: string;
  label: string;
  role: Role;
}

const NAV: NavItem[] = [
  { path: "/", label: "Dashboard", role: "read-only" },
  { path: "/nodes", label: "Nodes", role: "read-only" },
  { path: "/findings", label: "Findings", role: "read-only" },
  { path: "/scans", label: "Scans", role: "read-only" },
  { path: "/topology", label: "Topology", role: "read-only" },
  { path: "/agents", label: "Agents", role: "read-only" },
  { path: "/users", label: "Users", role: "admin" },
  { path: "/audit", label: "Audit log", role: "admin" },
];

/** Pages that need a role; the console refuses the calls anyway. */
function guarded(role: Role, page: PageFn): PageFn {
  return (params, query) => {
    if (!can(role)) {
      return h(
        "section",
        {},
        h("h1", {}, "Not available"),
        h("p", { class: "alert error", role: "alert" }, `This page needs the ${role} role; you act as ${me()?.role ?? "nobody"}.`),
      );
    }
    return page(params, query);
  };
}

function isActive(path: string): boolean {
  return path === "/" ? location.pathname === "/" : location.pathname.startsWith(path);
}

function shell(content: HTMLElement): HTMLElement {
  const m = me();
  const nav = h(
    "nav",
    { class: "main-nav", "aria-label": "Main" },
    h(
      "ul",
      {},
      NAV.filter((n) => can(n.role)).map((n) =>
        h("li", {}, h("a", { href: n.path, "aria-current": isActive(n.path) ? "page" : undefined }, n.label)),
      ),
    ),
  );
  const logout = h("button", { type: "button", class: "link", id: "logout" }, "Log out");
  logout.addEventListener("click", () => {
    logout.disabled = true;
    post("/auth/logout")
      .catch(() => undefined)
      .finally(() => {
        setMe(null);
        navigate("/login");
      });
  });
  return h(
    "div",
    { class: "shell" },
    h("a", { href: "#content", class: "skip" }, "Skip to content"),
    h(
      "header",
      { class: "topbar" },
      h("a", { href: "/", class: "brand" }, h("img", { src: "/favicon.svg", alt: "", width: 24, height: 24 }), "Rampart"),
      nav,
      m
        ? h(
            "div",
            { class: "user" },
            h(
              "a",
              { class: "who", id: "who", href: "/account", title: "Your account: password and API tokens" },
              m.user.username,
              " ",
              h("span", { class: "badge tone-role" }, m.role),
            ),
            logout,
          )
        : null,
    ),
    h("main", { id: "content", tabindex: "-1" }, content),
  );
}

let generation = 0;

onRender((page, params, query) => {
  const mine = ++generation;
  const show = (node: Node): void => {
    if (mine !== generation) return;
    if (location.pathname === "/login") mount(app, node);
    else mount(app, shell(node as HTMLElement));
  };
  const run = async (): Promise<void> => {
    if (location.pathname === "/login") {
      show(loginPage(query));
      return;
    }
    if (!me() && !(await refresh())) {
      const next = location.pathname + location.search;
      navigate(`/login${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`, true);
      return;
    }
    if (!page) {
      show(h("section", {}, h("h1", {}, "Not found"), h("p", {}, "There is no page here. ", h("a", { href: "/" }, "Back to the dashboard"))));
      return;
    }
    show(h("p", { class: "loading", "aria-busy": "true" }, "Loading…"));
    try {
      const node = await page(params, query);
      show(node);
      document.title = `${document.querySelector("main h1")?.textContent ?? "Console"} · Rampart`;
    } catch (err) {
      show(h("section", {}, h("h1", {}, "Error"), errorBox(err)));
    }
  };
  void run();
});

onSessionExpired(() => {
  if (me() && location.pathname !== "/login") {
    setMe(null);
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
  }
});

route("/", dashboardPage);
route("/nodes", nodesPage);
route("/nodes/:id", nodePage);
route("/findings", findingsPage);
route("/scans", scansPage);
route("/scans/:id", scanPage);
route("/topology", topologyPage);
route("/agents", agentsPage);
route("/users", guarded("admin", usersPage));
route("/audit", guarded("admin", auditPage));
route("/account", accountPage);
route("/login", () => h("div"));

start();
