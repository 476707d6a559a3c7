//! The scenarios, each run against both backends.

use rampart_console::InitialAdmin;
use rampart_console::store::inventory::{FindingReport, NodeReport};
use rampart_console::store::scans::{Reaped, ScanTimeouts};
use rampart_model::Severity;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Db, TestConsole};

macro_rules! start {
    ($db:expr) => {
        start!($db, |_| {})
    };
    ($db:expr, $tweak:expr) => {
        match TestConsole::start($db, $tweak) {
            Some(c) => c,
            None => return,
        }
    };
}

pub fn health_and_https(db: Db) {
    let c = start!(db);
    let a = c.call("GET", "/healthz", None, None);
    assert_eq!(a.status, 200);
    let name = if db == Db::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(a.json["database"], name);
    assert_eq!(a.json["status"], "ok");
    assert!(a.json["schema_version"].as_i64().unwrap() >= 1);
    assert_eq!(a.headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(a.headers["cache-control"], "no-store");
    // The generated certificate is in the data directory and is what the
    // client was made to trust (plain HTTP is not served).
    let tls = c.console().tls();
    assert!(tls.self_signed && tls.generated_now);
    assert!(tls.cert_path.starts_with(c.dir.path()));
    if db == Db::Sqlite {
        assert!(c.dir.path().join("console.db").is_file());
    }
    let plain = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&c.base.replace("https://", "http://"))
        .call();
    assert!(plain.is_err(), "plain HTTP must not be answered");
}

pub fn openapi_document(db: Db) {
    let c = start!(db);
    let a = c.call("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(a.status, 200);
    let doc = a.json;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/healthz", &["get"][..]),
        ("/metrics", &["get"]),
        ("/api/v1/openapi.json", &["get"]),
        ("/api/v1/auth/login", &["post"]),
        ("/api/v1/auth/logout", &["post"]),
        ("/api/v1/auth/me", &["get"]),
        ("/api/v1/auth/password", &["put"]),
        ("/api/v1/users", &["get", "post"]),
        ("/api/v1/users/{id}", &["get", "patch", "delete"]),
        ("/api/v1/tokens", &["get", "post"]),
        ("/api/v1/tokens/{id}", &["delete"]),
        ("/api/v1/audit", &["get"]),
        ("/api/v1/nodes", &["get"]),
        ("/api/v1/nodes/{id}", &["get"]),
        ("/api/v1/findings", &["get"]),
        ("/api/v1/scans", &["get", "post"]),
        ("/api/v1/scans/{id}", &["get"]),
        ("/api/v1/scans/{id}/cancel", &["post"]),
        ("/api/v1/scans/{id}/diff", &["get"]),
        ("/api/v1/agents", &["get"]),
        ("/api/v1/agents/{id}", &["delete"]),
        ("/api/v1/agents/enroll", &["post"]),
        ("/api/v1/agents/enrollment-tokens", &["get", "post"]),
        ("/api/v1/agents/enrollment-tokens/{id}", &["delete"]),
        ("/api/v1/agent/scans/claim", &["post"]),
        ("/api/v1/agent/scans/{id}/heartbeat", &["post"]),
        ("/api/v1/agent/scans/{id}/finish", &["post"]),
        ("/api/v1/agent/scans/{id}/results", &["post"]),
        ("/api/v1/agent/report", &["post"]),
        ("/api/v1/graph/topology", &["get"]),
        ("/api/v1/suppressions", &["get", "post"]),
        ("/api/v1/suppressions/{id}", &["delete"]),
    ] {
        for m in methods {
            let op = &paths[path][*m];
            assert!(op.is_object(), "{m} {path} is documented");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    for s in ["ErrorBody", "User", "Token", "AuditEntry", "LoginRequest"] {
        assert!(doc["components"]["schemas"][s].is_object(), "schema {s}");
    }
    // The document the server serves is the one the library built.
    let built = serde_json::to_value(c.console().openapi()).unwrap();
    assert_eq!(built, doc);
}

/// Every documented operation, with the role it declares ("Role: X." at
/// the end of its description).
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let text = format!(
                "{} {}",
                op["summary"].as_str().unwrap_or(""),
                op["description"].as_str().unwrap_or("")
            );
            let role = text
                .rsplit_once("Role: ")
                .map(|(_, r)| r.trim().trim_end_matches('.').to_string())
                .unwrap_or_else(|| panic!("{method} {path} declares no role: {text}"));
            ops.push((method.to_uppercase(), path.replace("{id}", "1"), role));
        }
    }
    ops
}

/// Enrolls an agent with a fresh enrollment token; its credential.
fn enroll_agent(c: &TestConsole, admin: &str, hostname: &str) -> String {
    let t = c.call(
        "POST",
        "/api/v1/agents/enrollment-tokens",
        Some(admin),
        Some(json!({"name": format!("for {hostname}")})),
    );
    assert_eq!(t.status, 201, "{:#}", t.json);
    let a = c.call(
        "POST",
        "/api/v1/agents/enroll",
        None,
        Some(json!({"enrollment_token": t.json["token"], "hostname": hostname})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    a.json["credential"].as_str().unwrap().to_string()
}

pub fn authorization_matrix_from_openapi(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let agent = enroll_agent(&c, &admin, "matrix-host");
    let doc = c.call("GET", "/api/v1/openapi.json", None, None).json;
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "{ops:?}");
    for (method, path, role) in &ops {
        let body = matches!(method.as_str(), "POST" | "PUT" | "PATCH").then(|| json!({}));
        let public = role == "none";
        assert!(
            ["none", "read-only", "standard", "admin", "agent"].contains(&role.as_str()),
            "{method} {path}: unknown role {role}"
        );
        // Without credentials: refused unless public.
        let a = c.call(method, path, None, body.clone());
        if public {
            assert_ne!(a.status, 401, "{method} {path} is public");
            continue;
        }
        a.assert_error(401, "unauthenticated");
        // A garbage token is no better.
        c.call(method, path, Some("rmt_not-a-real-token"), body.clone())
            .assert_error(401, "unauthenticated");
        if role == "agent" {
            // User credentials are not agent credentials.
            c.call(method, path, Some(&reader), body.clone())
                .assert_error(401, "unauthenticated");
            c.call(method, path, Some(&admin), body.clone())
                .assert_error(401, "unauthenticated");
            let a = c.call(method, path, Some(&agent), body.clone());
            assert!(
                !matches!(a.status, 401 | 403),
                "{method} {path}: {:#}",
                a.json
            );
        } else {
            // Agent credentials are not user credentials.
            c.call(method, path, Some(&agent), body.clone())
                .assert_error(401, "unauthenticated");
            // Read-only users are refused what needs more, before the body is read.
            if role == "admin" || role == "standard" {
                c.call(method, path, Some(&reader), body.clone())
                    .assert_error(403, "forbidden");
            }
        }
    }
}

pub fn login_session_and_cookie(db: Db) {
    let c = start!(db);
    let bad = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "wrong-password"})),
    );
    bad.assert_error(401, "invalid_credentials");
    let unknown = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "nobody", "password": "wrong-password"})),
    );
    unknown.assert_error(401, "invalid_credentials");
    let a = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["user"]["role"], "admin");
    assert!(a.json["user"].get("password_hash").is_none());
    let token = a.json["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("rms_"));
    let cookie = a.headers["set-cookie"].to_str().unwrap().to_string();
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(cookie.starts_with(&format!("rampart_session={token};")));
    // Bearer and cookie both authenticate.
    let me = c.get("/api/v1/auth/me", &token);
    assert_eq!(me.status, 200);
    assert_eq!(me.json["user"]["username"], "admin");
    assert_eq!(me.json["token_kind"], "session");
    let me = c.call_with(
        "GET",
        "/api/v1/auth/me",
        Some(("cookie", format!("other=1; rampart_session={token}"))),
        None,
    );
    assert_eq!(me.status, 200, "{:#}", me.json);
    assert!(me.json["user"]["last_login_at"].is_string());
    // Logout kills the session and clears the cookie.
    let out = c.call("POST", "/api/v1/auth/logout", Some(&token), None);
    assert_eq!(out.status, 204);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    c.get("/api/v1/auth/me", &token)
        .assert_error(401, "unauthenticated");
}

pub fn roles_are_enforced(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    c.create_user(&admin, "worker", "standard");
    let reader = c.login("reader", "reader-password-123");
    let worker = c.login("worker", "worker-password-123");
    for t in [&reader, &worker] {
        c.get("/api/v1/users", t).assert_error(403, "forbidden");
        c.get("/api/v1/audit", t).assert_error(403, "forbidden");
        c.call(
            "POST",
            "/api/v1/users",
            Some(t),
            Some(json!({"username": "x", "password": "long-enough-password", "role": "admin"})),
        )
        .assert_error(403, "forbidden");
        c.call("DELETE", "/api/v1/users/1", Some(t), None)
            .assert_error(403, "forbidden");
        // Everyone may read who they are and manage their own tokens.
        assert_eq!(c.get("/api/v1/auth/me", t).status, 200);
        assert_eq!(c.get("/api/v1/tokens", t).status, 200);
    }
    assert_eq!(c.get("/api/v1/auth/me", &reader).json["role"], "read-only");
    // A read-only user cannot mint a token above their role.
    c.call(
        "POST",
        "/api/v1/tokens",
        Some(&reader),
        Some(json!({"name": "ci", "scope": "admin"})),
    )
    .assert_error(403, "forbidden");
    assert_eq!(c.get("/api/v1/users", &admin).status, 200);
    // Refusals are audited, with the route and the roles.
    let denied = c.get("/api/v1/audit?outcome=denied&actor=reader&sort=id", &admin);
    assert_eq!(denied.json["total"], 4, "{:#}", denied.json);
    let first = &denied.json["items"][0];
    assert_eq!(first["action"], "access.denied");
    assert_eq!(first["target"], "GET /api/v1/users");
    assert_eq!(first["detail"]["needs"], "admin");
    assert_eq!(first["detail"]["role"], "read-only");
    assert_eq!(first["source"], "127.0.0.1");
}

pub fn lockout_after_failed_logins(db: Db) {
    let c = start!(db, |cfg| {
        cfg.lockout_threshold = 3;
        cfg.lockout_secs = 600;
    });
    let admin = c.admin();
    let victim = c.create_user(&admin, "victim", "standard");
    let attempt = |pw: &str| {
        c.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "victim", "password": pw})),
        )
    };
    // A success resets the count.
    attempt("wrong-1").assert_error(401, "invalid_credentials");
    attempt("wrong-2").assert_error(401, "invalid_credentials");
    assert_eq!(attempt("victim-password-123").status, 200);
    for i in 0..3 {
        attempt(&format!("wrong-{i}")).assert_error(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, with a Retry-After.
    let locked = attempt("victim-password-123");
    locked.assert_error(423, "account_locked");
    let retry: i64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let user = c.get(&format!("/api/v1/users/{victim}"), &admin);
    assert!(user.json["locked_until"].is_string(), "{:#}", user.json);
    let audit = c.get("/api/v1/audit?action=auth.lockout", &admin);
    assert_eq!(audit.json["total"], 1, "{:#}", audit.json);
    assert_eq!(audit.json["items"][0]["actor"], "victim");
    // An admin setting a new password lifts the lock.
    let a = c.call(
        "PATCH",
        &format!("/api/v1/users/{victim}"),
        Some(&admin),
        Some(json!({"password": "a-brand-new-password"})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert!(a.json["locked_until"].is_null());
    assert_eq!(attempt("a-brand-new-password").status, 200);
}

pub fn login_rate_limit(db: Db) {
    let c = start!(db, |cfg| cfg.login_attempts_per_minute = 3);
    for _ in 0..3 {
        let a = c.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": "nope-nope-nope"})),
        );
        a.assert_error(401, "invalid_credentials");
    }
    let a = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
    );
    a.assert_error(429, "rate_limited");
    assert!(a.headers.contains_key("retry-after"));
    let metrics = c.call("GET", "/metrics", None, None).json;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("rampart_login_failures_total{reason=\"rate_limited\"} 1"),
        "{text}"
    );
}

pub fn api_tokens_scoped_and_revocable(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let a = c.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"name": "dashboard", "scope": "read-only", "expires_in_days": 30})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    let secret = a.json["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("rmt_"));
    let id = a.json["info"]["id"].as_i64().unwrap();
    assert_eq!(a.json["info"]["scope"], "read-only");
    assert!(a.json["info"]["expires_at"].is_string());
    // The token acts with its scope, not its owner's role.
    let me = c.get("/api/v1/auth/me", &secret);
    assert_eq!(me.json["role"], "read-only");
    assert_eq!(me.json["token_kind"], "api");
    c.get("/api/v1/users", &secret)
        .assert_error(403, "forbidden");
    // An unscoped API token of an admin can administer.
    let full = c.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"name": "automation"})),
    );
    let full_secret = full.json["token"].as_str().unwrap().to_string();
    assert_eq!(c.get("/api/v1/users", &full_secret).status, 200);
    // Listings never show secrets, only a recognisable prefix.
    let list = c.get("/api/v1/tokens?kind=api&sort=-id", &admin);
    assert_eq!(list.json["total"], 2);
    let text = list.json.to_string();
    assert!(!text.contains(&secret) && !text.contains(&full_secret));
    assert_eq!(list.json["items"][1]["prefix"], secret[..12]);
    assert!(list.json["items"][1]["last_used_at"].is_string());
    // Logout is for sessions.
    c.call("POST", "/api/v1/auth/logout", Some(&secret), None)
        .assert_error(400, "bad_request");
    // Revoked: refused from then on.
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    c.get("/api/v1/auth/me", &secret)
        .assert_error(401, "unauthenticated");
    let revoked = c.get("/api/v1/tokens?revoked=true", &admin);
    assert_eq!(revoked.json["total"], 1);
    assert!(revoked.json["items"][0]["revoked_at"].is_string());
    // Other users neither see nor revoke someone else's tokens.
    c.create_user(&admin, "other", "standard");
    let other = c.login("other", "other-password-123");
    let theirs = c.get("/api/v1/tokens", &other);
    assert_eq!(theirs.json["total"], 1, "only their own session");
    let full_id = full.json["info"]["id"].as_i64().unwrap();
    c.call(
        "DELETE",
        &format!("/api/v1/tokens/{full_id}"),
        Some(&other),
        None,
    )
    .assert_error(404, "not_found");
    // Stored hashed: the database holds no secret.
    let store = c.console().store().clone();
    let found = c.rt.block_on(async {
        store
            .token_by_hash(&rampart_console::auth::secret_hash(&full_secret))
            .await
    });
    assert!(found.unwrap().is_some());
}

pub fn audit_log_records_who_what_when_where(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let before = rampart_console::clock::now() - 1;
    let uid = c.create_user(&admin, "alice", "standard");
    c.call(
        "PATCH",
        &format!("/api/v1/users/{uid}"),
        Some(&admin),
        Some(json!({"role": "read-only"})),
    );
    c.call(
        "DELETE",
        &format!("/api/v1/users/{uid}"),
        Some(&admin),
        None,
    );
    let a = c.get("/api/v1/audit?actor=admin&sort=id", &admin);
    assert_eq!(a.status, 200);
    let actions: Vec<&str> = a.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["auth.login", "user.create", "user.update", "user.delete"],
        "{:#}",
        a.json
    );
    let create = &a.json["items"][1];
    assert_eq!(create["target"], format!("user:{uid}"));
    assert_eq!(create["source"], "127.0.0.1");
    assert_eq!(create["outcome"], "success");
    assert_eq!(create["detail"]["username"], "alice");
    let at = rampart_console::clock::parse_time(create["at"].as_str().unwrap()).unwrap();
    assert!(at >= before, "{at} {before}");
    // The first admin's creation is there too, from the start-up.
    let first = c.get("/api/v1/audit?action=user.create&sort=id", &admin);
    assert_eq!(first.json["items"][0]["detail"]["first_admin"], true);
    // Failed logins are recorded with the name tried.
    c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "mallory", "password": "guess-guess"})),
    );
    let failed = c.get("/api/v1/audit?outcome=failure", &admin);
    assert_eq!(failed.json["items"][0]["actor"], "mallory");
    assert_eq!(failed.json["items"][0]["detail"]["reason"], "unknown user");
    // Time filters.
    let since = rampart_console::clock::rfc3339(before + 3600);
    let none = c.get(&format!("/api/v1/audit?since={since}"), &admin);
    assert_eq!(none.json["total"], 0);
    c.get("/api/v1/audit?since=yesterday", &admin)
        .assert_error(400, "bad_request");
}

pub fn users_crud_and_last_admin(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let me_id = c.get("/api/v1/auth/me", &admin).json["user"]["id"]
        .as_i64()
        .unwrap();
    let bob = c.create_user(&admin, "bob", "standard");
    // Duplicates, bad names and weak passwords are refused.
    let dup = c.call(
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "bob", "password": "another-password", "role": "standard"})),
    );
    dup.assert_error(409, "conflict");
    c.call(
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "bad name", "password": "another-password", "role": "standard"})),
    )
    .assert_error(400, "bad_request");
    c.call(
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "carol", "password": "short", "role": "standard"})),
    )
    .assert_error(400, "bad_request");
    c.call(
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "carol", "password": "long-enough-pw", "role": "root"})),
    )
    .assert_error(400, "bad_request");
    let got = c.get(&format!("/api/v1/users/{bob}"), &admin);
    assert_eq!(got.json["username"], "bob");
    assert_eq!(got.json["role"], "standard");
    // Disabling revokes the user's sessions and refuses new logins.
    let bob_token = c.login("bob", "bob-password-123");
    let a = c.call(
        "PATCH",
        &format!("/api/v1/users/{bob}"),
        Some(&admin),
        Some(json!({"disabled": true})),
    );
    assert_eq!(a.json["disabled"], true);
    c.get("/api/v1/auth/me", &bob_token)
        .assert_error(401, "unauthenticated");
    c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "bob", "password": "bob-password-123"})),
    )
    .assert_error(401, "invalid_credentials");
    // The last enabled admin can be neither demoted, disabled nor deleted.
    c.call(
        "PATCH",
        &format!("/api/v1/users/{me_id}"),
        Some(&admin),
        Some(json!({"role": "standard"})),
    )
    .assert_error(409, "conflict");
    c.call(
        "DELETE",
        &format!("/api/v1/users/{me_id}"),
        Some(&admin),
        None,
    )
    .assert_error(409, "conflict");
    // Unknown fields in a change are refused, not ignored.
    c.call(
        "PATCH",
        &format!("/api/v1/users/{bob}"),
        Some(&admin),
        Some(json!({"rol": "admin"})),
    )
    .assert_error(400, "bad_request");
    // Promote bob, then the first admin may step down.
    c.call(
        "PATCH",
        &format!("/api/v1/users/{bob}"),
        Some(&admin),
        Some(json!({"disabled": false, "role": "admin"})),
    );
    let a = c.call(
        "PATCH",
        &format!("/api/v1/users/{me_id}"),
        Some(&admin),
        Some(json!({"role": "standard"})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    let bob_admin = c.login("bob", "bob-password-123");
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/users/{me_id}"),
            Some(&bob_admin),
            None
        )
        .status,
        204
    );
    c.get(&format!("/api/v1/users/{me_id}"), &bob_admin)
        .assert_error(404, "not_found");
    // The deleted user's session died with them.
    c.get("/api/v1/auth/me", &admin)
        .assert_error(401, "unauthenticated");
    // Own password change keeps the current session, ends the others.
    let other_session = c.login("bob", "bob-password-123");
    c.call(
        "PUT",
        "/api/v1/auth/password",
        Some(&bob_admin),
        Some(json!({"current_password": "wrong", "new_password": "bobs-new-password"})),
    )
    .assert_error(403, "forbidden");
    let a = c.call(
        "PUT",
        "/api/v1/auth/password",
        Some(&bob_admin),
        Some(json!({"current_password": "bob-password-123", "new_password": "bobs-new-password"})),
    );
    assert_eq!(a.status, 204, "{:#}", a.json);
    assert_eq!(c.get("/api/v1/auth/me", &bob_admin).status, 200);
    c.get("/api/v1/auth/me", &other_session)
        .assert_error(401, "unauthenticated");
    c.login("bob", "bobs-new-password");
}

pub fn pagination_filter_sort(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    for (i, role) in [
        "standard",
        "read-only",
        "standard",
        "read-only",
        "standard",
        "standard",
        "read-only",
    ]
    .iter()
    .enumerate()
    {
        c.create_user(&admin, &format!("user{i}"), role);
    }
    let names = |a: &Value| -> Vec<String> {
        a["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    let p1 = c.get("/api/v1/users?limit=3&sort=username", &admin);
    assert_eq!(p1.json["total"], 8);
    assert_eq!(p1.json["limit"], 3);
    assert_eq!(names(&p1.json), ["admin", "user0", "user1"]);
    let p3 = c.get("/api/v1/users?limit=3&offset=6&sort=username", &admin);
    assert_eq!(names(&p3.json), ["user5", "user6"]);
    assert_eq!(p3.json["offset"], 6);
    let desc = c.get("/api/v1/users?limit=2&sort=-username", &admin);
    assert_eq!(names(&desc.json), ["user6", "user5"]);
    let ro = c.get("/api/v1/users?role=read-only&sort=id", &admin);
    assert_eq!(ro.json["total"], 3);
    assert_eq!(names(&ro.json), ["user1", "user3", "user6"]);
    let q = c.get("/api/v1/users?q=USER1", &admin);
    assert_eq!(names(&q.json), ["user1"]);
    let q = c.get("/api/v1/users?q=%25", &admin);
    assert_eq!(q.json["total"], 0, "% is matched literally");
    let past = c.get("/api/v1/users?offset=100", &admin);
    assert_eq!(past.json["items"].as_array().unwrap().len(), 0);
    assert_eq!(past.json["total"], 8);
    for bad in [
        "/api/v1/users?sort=password_hash",
        "/api/v1/users?limit=0",
        "/api/v1/users?limit=1001",
        "/api/v1/users?offset=-1",
        "/api/v1/users?limit=ten",
        "/api/v1/users?role=root",
        "/api/v1/tokens?kind=other",
    ] {
        c.get(bad, &admin).assert_error(400, "bad_request");
    }
}

pub fn error_shape(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.call("GET", "/api/v1/nothing-here", None, None)
        .assert_error(404, "not_found");
    c.call("GET", "/api", None, None)
        .assert_error(404, "not_found");
    c.call("DELETE", "/healthz", None, None)
        .assert_error(405, "method_not_allowed");
    c.get("/api/v1/users/abc", &admin)
        .assert_error(400, "bad_request");
    c.get("/api/v1/users/999999", &admin)
        .assert_error(404, "not_found");
    let a = c.call_with(
        "POST",
        "/api/v1/auth/login",
        Some(("content-type", "application/json".into())),
        None,
    );
    a.assert_error(400, "bad_request");
    let a = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"user": "admin"})),
    );
    a.assert_error(400, "bad_request");
    let a = c.call_with(
        "GET",
        "/api/v1/auth/me",
        Some(("authorization", "Basic YWRtaW4=".into())),
        None,
    );
    a.assert_error(401, "unauthenticated");
}

pub fn restart_keeps_state_and_certificate(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "persistent", "standard");
    let cert = c.console().tls().cert_pem.clone();
    let (dir, url) = c.stop();
    let mut cfg = crate::harness::config(dir.path());
    cfg.database_url = url.clone();
    cfg.database_ca = url.as_ref().and_then(|_| crate::pg::ca_file());
    // A different admin password now has no effect: the admin exists.
    cfg.admin_password = Some("ignored-because-admin-exists".into());
    let c = TestConsole::start_with(cfg, dir, url);
    assert!(matches!(c.initial_admin(), InitialAdmin::Existing));
    let tls = c.console().tls();
    assert!(!tls.generated_now);
    assert_eq!(tls.cert_pem, cert, "the certificate is reused");
    // The session from before the restart still works; so does the data.
    assert_eq!(c.get("/api/v1/auth/me", &admin).status, 200);
    c.login("persistent", "persistent-password-123");
    // Migrations are not re-applied.
    let store = c.console().store().clone();
    let applied = c.rt.block_on(async { store.migrate().await }).unwrap();
    assert!(applied.is_empty());
}

pub fn generated_admin_password(db: Db) {
    let c = start!(db, |cfg| cfg.admin_password = None);
    let InitialAdmin::Generated { username, password } = c.initial_admin() else {
        panic!("expected a generated password");
    };
    assert_eq!(username, "admin");
    assert!(password.len() >= 20);
    c.login(&username, &password);
}

pub fn metrics_count_requests(db: Db) {
    let c = start!(db);
    for _ in 0..3 {
        c.call("GET", "/healthz", None, None);
    }
    c.call("GET", "/api/v1/users/7", None, None);
    let a = c.call("GET", "/metrics", None, None);
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = a.json.as_str().unwrap();
    assert!(
        text.contains(
            "rampart_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"
        ),
        "{text}"
    );
    // Routes, not raw paths, label the series.
    assert!(
        text.contains("route=\"/api/v1/users/{id}\",status=\"401\""),
        "{text}"
    );
    assert!(text.contains("# TYPE rampart_http_request_duration_seconds histogram"));
}

pub fn oversized_body_is_refused(db: Db) {
    let c = start!(db);
    let big = "x".repeat(3 * 1024 * 1024);
    let a = c.try_call_with(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": big, "password": "p"})),
    );
    // The answer comes before the body is read in full: the client either
    // reads the 413 or finds the connection closed while still sending.
    match a {
        Ok(a) => a.assert_error(413, "payload_too_large"),
        Err(e) => println!("connection closed while sending: {e}"),
    }
    assert_eq!(c.call("GET", "/healthz", None, None).status, 200);
}

fn finding(kind: &str, rule: &str, sev: Severity) -> FindingReport {
    FindingReport {
        kind: kind.into(),
        rule_id: rule.into(),
        fingerprint: format!("{rule}@pkg"),
        severity: sev,
        title: format!("{rule} in pkg"),
        evidence: Some(json!({"package": "pkg", "version": "1.0"})),
    }
}

pub fn nodes_and_findings_read_from_store(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    let (host, container, f1, f2) = c.rt.block_on(async {
        let host = store
            .upsert_node(
                &NodeReport {
                    kind: "host".into(),
                    key: "machine-1".into(),
                    name: "web-1".into(),
                    parent_id: None,
                    attributes: Some(json!({"os": "debian 12"})),
                },
                now,
            )
            .await
            .unwrap();
        let container = store
            .upsert_node(
                &NodeReport {
                    kind: "container".into(),
                    key: "abc123".into(),
                    name: "nginx".into(),
                    parent_id: Some(host),
                    attributes: None,
                },
                now,
            )
            .await
            .unwrap();
        // The same node again: refreshed, not duplicated.
        let again = store
            .upsert_node(
                &NodeReport {
                    kind: "host".into(),
                    key: "machine-1".into(),
                    name: "web-1.example".into(),
                    parent_id: None,
                    attributes: None,
                },
                now + 5,
            )
            .await
            .unwrap();
        assert_eq!(again, host);
        let first = vec![
            finding("vulnerability", "CVE-2024-0001", Severity::Critical),
            finding("vulnerability", "CVE-2024-0002", Severity::High),
            finding("vulnerability", "CVE-2024-0003", Severity::Low),
            finding("secret", "RMP-SECRET-AWS-001", Severity::High),
        ];
        let f1 = store
            .record_findings(host, Some(1), &["vulnerability", "secret"], &first, now)
            .await
            .unwrap();
        // A later vulnerability scan: 0003 is gone, 0004 is new, secrets untouched.
        let second = vec![
            finding("vulnerability", "CVE-2024-0001", Severity::Critical),
            finding("vulnerability", "CVE-2024-0002", Severity::High),
            finding("vulnerability", "CVE-2024-0004", Severity::Medium),
        ];
        let f2 = store
            .record_findings(host, Some(2), &["vulnerability"], &second, now + 10)
            .await
            .unwrap();
        (host, container, f1, f2)
    });
    assert_eq!(f1, (4, 0));
    assert_eq!(f2, (1, 1));
    let hosts = c.get("/api/v1/nodes?type=host", &reader);
    assert_eq!(hosts.json["total"], 1, "{:#}", hosts.json);
    assert_eq!(hosts.json["items"][0]["name"], "web-1.example");
    assert_eq!(hosts.json["items"][0]["type"], "host");
    let children = c.get(&format!("/api/v1/nodes?parent={host}"), &reader);
    assert_eq!(children.json["items"][0]["id"], container);
    c.get("/api/v1/nodes?type=planet", &reader)
        .assert_error(400, "bad_request");
    let detail = c.get(&format!("/api/v1/nodes/{host}"), &reader);
    assert_eq!(detail.status, 200, "{:#}", detail.json);
    assert_eq!(detail.json["key"], "machine-1");
    assert_eq!(detail.json["findings"]["total"], 4);
    assert_eq!(
        detail.json["findings"]["by_kind"]["vulnerability"]["critical"],
        1
    );
    assert_eq!(
        detail.json["findings"]["by_kind"]["vulnerability"]["medium"],
        1
    );
    assert_eq!(detail.json["findings"]["by_kind"]["secret"]["high"], 1);
    c.get("/api/v1/nodes/424242", &reader)
        .assert_error(404, "not_found");
    // Open findings, worst first by default.
    let open = c.get(&format!("/api/v1/findings?node={host}"), &reader);
    assert_eq!(open.json["total"], 4);
    assert_eq!(open.json["items"][0]["rule_id"], "CVE-2024-0001");
    let high = c.get("/api/v1/findings?kind=vulnerability&severity=high", &reader);
    assert_eq!(high.json["total"], 1);
    assert_eq!(high.json["items"][0]["rule_id"], "CVE-2024-0002");
    assert_eq!(high.json["items"][0]["first_scan_id"], 1);
    assert_eq!(high.json["items"][0]["last_scan_id"], 2);
    let at_least = c.get("/api/v1/findings?min_severity=high", &reader);
    assert_eq!(at_least.json["total"], 3);
    let fixed = c.get("/api/v1/findings?status=fixed", &reader);
    assert_eq!(fixed.json["total"], 1);
    assert_eq!(fixed.json["items"][0]["rule_id"], "CVE-2024-0003");
    assert_eq!(fixed.json["items"][0]["evidence"]["package"], "pkg");
    let all = c.get("/api/v1/findings?status=all&sort=rule_id&limit=2", &reader);
    assert_eq!(all.json["total"], 5);
    assert_eq!(all.json["items"].as_array().unwrap().len(), 2);
    for bad in [
        "/api/v1/findings?kind=virus",
        "/api/v1/findings?severity=severe",
        "/api/v1/findings?status=closed",
        "/api/v1/findings?sort=title",
    ] {
        c.get(bad, &reader).assert_error(400, "bad_request");
    }
}

pub fn scans_state_machine(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "worker", "standard");
    let worker = c.login("worker", "worker-password-123");
    let store = c.console().store().clone();
    let a = c.call(
        "POST",
        "/api/v1/scans",
        Some(&worker),
        Some(json!({"targets": ["host"], "scanners": ["vuln", "secret", "vuln"]})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    assert_eq!(a.json["state"], "queued");
    assert_eq!(a.json["scanners"], json!(["secret", "vuln"]));
    assert_eq!(a.json["requested_by"], "worker");
    let id = a.json["id"].as_i64().unwrap();
    for bad in [
        json!({"targets": []}),
        json!({"targets": ["host"], "scanners": ["antivirus"]}),
        json!({"targets": ["host"], "timeout_secs": 5}),
        json!({"targets": ["host"], "priority": 1}),
    ] {
        c.call("POST", "/api/v1/scans", Some(&worker), Some(bad))
            .assert_error(400, "bad_request");
    }
    // A runner takes it and reports progress.
    let now = rampart_console::clock::now();
    let claimed =
        c.rt.block_on(store.claim_scan("runner-a", now))
            .unwrap()
            .unwrap();
    assert_eq!(
        (claimed.id, claimed.state.as_str(), claimed.attempts),
        (id, "running", 1)
    );
    assert!(
        c.rt.block_on(store.claim_scan("runner-b", now))
            .unwrap()
            .is_none()
    );
    assert!(
        c.rt.block_on(store.heartbeat_scan(id, "runner-a", now + 1))
            .unwrap()
    );
    assert!(
        !c.rt
            .block_on(store.heartbeat_scan(id, "runner-b", now + 1))
            .unwrap()
    );
    let got = c.get(&format!("/api/v1/scans/{id}"), &worker);
    assert_eq!(got.json["state"], "running");
    assert_eq!(got.json["runner"], "runner-a");
    // Cancelled: the runner's next heartbeat tells it to stop, and it can no
    // longer finish the scan.
    let cancelled = c.call(
        "POST",
        &format!("/api/v1/scans/{id}/cancel"),
        Some(&worker),
        Some(json!({"reason": "wrong host"})),
    );
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.json);
    assert_eq!(cancelled.json["state"], "cancelled");
    assert_eq!(cancelled.json["reason"], "cancelled by worker: wrong host");
    assert!(
        !c.rt
            .block_on(store.heartbeat_scan(id, "runner-a", now + 2))
            .unwrap()
    );
    assert!(
        c.rt.block_on(store.finish_scan(id, "runner-a", true, None, now + 3))
            .unwrap()
            .is_none()
    );
    c.call(
        "POST",
        &format!("/api/v1/scans/{id}/cancel"),
        Some(&worker),
        None,
    )
    .assert_error(409, "conflict");
    c.call("POST", "/api/v1/scans/99999/cancel", Some(&worker), None)
        .assert_error(404, "not_found");
    // Success and failure are final states.
    let ok_id = c
        .call(
            "POST",
            "/api/v1/scans",
            Some(&worker),
            Some(json!({"targets": ["a"]})),
        )
        .json["id"]
        .as_i64()
        .unwrap();
    c.rt.block_on(store.claim_scan("runner-a", now))
        .unwrap()
        .unwrap();
    let done =
        c.rt.block_on(store.finish_scan(ok_id, "runner-a", true, None, now + 5))
            .unwrap()
            .unwrap();
    assert_eq!(done.state, "succeeded");
    assert!(done.finished_at.is_some());
    let list = c.get("/api/v1/scans?state=succeeded", &worker);
    assert_eq!(list.json["total"], 1);
    let list = c.get("/api/v1/scans", &worker);
    assert_eq!(list.json["items"][0]["id"], ok_id, "newest first");
    c.get("/api/v1/scans?state=paused", &worker)
        .assert_error(400, "bad_request");
    let audit = c.get("/api/v1/audit?actor=worker&sort=id", &admin);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["auth.login", "scan.create", "scan.cancel", "scan.create"]
    );
}

pub fn scans_never_stay_in_progress(db: Db) {
    let c = start!(db, |cfg| cfg.scan_max_attempts = 2);
    let admin = c.admin();
    let store = c.console().store().clone();
    let t = ScanTimeouts {
        heartbeat_secs: 60,
        queued_secs: 3600,
    };
    let create = |targets: &str| {
        c.call(
            "POST",
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"targets": [targets], "timeout_secs": 600})),
        )
        .json["id"]
            .as_i64()
            .unwrap()
    };
    let now = rampart_console::clock::now();
    // A silent runner: retried once, then timed out with the reason.
    let silent = create("silent");
    c.rt.block_on(store.claim_scan("runner-a", now))
        .unwrap()
        .unwrap();
    let r = c.rt.block_on(store.reap_scans(t, now + 30)).unwrap();
    assert_eq!(r, Reaped::default(), "still within the heartbeat timeout");
    let r = c.rt.block_on(store.reap_scans(t, now + 61)).unwrap();
    assert_eq!(r.requeued, 1);
    let s = c.get(&format!("/api/v1/scans/{silent}"), &admin).json;
    assert_eq!(s["state"], "queued");
    assert!(s["reason"].as_str().unwrap().contains("retrying"), "{s:#}");
    let again =
        c.rt.block_on(store.claim_scan("runner-b", now + 62))
            .unwrap()
            .unwrap();
    assert_eq!(again.attempts, 2);
    let r = c.rt.block_on(store.reap_scans(t, now + 200)).unwrap();
    assert_eq!((r.requeued, r.timed_out), (0, 1));
    let s = c.get(&format!("/api/v1/scans/{silent}"), &admin).json;
    assert_eq!(s["state"], "timed-out");
    assert_eq!(
        s["reason"],
        "runner runner-b stopped sending heartbeats after 2 attempt(s)"
    );
    // A runner that beats but never ends: its time limit ends it.
    let slow = create("slow");
    c.rt.block_on(store.claim_scan("runner-a", now))
        .unwrap()
        .unwrap();
    for beat in [100, 300, 500, 590] {
        assert!(
            c.rt.block_on(store.heartbeat_scan(slow, "runner-a", now + beat))
                .unwrap()
        );
        c.rt.block_on(store.reap_scans(t, now + beat + 1)).unwrap();
    }
    assert!(
        c.rt.block_on(store.heartbeat_scan(slow, "runner-a", now + 600))
            .unwrap()
    );
    c.rt.block_on(store.reap_scans(t, now + 601)).unwrap();
    let s = c.get(&format!("/api/v1/scans/{slow}"), &admin).json;
    assert_eq!(s["state"], "timed-out", "{s:#}");
    assert_eq!(s["reason"], "exceeded its time limit of 600 s");
    // Nobody takes it.
    let orphan = create("orphan");
    c.rt.block_on(store.reap_scans(t, now + 3700)).unwrap();
    let s = c.get(&format!("/api/v1/scans/{orphan}"), &admin).json;
    assert_eq!(s["state"], "timed-out");
    assert_eq!(s["reason"], "no runner took it within 3600 s");
}

pub fn reaper_runs_in_the_background(db: Db) {
    let c = start!(db, |cfg| {
        cfg.scan_heartbeat_timeout_secs = 1;
        cfg.scan_max_attempts = 1;
    });
    let admin = c.admin();
    let id = c
        .call(
            "POST",
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"targets": ["x"]})),
        )
        .json["id"]
        .as_i64()
        .unwrap();
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    c.rt.block_on(store.claim_scan("gone", now))
        .unwrap()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let s = c.get(&format!("/api/v1/scans/{id}"), &admin).json;
        if s["state"] == "timed-out" {
            assert!(
                s["reason"].as_str().unwrap().contains("heartbeats"),
                "{s:#}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {s:#}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

pub fn ended_sessions_are_purged(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let old = c.admin();
    assert_eq!(
        c.call("POST", "/api/v1/auth/logout", Some(&old), None)
            .status,
        204
    );
    let api = c.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"name": "kept"})),
    );
    let api_id = api.json["info"]["id"].as_i64().unwrap();
    c.call(
        "DELETE",
        &format!("/api/v1/tokens/{api_id}"),
        Some(&admin),
        None,
    );
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    // Within the grace period nothing goes.
    assert_eq!(c.rt.block_on(store.purge_sessions(now, 86_400)).unwrap(), 0);
    // Later: the revoked session goes; the live session and the revoked API
    // token (still listed for the record) stay.
    assert_eq!(
        c.rt.block_on(store.purge_sessions(now + 86_400 + 10, 86_400))
            .unwrap(),
        1
    );
    assert_eq!(c.get("/api/v1/auth/me", &admin).status, 200);
    let list = c.get("/api/v1/tokens?sort=id", &admin);
    let kinds: Vec<&str> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["session", "api"], "{:#}", list.json);
}

pub fn suppressions_mask_findings(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "worker", "standard");
    c.create_user(&admin, "reader", "read-only");
    let worker = c.login("worker", "worker-password-123");
    let reader = c.login("reader", "reader-password-123");
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    let (a, b) = c.rt.block_on(async {
        let mut ids = Vec::new();
        for key in ["a", "b"] {
            let id = store
                .upsert_node(
                    &NodeReport {
                        kind: "host".into(),
                        key: key.into(),
                        name: key.into(),
                        parent_id: None,
                        attributes: None,
                    },
                    now,
                )
                .await
                .unwrap();
            let found = vec![
                finding("vulnerability", "CVE-1", Severity::High),
                finding("vulnerability", "CVE-2", Severity::Low),
            ];
            store
                .record_findings(id, None, &["vulnerability"], &found, now)
                .await
                .unwrap();
            ids.push(id);
        }
        (ids[0], ids[1])
    });
    assert_eq!(c.get("/api/v1/findings", &reader).json["total"], 4);
    // Read-only users may not suppress.
    c.call(
        "POST",
        "/api/v1/suppressions",
        Some(&reader),
        Some(json!({"rule_id": "CVE-1", "reason": "x"})),
    )
    .assert_error(403, "forbidden");
    // CVE-2 everywhere, CVE-1 only on node a.
    let global = c.call(
        "POST",
        "/api/v1/suppressions",
        Some(&worker),
        Some(json!({"rule_id": "CVE-2", "reason": "not reachable: the feature is compiled out"})),
    );
    assert_eq!(global.status, 201, "{:#}", global.json);
    assert!(global.json["node_id"].is_null());
    let local = c.call(
        "POST",
        "/api/v1/suppressions",
        Some(&worker),
        Some(json!({"rule_id": "CVE-1", "node_id": a, "reason": "mitigated by the WAF"})),
    );
    assert_eq!(local.status, 201);
    for bad in [
        json!({"rule_id": "CVE-1", "reason": ""}),
        json!({"rule_id": "", "reason": "r"}),
        json!({"rule_id": "CVE-1", "node_id": 99999, "reason": "r"}),
    ] {
        c.call("POST", "/api/v1/suppressions", Some(&worker), Some(bad))
            .assert_error(400, "bad_request");
    }
    let visible = c.get("/api/v1/findings", &reader);
    assert_eq!(visible.json["total"], 1, "{:#}", visible.json);
    assert_eq!(visible.json["items"][0]["node_id"], b);
    assert_eq!(visible.json["items"][0]["rule_id"], "CVE-1");
    assert_eq!(visible.json["items"][0]["suppressed"], false);
    let masked = c.get("/api/v1/findings?suppressed=true", &reader);
    assert_eq!(masked.json["total"], 3);
    assert!(
        masked.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["suppressed"] == true)
    );
    assert_eq!(
        c.get("/api/v1/findings?suppressed=all", &reader).json["total"],
        4
    );
    c.get("/api/v1/findings?suppressed=maybe", &reader)
        .assert_error(400, "bad_request");
    let summary = c.get(&format!("/api/v1/nodes/{a}"), &reader).json["findings"].clone();
    assert_eq!(summary["total"], 0, "{summary:#}");
    assert_eq!(summary["suppressed"], 2);
    let list = c.get("/api/v1/suppressions?global=false", &reader);
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["items"][0]["reason"], "mitigated by the WAF");
    assert_eq!(list.json["items"][0]["created_by"], "worker");
    // Removing one shows its findings again; both actions are audited.
    let id = global.json["id"].as_i64().unwrap();
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/suppressions/{id}"),
            Some(&worker),
            None
        )
        .status,
        204
    );
    c.call(
        "DELETE",
        &format!("/api/v1/suppressions/{id}"),
        Some(&worker),
        None,
    )
    .assert_error(404, "not_found");
    assert_eq!(c.get("/api/v1/findings", &reader).json["total"], 3);
    let audit = c.get("/api/v1/audit?actor=worker&sort=id", &admin);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "auth.login",
            "suppression.create",
            "suppression.create",
            "suppression.delete"
        ]
    );
    assert_eq!(
        audit.json["items"][2]["detail"]["reason"],
        "mitigated by the WAF"
    );
}

pub fn database_connection_is_encrypted(db: Db) {
    let c = start!(db);
    let store = c.console().store().clone();
    let encrypted = c.rt.block_on(store.connection_encrypted()).unwrap();
    if db == Db::Sqlite {
        assert_eq!(encrypted, None);
        return;
    }
    assert_eq!(encrypted, Some(true), "TLS to PostgreSQL by default");
    let url = c.database_url.clone().unwrap();
    // sslmode=disable: plain TCP, on request only.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::harness::config(dir.path());
    cfg.database_url = Some(format!("{url}?sslmode=disable"));
    let plain = TestConsole::start_with(cfg, dir, None);
    let store = plain.console().store().clone();
    assert_eq!(
        plain.rt.block_on(store.connection_encrypted()).unwrap(),
        Some(false)
    );
    // A CA that did not sign the server's certificate: refused, not downgraded.
    let dir = tempfile::tempdir().unwrap();
    let wrong_ca = dir.path().join("other-ca.pem");
    std::fs::write(&wrong_ca, &c.console().tls().cert_pem).unwrap();
    let mut cfg = crate::harness::config(dir.path());
    cfg.database_url = Some(url.clone());
    cfg.database_ca = Some(wrong_ca);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(rampart_console::start(cfg)).unwrap_err();
    let chain = anyhow_chain(&err);
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
    // A CA file that holds no certificate is refused.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let mut cfg = crate::harness::config(dir.path());
    cfg.database_url = Some(url);
    cfg.database_ca = Some(empty);
    let err = rt.block_on(rampart_console::start(cfg)).unwrap_err();
    assert!(
        anyhow_chain(&err).contains("no usable CA certificate"),
        "{}",
        anyhow_chain(&err)
    );
}

fn anyhow_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

pub fn scans_can_be_compared(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    let new_scan = |targets: &str| -> i64 {
        c.call(
            "POST",
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"targets": [targets], "scanners": ["vuln"]})),
        )
        .json["id"]
            .as_i64()
            .unwrap()
    };
    // Three scans of host h (the last one still running) and one of another target.
    let (s1, s2, s3) = (new_scan("h"), new_scan("h"), new_scan("h"));
    let other = new_scan("elsewhere");
    c.rt.block_on(async {
        let node = store
            .upsert_node(
                &NodeReport {
                    kind: "host".into(),
                    key: "h".into(),
                    name: "h".into(),
                    parent_id: None,
                    attributes: None,
                },
                now,
            )
            .await
            .unwrap();
        let reports = [
            (s1, vec!["CVE-1", "CVE-2", "CVE-3"]),
            (s2, vec!["CVE-2", "CVE-3", "CVE-4", "CVE-5"]),
            (s3, vec!["CVE-5"]),
        ];
        for (scan, ids) in reports {
            let runner = format!("r{scan}");
            let claimed = store.claim_scan(&runner, now).await.unwrap().unwrap();
            assert_eq!(claimed.id, scan);
            let found: Vec<FindingReport> = ids
                .iter()
                .map(|id| {
                    let sev = if *id == "CVE-4" {
                        Severity::Critical
                    } else {
                        Severity::Low
                    };
                    finding("vulnerability", id, sev)
                })
                .collect();
            store
                .record_findings(node, Some(scan), &["vulnerability"], &found, now)
                .await
                .unwrap();
            if scan != s3 {
                store
                    .finish_scan(scan, &runner, true, None, now)
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
    });
    // Default: against the latest earlier succeeded scan of the same targets.
    let d = c.get(&format!("/api/v1/scans/{s2}/diff"), &admin);
    assert_eq!(d.status, 200, "{:#}", d.json);
    assert_eq!(d.json["against"], s1);
    let rules = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules(&d.json["added"]), ["CVE-4", "CVE-5"], "worst first");
    assert_eq!(rules(&d.json["removed"]), ["CVE-1"]);
    assert_eq!(d.json["unchanged_total"], 2);
    // The running scan s3 compares with s2 (the last succeeded one).
    let d = c.get(&format!("/api/v1/scans/{s3}/diff?limit=1"), &admin);
    assert_eq!(d.json["against"], s2);
    assert_eq!(d.json["removed_total"], 3);
    assert_eq!(d.json["removed"].as_array().unwrap().len(), 1);
    assert_eq!(d.json["removed"][0]["rule_id"], "CVE-4");
    assert_eq!(d.json["added_total"], 0);
    // Explicit comparison, either way round.
    let d = c.get(&format!("/api/v1/scans/{s1}/diff?against={s3}"), &admin);
    assert_eq!(rules(&d.json["added"]), ["CVE-1", "CVE-2", "CVE-3"]);
    assert_eq!(rules(&d.json["removed"]), ["CVE-5"]);
    // Nothing earlier to compare with.
    c.get(&format!("/api/v1/scans/{s1}/diff"), &admin)
        .assert_error(404, "not_found");
    c.get(&format!("/api/v1/scans/{other}/diff"), &admin)
        .assert_error(404, "not_found");
    c.get(&format!("/api/v1/scans/{s2}/diff?against=9999"), &admin)
        .assert_error(404, "not_found");
    c.get(&format!("/api/v1/scans/{s2}/diff?limit=0"), &admin)
        .assert_error(400, "bad_request");
}

pub fn agents_enroll_once_and_run_scans(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "worker", "standard");
    let worker = c.login("worker", "worker-password-123");
    let t = c.call(
        "POST",
        "/api/v1/agents/enrollment-tokens",
        Some(&admin),
        Some(json!({"name": "web hosts", "expires_in_hours": 2})),
    );
    assert_eq!(t.status, 201, "{:#}", t.json);
    let token = t.json["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("rme_"));
    let enroll = |tok: &str, host: &str| {
        c.call(
            "POST",
            "/api/v1/agents/enroll",
            None,
            Some(json!({"enrollment_token": tok, "hostname": host})),
        )
    };
    let a = enroll(&token, "web-1");
    assert_eq!(a.status, 201, "{:#}", a.json);
    let cred = a.json["credential"].as_str().unwrap().to_string();
    assert!(cred.starts_with("rma_"));
    let agent_id = a.json["agent"]["id"].as_i64().unwrap();
    // One time only; unknown tokens fail the same way.
    enroll(&token, "web-2").assert_error(401, "unauthenticated");
    enroll("rme_made-up", "web-3").assert_error(401, "unauthenticated");
    let tokens = c.get("/api/v1/agents/enrollment-tokens", &admin);
    assert_eq!(tokens.json["items"][0]["agent_id"], agent_id);
    assert!(tokens.json["items"][0]["used_at"].is_string());
    assert!(!tokens.json.to_string().contains(&token));
    // A revoked enrollment token cannot be used.
    let t2 = c.call(
        "POST",
        "/api/v1/agents/enrollment-tokens",
        Some(&admin),
        Some(json!({"name": "revoked"})),
    );
    let t2_id = t2.json["info"]["id"].as_i64().unwrap();
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/agents/enrollment-tokens/{t2_id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    enroll(t2.json["token"].as_str().unwrap(), "x").assert_error(401, "unauthenticated");
    // The agent reports its host, then runs a scan of it through the API:
    // claim, heartbeats, finish.
    assert_eq!(
        c.call("POST", "/api/v1/agent/scans/claim", Some(&cred), None)
            .status,
        204
    );
    let snapshot = json!({
        "protocol": 1, "agent_version": "test", "seq": 1, "base": null, "collected_at": 0,
        "mode": "procfs", "upsert": [],
        "host": {"machine_id": "m-web-1", "hostname": "web-1", "os": {"id": "debian",
                 "version_id": null, "pretty_name": null}, "kernel": "6.1", "arch": "x86_64",
                 "cpus": 1, "memory_bytes": 1, "boot_time": 0, "interfaces": [], "cloud": null},
    });
    let r = c.call("POST", "/api/v1/agent/report", Some(&cred), Some(snapshot));
    assert_eq!(r.status, 200, "{:#}", r.json);
    let host = c.get("/api/v1/nodes?type=host", &worker).json["items"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let scan = c.call(
        "POST",
        "/api/v1/scans",
        Some(&worker),
        Some(json!({"targets": [host]})),
    );
    let scan_id = scan.json["id"].as_i64().unwrap();
    let claimed = c.call("POST", "/api/v1/agent/scans/claim", Some(&cred), None);
    assert_eq!(claimed.status, 200, "{:#}", claimed.json);
    assert_eq!(claimed.json["scan_id"], scan_id);
    assert_eq!(claimed.json["targets"], json!(["host"]));
    let scan = c.get(&format!("/api/v1/scans/{scan_id}"), &worker);
    assert_eq!(scan.json["runner"], format!("agent:{agent_id}"));
    let hb = format!("/api/v1/agent/scans/{scan_id}/heartbeat");
    assert_eq!(c.call("POST", &hb, Some(&cred), None).status, 204);
    let done = c.call(
        "POST",
        &format!("/api/v1/agent/scans/{scan_id}/finish"),
        Some(&cred),
        Some(json!({"succeeded": false, "reason": "image not found"})),
    );
    assert_eq!(done.status, 200, "{:#}", done.json);
    assert_eq!(done.json["state"], "failed");
    assert_eq!(done.json["reason"], "image not found");
    c.call("POST", &hb, Some(&cred), None)
        .assert_error(409, "conflict");
    // A cancelled scan tells its agent to stop.
    let s2 = c
        .call(
            "POST",
            "/api/v1/scans",
            Some(&worker),
            Some(json!({"targets": [host]})),
        )
        .json["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        c.call("POST", "/api/v1/agent/scans/claim", Some(&cred), None)
            .json["scan_id"],
        s2
    );
    c.call(
        "POST",
        &format!("/api/v1/scans/{s2}/cancel"),
        Some(&worker),
        None,
    );
    c.call(
        "POST",
        &format!("/api/v1/agent/scans/{s2}/heartbeat"),
        Some(&cred),
        None,
    )
    .assert_error(409, "conflict");
    // Listed, last seen; revoked: locked out.
    let agents = c.get("/api/v1/agents", &worker);
    assert_eq!(agents.json["items"][0]["hostname"], "web-1");
    assert!(agents.json["items"][0]["last_seen_at"].is_string());
    c.call(
        "DELETE",
        &format!("/api/v1/agents/{agent_id}"),
        Some(&worker),
        None,
    )
    .assert_error(403, "forbidden");
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/agents/{agent_id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    c.call(
        "DELETE",
        &format!("/api/v1/agents/{agent_id}"),
        Some(&admin),
        None,
    )
    .assert_error(409, "conflict");
    c.call("POST", "/api/v1/agent/scans/claim", Some(&cred), None)
        .assert_error(401, "unauthenticated");
    let audit = c.get("/api/v1/audit?sort=id&limit=1000", &admin);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("agent") || a.starts_with("enrollment"))
        .collect();
    assert_eq!(
        actions,
        [
            "enrollment_token.create",
            "agent.enroll",
            "agent.enroll",
            "agent.enroll",
            "enrollment_token.create",
            "enrollment_token.revoke",
            "agent.enroll",
            "agent.revoke"
        ]
    );
}
