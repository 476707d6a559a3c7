//! Agent reports, the topology graph, inactivity, and agents' scan jobs.

use std::io::Write;
use std::time::{Duration, Instant};

use rampart_console::TopologyConfig;
use rampart_console::store::inventory::FindingReport;
use rampart_model::Severity;
use serde_json::{Value, json};

use crate::harness::{Answer, Db, TestConsole};

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

/// Enrolls an agent; its credential and id.
pub(crate) fn enroll(c: &TestConsole, admin: &str, hostname: &str) -> (String, i64) {
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
    (
        a.json["credential"].as_str().unwrap().to_string(),
        a.json["agent"]["id"].as_i64().unwrap(),
    )
}

pub(crate) fn host(machine: &str, name: &str, addrs: &[&str]) -> Value {
    json!({
        "machine_id": machine, "hostname": name,
        "os": {"id": "debian", "version_id": "12", "pretty_name": "Debian 12"},
        "kernel": "6.1.0", "arch": "x86_64", "cpus": 2, "memory_bytes": 4_000_000_000_u64,
        "boot_time": 1_700_000_000,
        "interfaces": [
            {"name": "lo", "mac": null, "addresses": ["127.0.0.1/8", "::1/128"]},
            {"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": addrs},
        ],
        "cloud": null,
    })
}

pub(crate) fn process(key: &str, name: &str, container: Option<&str>) -> Value {
    let pid: u32 = key.split(':').next().unwrap().parse().unwrap();
    json!({
        "kind": "process", "key": key, "pid": pid, "ppid": 1, "name": name,
        "exe": format!("/usr/bin/{name}"), "cmdline": [name], "uid": 0, "user": "root",
        "start_time": 1_700_000_100, "container_id": container,
    })
}

pub(crate) fn listen(address: &str, port: u16, process_key: &str) -> Value {
    let a = if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    };
    json!({
        "kind": "listen", "key": format!("tcp:{a}:{port}"), "proto": "tcp",
        "address": address, "port": port, "process_key": process_key, "pid": null,
    })
}

fn conn(local: (&str, u16), remote: (&str, u16), direction: &str, process_key: &str) -> Value {
    json!({
        "kind": "connection",
        "key": format!("tcp:{}:{}->{}:{}", local.0, local.1, remote.0, remote.1),
        "proto": "tcp", "local_address": local.0, "local_port": local.1,
        "remote_address": remote.0, "remote_port": remote.1, "state": "ESTABLISHED",
        "direction": direction, "process_key": process_key, "pid": null,
    })
}

pub(crate) fn snapshot(seq: u64, host: &Value, upsert: &[Value]) -> Value {
    json!({
        "protocol": 1, "agent_version": "0.0.0-test", "seq": seq, "base": null,
        "collected_at": 1_700_000_200, "mode": "procfs", "host": host,
        "upsert": upsert, "remove": [],
    })
}

fn delta(seq: u64, base: u64, upsert: &[Value], remove: &[(&str, &str)]) -> Value {
    let remove: Vec<Value> = remove
        .iter()
        .map(|(k, key)| json!({"kind": k, "key": key}))
        .collect();
    json!({
        "protocol": 1, "agent_version": "0.0.0-test", "seq": seq, "base": base,
        "collected_at": 1_700_000_210, "mode": "procfs", "host": null,
        "upsert": upsert, "remove": remove,
    })
}

pub(crate) fn report(c: &TestConsole, cred: &str, body: &Value) -> Answer {
    c.call(
        "POST",
        "/api/v1/agent/report",
        Some(cred),
        Some(body.clone()),
    )
}

/// Posts raw bytes with a `Content-Encoding`.
fn post_encoded(c: &TestConsole, path: &str, cred: &str, encoding: &str, bytes: Vec<u8>) -> Answer {
    let req = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", c.base))
        .header("authorization", format!("Bearer {cred}"))
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(bytes)
        .unwrap();
    let resp = c.agent.run(req).unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.into_body().read_to_string().unwrap();
    Answer {
        status,
        json: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub(crate) fn graph(c: &TestConsole, token: &str, query: &str) -> Value {
    let a = c.get(&format!("/api/v1/graph/topology{query}"), token);
    assert_eq!(a.status, 200, "{:#}", a.json);
    a.json
}

/// The id of the node of this type and key.
#[track_caller]
pub(crate) fn node_id(g: &Value, kind: &str, key: &str) -> i64 {
    g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == kind && n["key"] == key)
        .unwrap_or_else(|| panic!("no {kind} {key} in {:#}", g["nodes"]))["id"]
        .as_i64()
        .unwrap()
}

/// Edges of a kind from `source`.
fn edges_from<'a>(g: &'a Value, kind: &str, source: i64) -> Vec<&'a Value> {
    g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind && e["source"] == source)
        .collect()
}

fn has_edge(g: &Value, kind: &str, source: i64, target: i64) -> bool {
    edges_from(g, kind, source)
        .iter()
        .any(|e| e["target"] == target)
}

pub fn report_snapshot_then_deltas(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let (cred, agent_id) = enroll(&c, &admin, "web-1");
    let ctr = "c0ffee00c0ffee00";
    let first = snapshot(
        1,
        &host("m-web-1", "web-1", &["10.0.0.1/24"]),
        &[
            process("100:5", "nginx", Some(ctr)),
            process("200:7", "sshd", None),
            process("300:9", "cron", None),
            listen("0.0.0.0", 80, "100:5"),
            listen("0.0.0.0", 22, "200:7"),
            json!({"kind": "container", "key": ctr, "runtime": "containerd", "name": "web",
                   "image": "nginx:1.27", "image_id": "sha256:abc", "state": "running",
                   "labels": {}, "pod_uid": "pod-1"}),
            json!({"kind": "pod", "key": "pod-1", "name": "web-7d9", "namespace": "prod",
                   "labels": {"app": "web"}}),
        ],
    );
    let ack = report(&c, &cred, &first);
    assert_eq!(ack.status, 200, "{:#}", ack.json);
    assert_eq!(ack.json, json!({"acked": 1, "interval_secs": 10}));
    let g = graph(&c, &reader, "");
    assert_eq!(g["truncated"], false);
    let h = node_id(&g, "host", "m-web-1");
    let nginx = node_id(&g, "process", "m-web-1/100:5");
    let sshd = node_id(&g, "process", "m-web-1/200:7");
    let cron = node_id(&g, "process", "m-web-1/300:9");
    let container = node_id(&g, "container", ctr);
    let image = node_id(&g, "image", "sha256:abc");
    let pod = node_id(&g, "pod", "pod-1");
    let ns = node_id(&g, "namespace", "prod");
    assert!(has_edge(&g, "runs", h, container));
    assert!(
        has_edge(&g, "runs", container, nginx),
        "process in container"
    );
    assert!(has_edge(&g, "runs", h, sshd), "process on the host");
    assert!(has_edge(&g, "instance_of", container, image));
    assert!(has_edge(&g, "holds", pod, container));
    assert!(has_edge(&g, "holds", ns, pod));
    // Listening sockets: process -> where the socket lives, with its address.
    let l = edges_from(&g, "listens", nginx);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["target"], container);
    assert_eq!(l[0]["attributes"]["port"], 80);
    assert_eq!(l[0]["attributes"]["proto"], "tcp");
    assert!(has_edge(&g, "listens", sshd, h));
    let node = c.get(&format!("/api/v1/nodes/{h}"), &reader);
    assert_eq!(node.json["name"], "web-1");
    assert_eq!(node.json["attributes"]["kernel"], "6.1.0");
    assert!(node.json["edges"].as_i64().unwrap() >= 3, "{:#}", node.json);
    let agents = c.get("/api/v1/agents", &admin);
    assert!(agents.json["items"][0]["last_seen_at"].is_string());
    assert_eq!(agents.json["items"][0]["id"], agent_id);

    // Age everything, then a delta: what it still reports comes back to
    // life; the removed process stays inactive.
    let store = c.console().store().clone();
    let cfg = TopologyConfig::default();
    let later = rampart_console::clock::now() + cfg.node_inactive_secs + 1;
    c.rt.block_on(store.reap_topology(&cfg, later)).unwrap();
    let g = graph(&c, &reader, "?active=true");
    assert!(g["nodes"].as_array().unwrap().is_empty(), "{:#}", g);
    let d = delta(
        2,
        1,
        &[
            process("400:11", "redis", None),
            listen("127.0.0.1", 6379, "400:11"),
        ],
        &[("process", "300:9")],
    );
    let ack = report(&c, &cred, &d);
    assert_eq!(ack.status, 200, "{:#}", ack.json);
    assert_eq!(ack.json["acked"], 2);
    let g = graph(&c, &reader, "?active=true");
    node_id(&g, "host", "m-web-1");
    node_id(&g, "process", "m-web-1/100:5");
    let redis = node_id(&g, "process", "m-web-1/400:11");
    assert!(has_edge(&g, "runs", h, redis));
    assert!(
        !g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == cron),
        "the removed process is not active"
    );
    let all = graph(&c, &reader, "");
    assert_eq!(
        all["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == cron)
            .unwrap()["active"],
        false
    );
    // Filters: types, the neighbourhood of a node, a host.
    let g = graph(&c, &reader, "?type=host,container");
    assert!(
        g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] == "host" || n["type"] == "container")
    );
    assert!(has_edge(&g, "runs", h, container));
    let g = graph(&c, &reader, &format!("?root={container}&depth=1"));
    let ids: Vec<i64> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    for want in [container, h, nginx, image, pod] {
        assert!(ids.contains(&want), "{want} in {ids:?}");
    }
    assert!(!ids.contains(&ns), "two edges away");
    // Another host runs the same image in the same namespace: a host's
    // slice does not spill over through what they share.
    let (cred2, _) = enroll(&c, &admin, "web-2");
    let other = snapshot(
        1,
        &host("m-web-2", "web-2", &["10.0.0.2/24"]),
        &[
            json!({"kind": "container", "key": "c2", "runtime": "containerd", "name": "web",
                   "image": "nginx:1.27", "image_id": "sha256:abc", "state": "running",
                   "labels": {}, "pod_uid": "pod-2"}),
            json!({"kind": "pod", "key": "pod-2", "name": "web-8e1", "namespace": "prod",
                   "labels": {}}),
        ],
    );
    assert_eq!(report(&c, &cred2, &other).status, 200);
    let g = graph(&c, &reader, &format!("?host={h}"));
    assert_eq!(node_id(&g, "namespace", "prod"), ns);
    assert_eq!(node_id(&g, "image", "sha256:abc"), image);
    node_id(&g, "process", "m-web-1/100:5");
    for (kind, key) in [("host", "m-web-2"), ("container", "c2"), ("pod", "pod-2")] {
        assert!(
            !g["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == kind && n["key"] == key),
            "{kind} {key} is another host's"
        );
    }
    let g = graph(&c, &reader, "?limit=2");
    assert_eq!(g["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(g["truncated"], true);
    for bad in [
        "?type=router",
        "?limit=0",
        "?depth=9&root=1",
        &format!("?host={container}"),
    ] {
        c.get(&format!("/api/v1/graph/topology{bad}"), &reader)
            .assert_error(400, "bad_request");
    }
    c.get("/api/v1/graph/topology?root=999999", &reader)
        .assert_error(404, "not_found");
}

pub fn report_resync_and_bad_reports(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (cred, _) = enroll(&c, &admin, "db-1");
    let h = host("m-db-1", "db-1", &["10.0.0.9/24"]);
    // A delta before any snapshot: resync.
    report(&c, &cred, &delta(2, 1, &[], &[])).assert_error(409, "resync");
    assert_eq!(report(&c, &cred, &snapshot(5, &h, &[])).status, 200);
    // A delta on another base: resync; on the acknowledged one: fine.
    report(&c, &cred, &delta(6, 4, &[], &[])).assert_error(409, "resync");
    let ok = report(
        &c,
        &cred,
        &delta(6, 5, &[process("1:1", "init", None)], &[]),
    );
    assert_eq!(ok.status, 200, "{:#}", ok.json);
    report(&c, &cred, &delta(7, 5, &[], &[])).assert_error(409, "resync");
    // Bad reports are refused with 400 and a reason.
    let mut wrong_protocol = snapshot(8, &h, &[]);
    wrong_protocol["protocol"] = json!(99);
    let a = report(&c, &cred, &wrong_protocol);
    a.assert_error(400, "bad_request");
    assert!(
        a.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("protocol 99")
    );
    let mut no_host = snapshot(8, &h, &[]);
    no_host["host"] = Value::Null;
    report(&c, &cred, &no_host).assert_error(400, "bad_request");
    report(&c, &cred, &delta(6, 6, &[], &[])).assert_error(400, "bad_request");
    let mut unknown = snapshot(8, &h, &[]);
    unknown["surprise"] = json!(1);
    report(&c, &cred, &unknown).assert_error(400, "bad_request");
    report(&c, &cred, &json!({"protocol": 1})).assert_error(400, "bad_request");
    // User credentials are not agent credentials.
    report(&c, &admin, &snapshot(9, &h, &[])).assert_error(401, "unauthenticated");
    // The agent is still on seq 6.
    assert_eq!(report(&c, &cred, &delta(7, 6, &[], &[])).status, 200);
}

pub fn report_gzip_and_bomb(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (cred, _) = enroll(&c, &admin, "gz-1");
    let body = snapshot(
        1,
        &host("m-gz-1", "gz-1", &["10.0.0.7/24"]),
        &[process("10:1", "app", None)],
    );
    let a = post_encoded(
        &c,
        "/api/v1/agent/report",
        &cred,
        "gzip",
        gzip(body.to_string().as_bytes()),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    assert_eq!(a.json["acked"], 1);
    let g = graph(&c, &admin, "");
    node_id(&g, "process", "m-gz-1/10:1");
    // Uploads may exceed the 2 MiB other requests are held to.
    let mut big = process("11:1", "big", None);
    big["cmdline"] = json!(["x".repeat(3 * 1024 * 1024)]);
    let a = report(&c, &cred, &delta(2, 1, &[big], &[]));
    assert_eq!(a.status, 200, "{:#}", a.json);
    // 65 MiB of spaces (valid JSON whitespace) compress to a few dozen KiB:
    // refused once past the decompressed limit, without holding it all.
    let bomb = gzip(&vec![b' '; 65 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    post_encoded(&c, "/api/v1/agent/report", &cred, "gzip", bomb)
        .assert_error(413, "payload_too_large");
    post_encoded(
        &c,
        "/api/v1/agent/report",
        &cred,
        "gzip",
        b"not gzip".to_vec(),
    )
    .assert_error(400, "bad_request");
    let a = post_encoded(
        &c,
        "/api/v1/agent/report",
        &cred,
        "br",
        body.to_string().into_bytes(),
    );
    assert_eq!(a.status, 415, "{:#}", a.json);
    // The console still answers.
    assert_eq!(c.call("GET", "/healthz", None, None).status, 200);
}

pub fn report_load_is_pushed_back(db: Db) {
    let c = start!(db, |cfg| cfg.topology.max_concurrent_reports = 1);
    let admin = c.admin();
    let agents: Vec<(String, i64)> = (0..6)
        .map(|i| enroll(&c, &admin, &format!("busy-{i}")))
        .collect();
    // Six agents report big snapshots at once with room for one: some are
    // told to come back later, and those retry successfully.
    let bodies: Vec<Value> = (0..6)
        .map(|i| {
            let procs: Vec<Value> = (0..400)
                .map(|p| process(&format!("{}:{p}", p + 1), "worker", None))
                .collect();
            snapshot(
                1,
                &host(&format!("m-busy-{i}"), "busy", &[&format!("10.1.0.{i}/24")]),
                &procs,
            )
        })
        .collect();
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .zip(&bodies)
            .map(|((cred, _), body)| s.spawn(|| report(&c, cred, body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(
        answers.iter().all(|a| a.status == 200 || a.status == 429),
        "{answers:?}"
    );
    assert!(answers.iter().any(|a| a.status == 200));
    for a in &busy {
        a.assert_error(429, "rate_limited");
        assert_eq!(a.headers["retry-after"], "10");
    }
    println!("{} of 6 concurrent reports were pushed back", busy.len());
    for ((cred, _), body) in agents.iter().zip(&bodies) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let a = report(&c, cred, body);
            if a.status == 200 {
                break;
            }
            assert_eq!(a.status, 429, "{:#}", a.json);
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn host_to_host_and_loopback_edges(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (a_cred, _) = enroll(&c, &admin, "db");
    let (b_cred, _) = enroll(&c, &admin, "app");
    // Host A runs PostgreSQL on every address and a local client.
    let a = report(
        &c,
        &a_cred,
        &snapshot(
            1,
            &host("m-db", "db", &["10.0.0.1/24", "fd00::1/64"]),
            &[
                process("500:1", "postgres", None),
                process("600:1", "psql", None),
                listen("0.0.0.0", 5432, "500:1"),
                conn(
                    ("127.0.0.1", 40000),
                    ("127.0.0.1", 5432),
                    "outbound",
                    "600:1",
                ),
                conn(
                    ("127.0.0.1", 5432),
                    ("127.0.0.1", 40000),
                    "inbound",
                    "500:1",
                ),
                // The inbound side of B's connection: B reports it.
                conn(("10.0.0.1", 5432), ("10.0.0.2", 51000), "inbound", "500:1"),
            ],
        ),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    // Host B's app connects to A's PostgreSQL and to a port A does not
    // report listening on (IPv4-mapped notation).
    let b = report(
        &c,
        &b_cred,
        &snapshot(
            1,
            &host("m-app", "app", &["10.0.0.2/24"]),
            &[
                process("700:3", "app", None),
                conn(("10.0.0.2", 51000), ("10.0.0.1", 5432), "outbound", "700:3"),
                conn(
                    ("::ffff:10.0.0.2", 51001),
                    ("::ffff:10.0.0.1", 9000),
                    "outbound",
                    "700:3",
                ),
            ],
        ),
    );
    assert_eq!(b.status, 200, "{:#}", b.json);
    // A's next report knows B now: the inbound side from B is B's to report.
    let a = report(&c, &a_cred, &delta(2, 1, &[], &[]));
    assert_eq!(a.status, 200, "{:#}", a.json);
    let g = graph(&c, &admin, "");
    let host_a = node_id(&g, "host", "m-db");
    let pg = node_id(&g, "process", "m-db/500:1");
    let psql = node_id(&g, "process", "m-db/600:1");
    let app = node_id(&g, "process", "m-app/700:3");
    let to_pg: Vec<&Value> = edges_from(&g, "connects", app)
        .into_iter()
        .filter(|e| e["target"] == pg)
        .collect();
    assert_eq!(to_pg.len(), 1, "{:#}", g["edges"]);
    assert_eq!(to_pg[0]["attributes"]["port"], 5432);
    assert_eq!(to_pg[0]["attributes"]["endpoint"], "node");
    assert_eq!(to_pg[0]["attributes"]["peers"][0]["class"], "private");
    assert!(
        has_edge(&g, "connects", app, host_a),
        "no listener: to the host"
    );
    assert!(
        has_edge(&g, "connects", psql, pg),
        "loopback: process to process"
    );
    // The inbound sides made no edges of their own (the one A made while
    // it did not know B yet is inactive since A's last report).
    let g = graph(&c, &admin, "?active=true");
    assert!(
        edges_from(&g, "connects", pg).is_empty(),
        "{:#}",
        g["edges"]
    );
    assert!(
        !g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "internet"),
        "private peers are never the internet"
    );
}

pub fn public_and_private_peers(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (cred, _) = enroll(&c, &admin, "edge");
    let a = report(
        &c,
        &cred,
        &snapshot(
            1,
            &host("m-edge", "edge", &["192.168.1.10/24"]),
            &[
                process("10:1", "nginx", None),
                process("20:1", "curl", None),
                listen("::", 443, "10:1"),
                conn(("192.168.1.10", 443), ("1.2.3.4", 50000), "inbound", "10:1"),
                conn(
                    ("192.168.1.10", 443),
                    ("::ffff:5.6.7.8", 50001),
                    "inbound",
                    "10:1",
                ),
                conn(
                    ("192.168.1.10", 443),
                    ("192.168.1.50", 50002),
                    "inbound",
                    "10:1",
                ),
                conn(("192.168.1.10", 40000), ("8.8.8.8", 53), "outbound", "20:1"),
                conn(
                    ("192.168.1.10", 40001),
                    ("10.9.9.9", 5432),
                    "outbound",
                    "20:1",
                ),
                conn(
                    ("192.168.1.10", 40002),
                    ("100.64.1.1", 80),
                    "outbound",
                    "20:1",
                ),
                conn(
                    ("192.168.1.10", 40003),
                    ("203.0.113.7", 8080),
                    "outbound",
                    "20:1",
                ),
                conn(
                    ("192.168.1.10", 40004),
                    ("2606:4700::1111", 443),
                    "outbound",
                    "20:1",
                ),
            ],
        ),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    let g = graph(&c, &admin, "");
    let internet = node_id(&g, "internet", "internet");
    let nginx = node_id(&g, "process", "m-edge/10:1");
    let curl = node_id(&g, "process", "m-edge/20:1");
    // Public clients reach nginx from the internet: one edge, both peers.
    let inbound = edges_from(&g, "connects", internet);
    assert_eq!(inbound.len(), 1, "{:#}", g["edges"]);
    assert_eq!(inbound[0]["target"], nginx);
    let peers: Vec<&str> = inbound[0]["attributes"]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(peers, ["1.2.3.4", "5.6.7.8"]);
    // A private client is kept as an external-private endpoint.
    let private_in = edges_from(&g, "connects", nginx);
    assert_eq!(private_in.len(), 1, "{:#}", g["edges"]);
    assert!(private_in[0]["target"].is_null());
    assert_eq!(private_in[0]["attributes"]["endpoint"], "external-private");
    assert_eq!(private_in[0]["attributes"]["direction"], "inbound");
    // Outbound: public peers are the internet (IPv4 and IPv6), the others not.
    let out = edges_from(&g, "connects", curl);
    let to_internet: Vec<i64> = out
        .iter()
        .filter(|e| e["target"] == internet)
        .map(|e| e["attributes"]["port"].as_i64().unwrap())
        .collect();
    assert_eq!(to_internet.len(), 2, "{out:#?}");
    assert!(to_internet.contains(&53) && to_internet.contains(&443));
    let private: Vec<&&Value> = out.iter().filter(|e| e["target"].is_null()).collect();
    let mut classes: Vec<&str> = private
        .iter()
        .map(|e| e["attributes"]["peers"][0]["class"].as_str().unwrap())
        .collect();
    classes.sort_unstable();
    assert_eq!(classes, ["documentation", "private", "shared"]);
}

pub fn inactivity_and_retention(db: Db) {
    let c = start!(db, |cfg| {
        // The reaper runs every second; hosts go inactive after 1 s.
        cfg.scan_heartbeat_timeout_secs = 4;
        cfg.topology.node_inactive_secs = 1;
        cfg.topology.node_remove_secs = 3600;
    });
    let admin = c.admin();
    let (cred, _) = enroll(&c, &admin, "gone");
    let a = report(
        &c,
        &cred,
        &snapshot(
            1,
            &host("m-gone", "gone", &["10.0.0.3/24"]),
            &[process("1:1", "init", None)],
        ),
    );
    assert_eq!(a.status, 200);
    let g = graph(&c, &admin, "");
    let h = node_id(&g, "host", "m-gone");
    let p = node_id(&g, "process", "m-gone/1:1");
    // The sensor stops reporting: the background reaper marks its host inactive.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.get(&format!("/api/v1/nodes/{h}"), &admin).json["active"] != false {
        assert!(Instant::now() < deadline, "the host never went inactive");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Findings on the host outlive its removal, for the retention period.
    let store = c.console().store().clone();
    let now = rampart_console::clock::now();
    c.rt.block_on(store.record_findings(
        h,
        None,
        &["vulnerability"],
        &[FindingReport {
            kind: "vulnerability".into(),
            rule_id: "CVE-2024-1".into(),
            fingerprint: "CVE-2024-1 openssl 3.0.1".into(),
            severity: Severity::High,
            title: "openssl".into(),
            evidence: None,
        }],
        now,
    ))
    .unwrap();
    let cfg = TopologyConfig {
        node_inactive_secs: 1,
        node_remove_secs: 3600,
        finding_retention_days: 30,
        ..TopologyConfig::default()
    };
    let r =
        c.rt.block_on(store.reap_topology(&cfg, now + 3601))
            .unwrap();
    assert_eq!((r.removed_nodes, r.purged_nodes), (2, 0), "{r:?}");
    c.get(&format!("/api/v1/nodes/{p}"), &admin)
        .assert_error(404, "not_found");
    let kept = c.get(&format!("/api/v1/nodes/{h}"), &admin);
    assert_eq!(kept.status, 200);
    assert_eq!(kept.json["active"], false);
    assert_eq!(kept.json["edges"], 0);
    assert!(
        graph(&c, &admin, "")["nodes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "removed nodes leave the topology"
    );
    let f = c.get(&format!("/api/v1/findings?node={h}"), &admin);
    assert_eq!(f.json["total"], 1, "{:#}", f.json);
    // After the retention period the node and its findings are gone.
    let r =
        c.rt.block_on(store.reap_topology(&cfg, now + 3601 + 30 * 86_400 + 1))
            .unwrap();
    assert_eq!(r.purged_nodes, 1);
    c.get(&format!("/api/v1/nodes/{h}"), &admin)
        .assert_error(404, "not_found");
    let f = c.get("/api/v1/findings", &admin);
    assert_eq!(f.json["total"], 0, "{:#}", f.json);
    // The sensor comes back: a snapshot brings the host back, active.
    let a = report(
        &c,
        &cred,
        &snapshot(2, &host("m-gone", "gone", &["10.0.0.3/24"]), &[]),
    );
    assert_eq!(a.status, 200);
    let g = graph(&c, &admin, "?active=true");
    node_id(&g, "host", "m-gone");
}

fn results(scanners: &[&str], target: &str, findings: &[(&str, &str)]) -> Value {
    let findings: Vec<Value> = findings
        .iter()
        .map(|(kind, id)| {
            json!({
                "kind": kind, "rule_id": id, "fingerprint": format!("{id} pkg 1.0"),
                "severity": "high", "title": format!("{id} in pkg"),
                "evidence": {"package": "pkg", "version": "1.0"},
            })
        })
        .collect();
    json!({"target": target, "scanners": scanners, "findings": findings, "skipped": []})
}

pub fn agents_claim_own_scans_and_upload_results(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (a_cred, a_id) = enroll(&c, &admin, "a");
    let (b_cred, _) = enroll(&c, &admin, "b");
    let ctr = "feedfacefeedface";
    let a_snap = snapshot(
        1,
        &host("m-a", "a", &["10.0.0.1/24"]),
        &[
            json!({"kind": "container", "key": ctr, "runtime": "docker", "name": "api",
                 "image": "registry.example/api:2", "image_id": "sha256:api2",
                 "state": "running", "labels": {}, "pod_uid": null}),
        ],
    );
    assert_eq!(report(&c, &a_cred, &a_snap).status, 200);
    let b_snap = snapshot(1, &host("m-b", "b", &["10.0.0.2/24"]), &[]);
    assert_eq!(report(&c, &b_cred, &b_snap).status, 200);
    let g = graph(&c, &admin, "");
    let host_a = node_id(&g, "host", "m-a");
    let host_b = node_id(&g, "host", "m-b");
    let container = node_id(&g, "container", ctr);
    let image = node_id(&g, "image", "sha256:api2");
    let queue = |targets: Value, scanners: Value| {
        c.call(
            "POST",
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"targets": targets, "scanners": scanners})),
        )
    };
    // Targets on two agents' hosts, or mixed with central targets: refused.
    queue(json!([host_a.to_string(), host_b.to_string()]), json!([]))
        .assert_error(400, "bad_request");
    queue(json!([host_a.to_string(), "dir:/srv"]), json!([])).assert_error(400, "bad_request");
    queue(json!(["999999"]), json!([])).assert_error(400, "bad_request");
    // A target specification is for a central runner: no agent gets it.
    let central = queue(json!(["image:alpine:3.20"]), json!(["vuln"]));
    assert_eq!(central.status, 201, "{:#}", central.json);
    let claim = |cred: &str| c.call("POST", "/api/v1/agent/scans/claim", Some(cred), None);
    assert_eq!(claim(&a_cred).status, 204);
    // A's host, container and image: only A claims it.
    let s1 = queue(
        json!([host_a.to_string(), container.to_string(), image.to_string()]),
        json!(["vuln", "secret"]),
    );
    assert_eq!(s1.status, 201, "{:#}", s1.json);
    let s1 = s1.json["id"].as_i64().unwrap();
    assert_eq!(claim(&b_cred).status, 204, "not B's");
    let job = claim(&a_cred);
    assert_eq!(job.status, 200, "{:#}", job.json);
    assert_eq!(job.json["scan_id"], s1);
    assert_eq!(
        job.json["targets"],
        json!([
            "host",
            format!("container:{ctr}"),
            "image:registry.example/api:2"
        ])
    );
    assert_eq!(job.json["scanners"], json!(["secret", "vuln"]));
    assert_eq!(job.json["timeout_secs"], 3600);
    assert_eq!(job.json["heartbeat_secs"], 30);
    let scan = c.get(&format!("/api/v1/scans/{s1}"), &admin);
    assert_eq!(scan.json["runner"], format!("agent:{a_id}"));
    let upload = |cred: &str, scan: i64, body: &Value| {
        c.call(
            "POST",
            &format!("/api/v1/agent/scans/{scan}/results"),
            Some(cred),
            Some(body.clone()),
        )
    };
    // Only the runner uploads, only for the job's targets, scanners and kinds.
    let r1 = results(
        &["vuln", "secret"],
        "host",
        &[
            ("vulnerability", "CVE-1"),
            ("vulnerability", "CVE-2"),
            ("secret", "RMP-SECRET-AWS-001"),
        ],
    );
    upload(&b_cred, s1, &r1).assert_error(409, "conflict");
    upload(&a_cred, s1, &results(&["vuln"], "dir:/etc", &[])).assert_error(400, "bad_request");
    upload(&a_cred, s1, &results(&["malware"], "host", &[])).assert_error(400, "bad_request");
    upload(&a_cred, s1, &results(&["vuln"], "host", &[("secret", "X")]))
        .assert_error(400, "bad_request");
    let up = upload(&a_cred, s1, &r1);
    assert_eq!(up.status, 200, "{:#}", up.json);
    assert_eq!(up.json, json!({"node_id": host_a, "added": 3, "fixed": 0}));
    // Compressed uploads work too.
    let r_ctr = results(
        &["vuln"],
        &format!("container:{ctr}"),
        &[("vulnerability", "CVE-9")],
    );
    let up = post_encoded(
        &c,
        &format!("/api/v1/agent/scans/{s1}/results"),
        &a_cred,
        "gzip",
        gzip(r_ctr.to_string().as_bytes()),
    );
    assert_eq!(up.status, 200, "{:#}", up.json);
    assert_eq!(up.json["node_id"], container);
    let done = c.call(
        "POST",
        &format!("/api/v1/agent/scans/{s1}/finish"),
        Some(&a_cred),
        Some(json!({"succeeded": true})),
    );
    assert_eq!(done.json["state"], "succeeded", "{:#}", done.json);
    upload(&a_cred, s1, &r1).assert_error(409, "conflict");
    let f = c.get(&format!("/api/v1/findings?node={host_a}"), &admin);
    assert_eq!(f.json["total"], 3, "{:#}", f.json);
    let n = c.get(&format!("/api/v1/nodes/{host_a}"), &admin);
    assert_eq!(n.json["findings"]["total"], 3);
    // The same scan again: CVE-1 fixed, CVE-3 new; the diff shows it.
    let s2 = queue(
        json!([host_a.to_string(), container.to_string(), image.to_string()]),
        json!(["vuln", "secret"]),
    )
    .json["id"]
        .as_i64()
        .unwrap();
    assert_eq!(claim(&a_cred).json["scan_id"], s2);
    let up = upload(
        &a_cred,
        s2,
        &results(
            &["vuln", "secret"],
            "host",
            &[
                ("vulnerability", "CVE-2"),
                ("vulnerability", "CVE-3"),
                ("secret", "RMP-SECRET-AWS-001"),
            ],
        ),
    );
    assert_eq!(up.json, json!({"node_id": host_a, "added": 1, "fixed": 1}));
    let up = upload(
        &a_cred,
        s2,
        &results(
            &["vuln"],
            &format!("container:{ctr}"),
            &[("vulnerability", "CVE-9")],
        ),
    );
    assert_eq!(up.status, 200);
    c.call(
        "POST",
        &format!("/api/v1/agent/scans/{s2}/finish"),
        Some(&a_cred),
        Some(json!({"succeeded": true})),
    );
    let d = c.get(&format!("/api/v1/scans/{s2}/diff"), &admin);
    assert_eq!(d.status, 200, "{:#}", d.json);
    assert_eq!(d.json["against"], s1);
    assert_eq!(d.json["added"][0]["rule_id"], "CVE-3");
    assert_eq!(d.json["removed"][0]["rule_id"], "CVE-1");
    assert_eq!(d.json["unchanged_total"], 3);
    // B's host is B's.
    let s3 = queue(json!([host_b.to_string()]), json!(["posture"])).json["id"]
        .as_i64()
        .unwrap();
    assert_eq!(claim(&a_cred).status, 204);
    let job = claim(&b_cred);
    assert_eq!(job.json["scan_id"], s3);
    assert_eq!(job.json["targets"], json!(["host"]));
    // The central scan was never handed to an agent.
    let central = c.get(
        &format!("/api/v1/scans/{}", central.json["id"].as_i64().unwrap()),
        &admin,
    );
    assert_eq!(central.json["state"], "queued");
}

/// What a reporting agent owns stays active although its `last_seen` is
/// refreshed only once a minute; when the agent stops, it goes inactive.
pub fn reporting_agents_keep_their_nodes_active(db: Db) {
    use rampart_console::clock::rfc3339;
    use rampart_console::store::topology::LAST_SEEN_REFRESH_SECS;
    use rampart_model::agent::Report;

    let c = start!(db);
    let admin = c.admin();
    let (_, agent_id) = enroll(&c, &admin, "steady");
    let store = c.console().store().clone();
    let apply = |r: Value, at: i64| {
        let r: Report = serde_json::from_value(r).unwrap();
        c.rt.block_on(store.apply_report(agent_id, &r, at)).unwrap()
    };
    let t = rampart_console::clock::now();
    apply(
        snapshot(
            1,
            &host("m-steady", "steady", &["10.0.0.9/24"]),
            &[process("1:1", "init", None)],
        ),
        t,
    );
    let g = graph(&c, &admin, "");
    let h = node_id(&g, "host", "m-steady");
    let last_seen = |c: &TestConsole| c.get(&format!("/api/v1/nodes/{h}"), &admin).json;
    // A report within the refresh period leaves `last_seen` as it was.
    apply(delta(2, 1, &[], &[]), t + 50);
    const { assert!(50 < LAST_SEEN_REFRESH_SECS) };
    assert_eq!(last_seen(&c)["last_seen"], rfc3339(t));
    let cfg = TopologyConfig {
        node_inactive_secs: 30,
        ..TopologyConfig::default()
    };
    // Older than node_inactive_secs (and node_remove_secs), but the agent
    // reported 1 s ago: nothing goes inactive, nothing is removed.
    let short = TopologyConfig {
        node_inactive_secs: 30,
        node_remove_secs: 30,
        ..TopologyConfig::default()
    };
    let r = c.rt.block_on(store.reap_topology(&short, t + 51)).unwrap();
    assert_eq!(
        (
            r.inactive_nodes,
            r.inactive_edges,
            r.removed_nodes,
            r.removed_edges
        ),
        (0, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(last_seen(&c)["active"], true);
    // The next report after the refresh period refreshes it.
    apply(delta(3, 2, &[], &[]), t + 70);
    assert_eq!(last_seen(&c)["last_seen"], rfc3339(t + 70));
    // The agent stops: its nodes and edges go inactive.
    let r = c.rt.block_on(store.reap_topology(&cfg, t + 101)).unwrap();
    assert!(r.inactive_nodes >= 2 && r.inactive_edges >= 1, "{r:?}");
    assert_eq!(last_seen(&c)["active"], false);
}
