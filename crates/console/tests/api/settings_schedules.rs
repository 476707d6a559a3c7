//! Settings, schedules and the scheduler, audit entries in the action's
//! transaction, and the PostgreSQL pool: each run on both backends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_console::scheduler;
use rampart_console::store::settings::Settings;
use rampart_console::store::{Backend, PostgresBackend, SqliteBackend, Stmt, Value};
use serde_json::json;

use crate::harness::{Db, TestConsole};

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

/// A second, raw connection to the console's database.
pub fn raw_db(c: &TestConsole) -> Arc<dyn Backend> {
    match &c.database_url {
        None => Arc::new(SqliteBackend::open(&c.dir.path().join("console.db")).unwrap()),
        Some(url) => c.rt.block_on(async {
            Arc::new(
                PostgresBackend::connect(url, crate::pg::ca_file().as_deref())
                    .await
                    .unwrap(),
            ) as Arc<dyn Backend>
        }),
    }
}

fn audit_actions(c: &TestConsole, admin: &str, action: &str) -> Vec<serde_json::Value> {
    let a = c.get(&format!("/api/v1/audit?action={action}"), admin);
    assert_eq!(a.status, 200, "{:#}", a.json);
    a.json["items"].as_array().unwrap().clone()
}

pub fn settings_are_typed_validated_and_used(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let s = c.get("/api/v1/settings", &reader);
    assert_eq!(s.status, 200, "{:#}", s.json);
    assert_eq!(s.json["settings"]["default_scan_timeout_secs"], 3600);
    assert_eq!(s.json["settings"]["scan_max_attempts"], 3);
    assert_eq!(s.json["settings"]["session_ttl_secs"], 43_200);
    assert_eq!(s.json["settings"]["schedules_paused"], false);
    assert_eq!(s.json["defaults"], s.json["settings"]);
    // Only admins change them.
    c.call(
        "PATCH",
        "/api/v1/settings",
        Some(&reader),
        Some(json!({"scan_max_attempts": 2})),
    )
    .assert_error(403, "forbidden");
    // Out of range, wrong type, unknown: refused, nothing stored.
    for bad in [
        json!({"default_scan_timeout_secs": 59}),
        json!({"scan_max_attempts": 11}),
        json!({"session_ttl_secs": 10}),
        json!({"schedules_paused": "yes"}),
        json!({"retention": 1}),
    ] {
        c.call("PATCH", "/api/v1/settings", Some(&admin), Some(bad.clone()))
            .assert_error(400, "bad_request");
    }
    let a = c.call(
        "PATCH",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"default_scan_timeout_secs": 120, "scan_max_attempts": 5, "session_ttl_secs": 600})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert_eq!(a.json["settings"]["default_scan_timeout_secs"], 120);
    assert_eq!(a.json["defaults"]["default_scan_timeout_secs"], 3600);
    let entries = audit_actions(&c, &admin, "settings.update");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["detail"]["changes"]["scan_max_attempts"],
        json!({"from": 3, "to": 5})
    );
    // The code reads them: new scans get the default timeout and attempts,
    // new logins the session lifetime.
    let scan = c.call(
        "POST",
        "/api/v1/scans",
        Some(&admin),
        Some(json!({"targets": ["host"]})),
    );
    assert_eq!(scan.status, 201, "{:#}", scan.json);
    assert_eq!(scan.json["timeout_secs"], 120);
    assert_eq!(scan.json["max_attempts"], 5);
    let login = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": crate::harness::ADMIN_PASSWORD})),
    );
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Max-Age=600"), "{cookie}");
    // Another console on the same database sees the same values.
    if db == Db::Postgres {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::harness::config(dir.path());
        cfg.database_url.clone_from(&c.database_url);
        cfg.database_ca = crate::pg::ca_file();
        let other = TestConsole::start_with(cfg, dir, None);
        let t = other.admin();
        assert_eq!(
            other.get("/api/v1/settings", &t).json["settings"]["scan_max_attempts"],
            5
        );
    }
}

pub fn schedules_crud(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    for (bad, why) in [
        (
            json!({"name": "x", "cron": "61 * * * *", "targets": ["host"]}),
            "minute",
        ),
        (
            json!({"name": "x", "cron": "* * *", "targets": ["host"]}),
            "5 fields",
        ),
        (
            json!({"name": "x", "cron": "@reboot", "targets": ["host"]}),
            "macro",
        ),
        (
            json!({"name": "x", "cron": "0 0 30 2 *", "targets": ["host"]}),
            "never",
        ),
        (
            json!({"name": "x", "cron": "@daily", "targets": []}),
            "targets",
        ),
        (
            json!({"name": "x", "cron": "@daily", "targets": ["host"], "scanners": ["nope"]}),
            "scanner",
        ),
        (
            json!({"name": "", "cron": "@daily", "targets": ["host"]}),
            "name",
        ),
        (
            json!({"name": "x", "cron": "@daily", "targets": ["host"], "timeout_secs": 5}),
            "timeout",
        ),
    ] {
        let a = c.call("POST", "/api/v1/schedules", Some(&admin), Some(bad));
        a.assert_error(400, "bad_request");
        assert!(
            a.json["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {:#}",
            a.json
        );
    }
    c.call(
        "POST",
        "/api/v1/schedules",
        Some(&reader),
        Some(json!({"name": "nightly", "cron": "@daily", "targets": ["host"]})),
    )
    .assert_error(403, "forbidden");
    let a = c.call(
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(json!({"name": "nightly", "cron": "30 2 * * mon-fri", "targets": ["host"], "scanners": ["vuln"]})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    let id = a.json["id"].as_i64().unwrap();
    assert_eq!(a.json["enabled"], true);
    assert_eq!(a.json["timeout_secs"], serde_json::Value::Null);
    let next = a.json["next_run_at"].as_str().unwrap().to_string();
    assert!(next.ends_with("T02:30:00Z"), "{next}");
    let next_t = rampart_console::clock::parse_time(&next).unwrap();
    let weekday = (next_t.div_euclid(86_400) + 4).rem_euclid(7);
    assert!((1..=5).contains(&weekday), "{next} is a weekday");
    c.call(
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(json!({"name": "nightly", "cron": "@daily", "targets": ["host"]})),
    )
    .assert_error(409, "conflict");
    let list = c.get("/api/v1/schedules?enabled=true", &reader);
    assert_eq!(list.json["total"], 1);
    assert_eq!(
        c.get(&format!("/api/v1/schedules/{id}"), &reader).json["name"],
        "nightly"
    );
    // Disabling clears the next run; a new expression and enabling set it.
    let a = c.call(
        "PATCH",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        Some(json!({"enabled": false})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert_eq!(a.json["next_run_at"], serde_json::Value::Null);
    let a = c.call(
        "PATCH",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        Some(json!({"enabled": true, "cron": "@hourly", "timeout_secs": 600, "scanners": ["secret", "vuln"]})),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert!(a.json["next_run_at"].as_str().unwrap().ends_with(":00:00Z"));
    assert_eq!(a.json["cron"], "@hourly");
    assert_eq!(a.json["timeout_secs"], 600);
    assert_eq!(a.json["scanners"], json!(["secret", "vuln"]));
    c.call(
        "PATCH",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        Some(json!({"cron": "bad"})),
    )
    .assert_error(400, "bad_request");
    c.call(
        "PATCH",
        "/api/v1/schedules/999",
        Some(&admin),
        Some(json!({"enabled": true})),
    )
    .assert_error(404, "not_found");
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/schedules/{id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    c.call(
        "DELETE",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        None,
    )
    .assert_error(404, "not_found");
    for action in ["schedule.create", "schedule.update", "schedule.delete"] {
        assert!(!audit_actions(&c, &admin, action).is_empty(), "{action}");
    }
}

/// Due schedules are queued once, even when two consoles on one database
/// run the scheduler at the same moment; missed runs give one scan.
pub fn scheduler_queues_each_run_once(db: Db) {
    let c = start!(db, |cfg| cfg.scheduler_interval_secs = 3600);
    let admin = c.admin();
    for i in 0..5 {
        let a = c.call(
            "POST",
            "/api/v1/schedules",
            Some(&admin),
            Some(json!({"name": format!("s{i}"), "cron": "@hourly", "targets": [format!("dir:/srv/{i}")]})),
        );
        assert_eq!(a.status, 201, "{:#}", a.json);
    }
    // A second console on the same database (PostgreSQL), or a second
    // store on the same file (SQLite).
    let dir = tempfile::tempdir().unwrap();
    let other = match db {
        Db::Postgres => {
            let mut cfg = crate::harness::config(dir.path());
            cfg.database_url.clone_from(&c.database_url);
            cfg.database_ca = crate::pg::ca_file();
            cfg.scheduler_interval_secs = 3600;
            Some(TestConsole::start_with(cfg, dir, None))
        }
        Db::Sqlite => None,
    };
    let store_a = c.console().store().clone();
    let store_b = match &other {
        Some(o) => o.console().store().clone(),
        None => rampart_console::store::Store::new(raw_db(&c)),
    };
    let defaults = Settings::defaults(&crate::harness::config(c.dir.path()));
    // Ten days later: 240 missed hourly runs per schedule.
    let later = rampart_console::clock::now() + 10 * 86_400;
    let (a, b) = c.rt.block_on(async {
        let (a, b) = tokio::join!(
            scheduler::pass(&store_a, &defaults, later),
            scheduler::pass(&store_b, &defaults, later)
        );
        (a.unwrap(), b.unwrap())
    });
    assert_eq!(a.queued + b.queued, 5, "{a:?} {b:?}");
    let scans = c.get("/api/v1/scans?limit=100", &admin).json;
    assert_eq!(scans["total"], 5, "one scan per schedule, not a burst");
    // Nothing more is due at the same time; the next run is after `later`.
    let again =
        c.rt.block_on(scheduler::pass(&store_a, &defaults, later))
            .unwrap();
    assert_eq!(again.queued, 0);
    let list = c.get("/api/v1/schedules", &admin).json;
    for s in list["items"].as_array().unwrap() {
        let next = rampart_console::clock::parse_time(s["next_run_at"].as_str().unwrap()).unwrap();
        assert!(next > later && next <= later + 3600, "{s:#}");
        assert!(s["last_scan_id"].as_i64().is_some());
        let scan = c
            .get(&format!("/api/v1/scans/{}", s["last_scan_id"]), &admin)
            .json;
        assert_eq!(scan["targets"], s["targets"]);
        assert_eq!(
            scan["requested_by"],
            format!("schedule:{}", s["name"].as_str().unwrap())
        );
    }
    let audited = audit_actions(&c, &admin, "scan.create");
    assert_eq!(
        audited.iter().filter(|e| e["actor"] == "scheduler").count(),
        5
    );
    // Paused: nothing is queued.
    let p = c.call(
        "PATCH",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({"schedules_paused": true})),
    );
    assert_eq!(p.status, 200);
    let paused =
        c.rt.block_on(scheduler::pass(&store_a, &defaults, later + 7200))
            .unwrap();
    assert_eq!(paused.queued, 0);
}

/// The scheduler task runs by itself.
pub fn scheduler_runs_in_the_background(db: Db) {
    let c = start!(db, |cfg| cfg.scheduler_interval_secs = 1);
    let admin = c.admin();
    let a = c.call(
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(json!({"name": "every-minute", "cron": "* * * * *", "targets": ["host"]})),
    );
    assert_eq!(a.status, 201);
    // Make it due now.
    let raw = raw_db(&c);
    c.rt.block_on(raw.execute(
        "UPDATE schedules SET next_run_at = ?",
        vec![Value::from(rampart_console::clock::now() - 5)],
    ))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = c.get("/api/v1/scans", &admin).json;
        if s["total"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the scheduler queued nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// When the audit entry cannot be written, the action is rolled back.
pub fn audit_failure_rolls_back_the_action(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let raw = raw_db(&c);
    c.rt.block_on(async {
        match db {
            Db::Sqlite => {
                raw.execute(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
                     WHEN NEW.action IN ('user.create', 'schedule.create') \
                     BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END",
                    vec![],
                )
                .await
                .unwrap();
            }
            Db::Postgres => {
                raw.execute(
                    "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
                     RAISE EXCEPTION 'audit refused by the test'; END $$ LANGUAGE plpgsql",
                    vec![],
                )
                .await
                .unwrap();
                raw.execute(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW \
                     WHEN (NEW.action IN ('user.create', 'schedule.create')) \
                     EXECUTE FUNCTION refuse_audit()",
                    vec![],
                )
                .await
                .unwrap();
            }
        }
    });
    let a = c.call(
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "ghost", "password": "ghost-password-123", "role": "standard"})),
    );
    a.assert_error(500, "internal");
    let users = c.get("/api/v1/users?q=ghost", &admin).json;
    assert_eq!(
        users["total"], 0,
        "the user was rolled back with its audit entry"
    );
    let a = c.call(
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(json!({"name": "ghost", "cron": "@daily", "targets": ["host"]})),
    );
    a.assert_error(500, "internal");
    assert_eq!(c.get("/api/v1/schedules", &admin).json["total"], 0);
    // The connection is usable afterwards, and other actions still work.
    let t = c.call(
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({"name": "after"})),
    );
    assert_eq!(t.status, 201, "{:#}", t.json);
    assert_eq!(audit_actions(&c, &admin, "token.create").len(), 1);
}

/// PostgreSQL only: queries on the pool run concurrently, and broken
/// connections are replaced.
pub fn postgres_pool_is_concurrent(db: Db) {
    if db == Db::Sqlite {
        return;
    }
    let c = start!(db);
    let url = c.database_url.clone().unwrap();
    let ca = crate::pg::ca_file();
    let timed = |size: usize| {
        c.rt.block_on(async {
            let pg = Arc::new(
                PostgresBackend::connect_pooled(&url, ca.as_deref(), size)
                    .await
                    .unwrap(),
            );
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let pg = Arc::clone(&pg);
                tasks.push(tokio::spawn(async move {
                    pg.query("SELECT pg_sleep(0.4)::TEXT", vec![])
                        .await
                        .unwrap();
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        })
    };
    let pooled = timed(4);
    let single = timed(1);
    println!("4 x pg_sleep(0.4): pool of 4 {pooled:?}, pool of 1 {single:?}");
    assert!(single >= Duration::from_millis(1600), "{single:?}");
    assert!(pooled < Duration::from_millis(1200), "{pooled:?}");
    // Kill every other session of this database: the pool reconnects.
    c.rt.block_on(async {
        let pg = PostgresBackend::connect_pooled(&url, ca.as_deref(), 2)
            .await
            .unwrap();
        let killer = PostgresBackend::connect(&url, ca.as_deref()).await.unwrap();
        killer
            .query(
                "SELECT pg_terminate_backend(pid)::TEXT FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                vec![],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The first use may see the broken connection fail; then it is
        // replaced.
        let mut ok = false;
        for _ in 0..3 {
            if pg.query("SELECT 1", vec![]).await.is_ok() {
                ok = true;
                break;
            }
        }
        assert!(ok, "the pool did not reconnect");
    });
    // The console itself still answers.
    assert_eq!(c.call("GET", "/healthz", None, None).status, 200);
}

/// `Backend::transaction` on one connection: hundreds of statements whose
/// order matters (each reads what the one before wrote) run in order, a
/// guard that changes no row rolls everything back, an error in the middle
/// of a pipeline rolls everything back, and the connection is usable
/// afterwards (a pool of one).
pub fn transactions_keep_order_and_roll_back(db: Db) {
    let c = start!(db);
    let raw: Arc<dyn Backend> = match (&c.database_url, db) {
        (Some(url), Db::Postgres) => c.rt.block_on(async {
            Arc::new(
                PostgresBackend::connect_pooled(url, crate::pg::ca_file().as_deref(), 1)
                    .await
                    .unwrap(),
            ) as Arc<dyn Backend>
        }),
        _ => raw_db(&c),
    };
    let count = |raw: &Arc<dyn Backend>| {
        c.rt.block_on(raw.query("SELECT COUNT(*), COALESCE(MAX(v), 0) FROM tx_order", vec![]))
            .unwrap()[0]
            .clone()
    };
    c.rt.block_on(raw.execute(
        "CREATE TABLE tx_order (n BIGINT PRIMARY KEY, v BIGINT NOT NULL)",
        vec![],
    ))
    .unwrap();
    // 600 statements (more than one pipeline): each row's value is the
    // previous row's plus one, so any reordering breaks the chain.
    let mut stmts = vec![Stmt::new(
        "INSERT INTO tx_order (n, v) VALUES (?, ?)",
        vec![0i64.into(), 1i64.into()],
    )];
    for n in 1..600i64 {
        stmts.push(Stmt::new(
            "INSERT INTO tx_order (n, v) VALUES (?, (SELECT v + 1 FROM tx_order WHERE n = ?))",
            vec![n.into(), (n - 1).into()],
        ));
    }
    assert!(c.rt.block_on(raw.transaction(stmts)).unwrap());
    let r = count(&raw);
    assert_eq!((r.int(0).unwrap(), r.int(1).unwrap()), (600, 600));

    // A guard in the middle that changes nothing: nothing is written.
    let stmts = vec![
        Stmt::new(
            "INSERT INTO tx_order (n, v) VALUES (?, ?)",
            vec![1000i64.into(), 1i64.into()],
        ),
        Stmt::guard(
            "UPDATE tx_order SET v = v WHERE n = ?",
            vec![99_999i64.into()],
        ),
        Stmt::new(
            "INSERT INTO tx_order (n, v) VALUES (?, ?)",
            vec![1001i64.into(), 1i64.into()],
        ),
    ];
    assert!(!c.rt.block_on(raw.transaction(stmts)).unwrap());
    assert_eq!(count(&raw).int(0).unwrap(), 600);

    // A conflict in the middle of a pipeline: an error, nothing written.
    let mut stmts = Vec::new();
    for n in [2000i64, 2001, 5, 2002] {
        stmts.push(Stmt::new(
            "INSERT INTO tx_order (n, v) VALUES (?, ?)",
            vec![n.into(), 1i64.into()],
        ));
    }
    let err = c.rt.block_on(raw.transaction(stmts)).unwrap_err();
    assert!(
        matches!(err, rampart_console::StoreError::Conflict),
        "{err:?}"
    );
    assert_eq!(count(&raw).int(0).unwrap(), 600);
    // The (only) connection is clean again.
    assert!(
        c.rt.block_on(raw.transaction(vec![Stmt::new(
            "DELETE FROM tx_order WHERE n >= ?",
            vec![300i64.into()],
        )]))
        .unwrap()
    );
    assert_eq!(count(&raw).int(0).unwrap(), 300);
}

/// PostgreSQL: a table that grew from nothing gets planner statistics from
/// the console without waiting for autovacuum; SQLite has nothing to do.
pub fn planner_statistics_follow_fast_growth(db: Db) {
    let c = start!(db);
    let store = c.console().store().clone();
    if db == Db::Sqlite {
        assert!(
            c.rt.block_on(store.refresh_planner_statistics())
                .unwrap()
                .is_empty()
        );
        return;
    }
    let raw = raw_db(&c);
    // One transaction, so the statistics are flushed when it ends (an idle
    // session would otherwise report them up to 10 s later).
    assert!(
        c.rt.block_on(raw.transaction(vec![
            Stmt::new(
                "INSERT INTO nodes (kind, node_key, name, first_seen, last_seen, active, \
                 reported) SELECT 'process', 'stats-' || g, 'p', 1, 1, 1, 1 \
                 FROM generate_series(1, 5000) g",
                vec![],
            ),
            Stmt::new("SELECT pg_stat_force_next_flush()", vec![]),
        ]))
        .unwrap()
    );
    // `last_analyze` is set by a manual ANALYZE only (autovacuum sets
    // `last_autoanalyze`): by this call, or by the console's reaper, which
    // runs the same one in the background and may get there first.
    let analyzed = || {
        c.rt.block_on(raw.query(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'nodes' \
             AND last_analyze IS NOT NULL",
            vec![],
        ))
        .unwrap()[0]
            .int(0)
            .unwrap()
            == 1
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = c.rt.block_on(store.refresh_planner_statistics()).unwrap();
        if done.contains(&"nodes".to_string()) || analyzed() {
            break;
        }
        assert!(Instant::now() < deadline, "nodes never analyzed: {done:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(analyzed());
    // Nothing changed since: nothing to do.
    assert!(
        !c.rt
            .block_on(store.refresh_planner_statistics())
            .unwrap()
            .contains(&"nodes".to_string())
    );
}
