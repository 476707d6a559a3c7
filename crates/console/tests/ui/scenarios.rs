//! What the UI tests check.

use std::path::Path;

use rampart_console::store::inventory::{FindingReport, NodeReport};
use rampart_model::Severity;
use serde_json::json;

use crate::cdp::{Browser, js};
use crate::harness::{ADMIN_PASSWORD, TestConsole};

/// Plain HTTP: pages, assets, caching, the policy, the API left alone.
pub fn headers(c: &TestConsole) {
    let raw = |method: &str, path: &str| c.call(method, path, None, None);
    let index = raw("GET", "/");
    assert_eq!(index.status, 200);
    assert!(
        index.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(index.headers["cache-control"], "no-cache");
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, rampart_console::ui::CONTENT_SECURITY_POLICY);
    assert_eq!(index.headers["x-frame-options"], "DENY");
    assert_eq!(index.headers["x-content-type-options"], "nosniff");
    let html = index.json.as_str().unwrap().to_string();
    assert!(!html.contains("<script>"), "no inline script: {html}");
    assert!(!html.contains("<style"), "no inline style: {html}");
    // Any page of the app is index.html; revalidation with the ETag.
    let page = raw("GET", "/findings?severity=high");
    assert_eq!(page.status, 200);
    assert_eq!(page.json.as_str().unwrap(), html);
    let etag = index.headers["etag"].to_str().unwrap().to_string();
    let again = c.call_with("GET", "/nodes/3", Some(("if-none-match", etag)), None);
    assert_eq!(again.status, 304);
    // The hashed script is immutable, with its type.
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(script.starts_with("/assets/"), "{script}");
    let js_file = raw("GET", &script);
    assert_eq!(js_file.status, 200);
    assert_eq!(
        js_file.headers["cache-control"],
        rampart_console::ui::IMMUTABLE
    );
    assert_eq!(
        js_file.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    // A missing file is a 404, not the page under a script's name.
    raw("GET", "/assets/index-missing.js").assert_error(404, "not_found");
    // The API keeps its own answers.
    raw("GET", "/api/v1/nothing").assert_error(404, "not_found");
    raw("GET", "/api").assert_error(404, "not_found");
    raw("POST", "/findings").assert_error(405, "method_not_allowed");
    let health = raw("GET", "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.headers["cache-control"], "no-store");
    assert!(health.headers.get("content-security-policy").is_none());
}

fn finding(kind: &str, rule: &str, sev: Severity) -> FindingReport {
    FindingReport {
        kind: kind.into(),
        rule_id: rule.into(),
        fingerprint: format!("{rule}@openssl"),
        severity: sev,
        title: format!("{rule} in openssl"),
        evidence: Some(json!({"package": "openssl", "version": "3.0.1"})),
    }
}

/// Two hosts, a container and an image; four findings on the first host.
fn seed(c: &TestConsole) -> i64 {
    let store = c.console().store().clone();
    c.rt.block_on(async move {
        let now = rampart_console::clock::now();
        let node = |kind: &str, key: &str, name: &str, parent: Option<i64>| NodeReport {
            kind: kind.into(),
            key: key.into(),
            name: name.into(),
            parent_id: parent,
            attributes: Some(json!({"os": "debian 12", "kernel": "6.18"})),
        };
        let web = store
            .upsert_node(&node("host", "m-1", "web-1", None), now)
            .await
            .unwrap();
        store
            .upsert_node(&node("host", "m-2", "db-1", None), now)
            .await
            .unwrap();
        store
            .upsert_node(&node("container", "c-1", "nginx", Some(web)), now)
            .await
            .unwrap();
        store
            .upsert_node(&node("image", "sha256:ab", "nginx:1.27", None), now)
            .await
            .unwrap();
        store
            .record_findings(
                web,
                None,
                &["vulnerability", "secret"],
                &[
                    finding("vulnerability", "CVE-2026-0001", Severity::Critical),
                    finding("vulnerability", "CVE-2026-0002", Severity::High),
                    finding("vulnerability", "CVE-2026-0003", Severity::Medium),
                    finding("secret", "RMP-SECRET-AWS-001", Severity::High),
                ],
                now,
            )
            .await
            .unwrap();
        web
    })
}

fn login(b: &mut Browser, user: &str, password: &str) {
    b.wait_for("the login form", "!!$('#username') && !!$('#password')");
    b.eval(&format!(
        "fill('#username', {}) && fill('#password', {}) && click('form.login button[type=submit]')",
        js(user),
        js(password)
    ));
}

/// Claims `scan` as a runner, records the vulnerabilities it found on
/// `node`, and finishes it successfully.
fn run_scan(c: &TestConsole, node: i64, scan: i64, found: &[&str]) {
    let store = c.console().store().clone();
    let found: Vec<FindingReport> = found
        .iter()
        .map(|id| finding("vulnerability", id, Severity::High))
        .collect();
    c.rt.block_on(async move {
        let now = rampart_console::clock::now();
        let claimed = store
            .claim_scan("sensor-web-1", now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, scan);
        store
            .record_findings(node, Some(scan), &["vulnerability"], &found, now)
            .await
            .unwrap();
        store
            .finish_scan(scan, "sensor-web-1", true, None, now)
            .await
            .unwrap()
            .unwrap();
    });
}

/// Navigates inside the app as a click on a link would.
fn open(b: &mut Browser, path: &str) {
    b.eval(&format!(
        "(() => {{ const a = document.createElement('a'); a.href = {}; document.body.appendChild(a); a.click(); a.remove(); return true; }})()",
        js(path)
    ));
}

pub fn browser(c: &TestConsole, chromium: &Path) {
    let web = seed(c);
    let admin = c.admin();
    c.create_user(&admin, "viewer", "read-only");
    let mut b = Browser::start(&chromium.to_path_buf(), &c.console().tls().cert_pem);

    // Not logged in: the app sends us to the login page.
    b.goto(&format!("{}/", c.base));
    b.wait_for("the login page", "location.pathname === '/login'");

    // A wrong password shows the console's error.
    login(&mut b, "admin", "not-the-password");
    b.wait_for(
        "the login error",
        "($('[role=alert]')?.textContent || '').includes('invalid_credentials')",
    );

    // The admin logs in and sees the seeded data on the dashboard.
    login(&mut b, "admin", ADMIN_PASSWORD);
    b.wait_for("the dashboard", "!!$('#findings-matrix')");
    assert_eq!(b.eval("text('[data-node-type=host] .num')"), "2");
    assert_eq!(b.eval("text('[data-node-type=container] .num')"), "1");
    assert_eq!(
        b.eval("text('tr[data-kind=vulnerability] td[data-severity=critical]')"),
        "1"
    );
    assert_eq!(b.eval("text('tr[data-kind=vulnerability] .total')"), "3");
    assert_eq!(b.eval("text('tr[data-kind=secret] .total')"), "1");
    assert_eq!(b.eval("text('#who')"), "admin admin");
    b.screenshot("dashboard");

    // Findings, filtered by severity through the select.
    open(&mut b, "/findings");
    b.wait_for("the findings", "$$('tr[data-finding-id]').length === 4");
    b.eval("fill('#filter-severity', 'high')");
    b.wait_for(
        "only high findings",
        "location.search.includes('severity=high') && $$('tr[data-finding-id]').length === 2 \
         && $$('tr[data-finding-id]').every(r => r.dataset.severity === 'high')",
    );

    // Suppress one with a reason: it leaves the list.
    b.eval("click('tr[data-rule=\"CVE-2026-0002\"] [data-action=suppress]')");
    b.wait_for(
        "the suppress dialog",
        "!!$('dialog[open] #suppress-reason')",
    );
    b.screenshot("suppress");
    b.eval("fill('#suppress-reason', 'not reachable: the service is internal') && click('dialog[open] button[type=submit]')");
    b.wait_for(
        "the suppressed finding to disappear",
        "!$('dialog[open]') && $$('tr[data-finding-id]').length === 1 && !$('tr[data-rule=\"CVE-2026-0002\"]')",
    );
    let sup = c.get("/api/v1/suppressions", &admin);
    assert_eq!(sup.json["total"], 1, "{:#}", sup.json);
    assert_eq!(
        sup.json["items"][0]["reason"],
        "not reachable: the service is internal"
    );
    assert_eq!(sup.json["items"][0]["node_id"], web);

    // Queue a scan of the host: it is in the list, queued.
    open(&mut b, "/scans");
    b.wait_for("the scan form", "!!$('#queue-scan')");
    b.eval(&format!(
        "fill('#scan-targets', {}) && click('#queue-scan button[type=submit]')",
        js(&web.to_string())
    ));
    b.wait_for(
        "the queued scan in the list",
        "$$('tr[data-scan-id]').some(r => r.dataset.state === 'queued')",
    );
    b.screenshot("scans");
    let scans = c.get("/api/v1/scans", &admin);
    assert_eq!(scans.json["total"], 1);
    assert_eq!(scans.json["items"][0]["targets"], json!([web.to_string()]));
    assert_eq!(scans.json["items"][0]["requested_by"], "admin");

    // Two scans of the host run (through the store's runner side) and the
    // second one's page shows what changed since the first.
    let s1 = scans.json["items"][0]["id"].as_i64().unwrap();
    let s2 = c
        .call(
            "POST",
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"targets": [web.to_string()]})),
        )
        .json["id"]
        .as_i64()
        .unwrap();
    run_scan(
        c,
        web,
        s1,
        &["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"],
    );
    run_scan(
        c,
        web,
        s2,
        &["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0004"],
    );
    open(&mut b, &format!("/scans/{s2}"));
    b.wait_for(
        "the scan's diff",
        &format!(
            "(text('#scan-diff') || '').includes('scan #{s1}: 1 added, 1 removed, 2 unchanged') \
             && text('#scan-diff').includes('CVE-2026-0004') && text('#scan-diff').includes('CVE-2026-0003')"
        ),
    );
    b.screenshot("scan-diff");

    // A node's detail page.
    open(&mut b, &format!("/nodes/{web}"));
    b.wait_for("the node page", "text('main h1')?.startsWith('web-1')");
    assert!(
        b.eval("document.body.innerText")
            .as_str()
            .unwrap()
            .contains("debian 12")
    );

    b.screenshot("node");

    // Topology: drawn when the console serves it, a clear notice until then.
    open(&mut b, "/topology");
    b.wait_for(
        "the topology page",
        "!!$('#topology-unavailable') || !!$('svg.topology') || !!$('main .empty')",
    );
    if b.eval("!!$('svg.topology g.node')").as_bool() == Some(true) {
        b.eval("$('svg.topology g.node').dispatchEvent(new MouseEvent('click', {bubbles: true}))");
        b.wait_for(
            "a node page from the graph",
            "location.pathname.startsWith('/nodes/')",
        );
    }

    // Admin pages: users and the audit log, which records the suppression.
    assert_eq!(b.eval("!!$('nav a[href=\"/users\"]')"), true);
    open(&mut b, "/users");
    b.wait_for("the users page", "!!$('tr[data-user=viewer]')");
    open(&mut b, "/audit");
    b.wait_for(
        "the audit log",
        "$$('tr[data-action=\"suppression.create\"]').length === 1 && $$('tr[data-action=\"scan.create\"]').length === 2",
    );

    // Log out: back to the login page, and the session is gone.
    b.eval("click('#logout')");
    b.wait_for(
        "the login page after logout",
        "location.pathname === '/login' && !!$('#username')",
    );
    b.goto(&format!("{}/findings", c.base));
    b.wait_for("the login page again", "location.pathname === '/login'");

    // A read-only user sees no admin page and no action it may not take.
    // Logging in returns to the page asked for.
    login(&mut b, "viewer", "viewer-password-123");
    b.wait_for(
        "the viewer's findings",
        "location.pathname === '/findings' && $$('tr[data-finding-id]').length === 3",
    );
    assert_eq!(b.eval("!!$('nav a[href=\"/users\"]')"), false);
    assert_eq!(b.eval("!!$('nav a[href=\"/audit\"]')"), false);
    assert_eq!(b.eval("text('#who')"), "viewer read-only");
    assert_eq!(b.eval("$$('[data-action=suppress]').length"), 0);
    open(&mut b, "/scans");
    b.wait_for("the viewer's scans", "$$('tr[data-scan-id]').length === 2");
    assert_eq!(b.eval("!!$('#queue-scan')"), false);
    assert_eq!(b.eval("$$('[data-action=cancel]').length"), 0);
    open(&mut b, "/users");
    b.wait_for("the refusal", "text('main h1') === 'Not available'");
    b.screenshot("refused");

    // Their account page: an API token, shown once, that works.
    b.eval("click('#who')");
    b.wait_for("the account page", "!!$('#token-name')");
    b.eval("fill('#token-name', 'ci script') && ($('#token-name').form.requestSubmit(), true)");
    b.wait_for("the new token", "!!$('[data-secret]')");
    let token = b
        .eval("text('[data-secret]')")
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("rmt_"), "{token}");
    let who = c.get("/api/v1/auth/me", &token);
    assert_eq!(who.status, 200, "{:#}", who.json);
    assert_eq!(who.json["user"]["username"], "viewer");
    assert_eq!(who.json["token_kind"], "api");
    b.wait_for(
        "the token in the list",
        "!!$('tr[data-token=\"ci script\"]')",
    );
    b.screenshot("account");

    // No policy violation and no script error in the whole session...
    let violations = b.csp_violations();
    assert!(violations.is_empty(), "CSP violations: {violations:#?}");
    let exceptions = b.exceptions();
    assert!(exceptions.is_empty(), "script errors: {exceptions:#?}");
    // ...and the collector does see one when it happens.
    b.eval("(document.body.setAttribute('style', 'color: red'), true)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while b.csp_violations().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !b.csp_violations().is_empty(),
        "an inline style must be reported as a violation"
    );
}
