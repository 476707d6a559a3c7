//! ThreatGraph through the API: topology from agent reports, findings from
//! agents' result uploads, runtime evidence from the reports; the ranking
//! read from `/api/v1/threat/...`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Db, TestConsole};
use crate::topo::{enroll, graph, host, listen, node_id, process, report, snapshot};

macro_rules! start {
    ($db:expr) => {
        match TestConsole::start($db, |cfg| cfg.threat_refresh_millis = 100) {
            Some(c) => c,
            None => return,
        }
    };
}

/// A scanner record as `rampart scan --format json` writes it.
#[allow(clippy::too_many_arguments)]
pub fn vuln_record(
    cve: &str,
    package: &str,
    version: &str,
    cvss: f64,
    vector: &str,
    epss: f64,
    kev: bool,
    fixed: &[&str],
) -> Value {
    let mut r = json!({
        "kind": "vulnerability", "scanner": "vuln", "id": cve, "ids": [cve],
        "package_name": package, "package_version": version,
        "purl": format!("pkg:deb/debian/{package}@{version}?arch=amd64&distro=debian-12"),
        "ecosystem": "deb", "severity": if cvss >= 9.0 { "critical" } else { "high" },
        "cvss": [{"base_score": cvss, "vector": vector, "version": "3.1", "severity": "high"}],
        "epss": {"score": epss, "percentile": 0.9},
        "fixed_versions": fixed, "summary": format!("{cve} in {package}"),
    });
    if kev {
        r["kev"] = json!({"cve": cve, "date_added": "2026-01-02", "ransomware": false,
                          "vendor": "v", "product": "p", "name": "n", "due_date": "2026-02-01"});
    }
    r
}

pub fn upload_finding(record: &Value) -> Value {
    json!({
        "kind": "vulnerability",
        "rule_id": record["id"],
        "fingerprint": format!("{} {} {}", record["id"], record["package_name"], record["package_version"]),
        "severity": record["severity"],
        "title": record["summary"],
        "evidence": record,
    })
}

/// Queues a scan of `node` (one agent's), claims it with `cred`, uploads
/// `findings` for target `host` and finishes it; the scan's id.
pub fn scan_with_results(
    c: &TestConsole,
    admin: &str,
    cred: &str,
    node: i64,
    findings: &[Value],
) -> i64 {
    let s = c.call(
        "POST",
        "/api/v1/scans",
        Some(admin),
        Some(json!({"targets": [node.to_string()], "scanners": ["vuln"]})),
    );
    assert_eq!(s.status, 201, "{:#}", s.json);
    let id = s.json["id"].as_i64().unwrap();
    let job = c.call("POST", "/api/v1/agent/scans/claim", Some(cred), None);
    assert_eq!(job.status, 200, "{:#}", job.json);
    assert_eq!(job.json["scan_id"], id);
    let up = c.call(
        "POST",
        &format!("/api/v1/agent/scans/{id}/results"),
        Some(cred),
        Some(json!({"target": "host", "scanners": ["vuln"], "findings": findings, "skipped": []})),
    );
    assert!(up.status < 300, "{:#}", up.json);
    let fin = c.call(
        "POST",
        &format!("/api/v1/agent/scans/{id}/finish"),
        Some(cred),
        Some(json!({"succeeded": true, "reason": null})),
    );
    assert!(fin.status < 300, "{:#}", fin.json);
    id
}

/// Polls `/threat/top` until `done` holds (the analysis is recomputed in
/// the background).
#[track_caller]
pub fn top_until(
    c: &TestConsole,
    token: &str,
    query: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = c.get(&format!("/api/v1/threat/top{query}"), token);
        if a.status == 200 && done(&a.json) {
            return a.json;
        }
        assert!(
            Instant::now() < deadline,
            "threat/top{query} never matched: {} {:#}",
            a.status,
            a.json
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ids(top: &Value) -> Vec<String> {
    top["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(top: &'a Value, rule: &str) -> &'a Value {
    top["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {top:#}"))
}

fn factor(f: &Value, name: &str) -> f64 {
    f["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["factor"] == name)
        .and_then(|r| r["points"].as_f64())
        .unwrap_or_else(|| panic!("no {name} reason in {f:#}"))
}

const NET: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

pub fn threat_ranking_from_reports_and_uploads(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let (web_cred, _) = enroll(&c, &admin, "web");
    let (db_cred, _) = enroll(&c, &admin, "db");

    // web: a public address, nginx on 0.0.0.0:443 with a client from the
    // internet, libssl3 mapped into it (dpkg database read).
    let mut web = snapshot(
        1,
        &host("m-web", "web", &["34.120.0.10/24"]),
        &[
            process("100:5", "nginx", None),
            listen("0.0.0.0", 443, "100:5"),
            json!({"kind": "connection", "key": "tcp:34.120.0.10:443->81.2.3.4:50000",
                   "proto": "tcp", "local_address": "34.120.0.10", "local_port": 443,
                   "remote_address": "81.2.3.4", "remote_port": 50000, "state": "ESTABLISHED",
                   "direction": "inbound", "process_key": "100:5", "pid": 100}),
        ],
    );
    web["runtime"] = json!({
        "databases": ["deb"], "processes": 1, "files_in_use": 3,
        "packages": [{"ecosystem": "deb", "name": "libssl3", "version": "3.0.15-1",
                      "files": ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]}],
        "language_files": [],
    });
    let a = report(&c, &web_cred, &web);
    assert_eq!(a.status, 200, "{:#}", a.json);
    // db: private only, no runtime evidence.
    let a = report(
        &c,
        &db_cred,
        &snapshot(1, &host("m-db", "db", &["10.0.0.5/24"]), &[]),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    let g = graph(&c, &admin, "");
    let web_host = node_id(&g, "host", "m-web");
    let db_host = node_id(&g, "host", "m-db");

    let kev = vuln_record(
        "CVE-2026-0001",
        "libssl3",
        "3.0.15-1",
        7.5,
        NET,
        0.4,
        true,
        &["3.0.16-1"],
    );
    let unused = vuln_record(
        "CVE-2026-0002",
        "zlib1g",
        "1.2.13",
        7.5,
        NET,
        0.4,
        true,
        &["1.3"],
    );
    let critical = vuln_record(
        "CVE-2026-0003",
        "libssl3",
        "3.0.15-1",
        9.8,
        NET,
        0.01,
        false,
        &["3.0.16-1"],
    );
    let web_scan = scan_with_results(
        &c,
        &admin,
        &web_cred,
        web_host,
        &[upload_finding(&kev), upload_finding(&unused)],
    );
    scan_with_results(&c, &admin, &db_cred, db_host, &[upload_finding(&critical)]);

    let top = top_until(&c, &reader, "?limit=10", |t| {
        t["findings"].as_array().is_some_and(|f| f.len() == 3)
    });
    // The KEV vulnerability in the in-use package on the exposed host
    // ranks first; the same facts in a package no process loads rank
    // lower; the critical one on the isolated host last.
    assert_eq!(
        ids(&top),
        ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"],
        "{top:#}"
    );
    let first = finding(&top, "CVE-2026-0001");
    assert_eq!(first["runtime"]["use"], "in_use", "{first:#}");
    assert_eq!(
        first["runtime"]["file"],
        "/usr/lib/x86_64-linux-gnu/libssl.so.3"
    );
    assert_eq!(first["reach"], "hops");
    assert_eq!(factor(first, "kev"), 15.0);
    assert_eq!(factor(first, "runtime"), 10.0);
    assert!(factor(first, "exposure") >= 17.0, "{first:#}");
    assert_eq!(first["node"], web_host.to_string());
    assert_eq!(top["nodes"][web_host.to_string()]["name"], "web");
    let second = finding(&top, "CVE-2026-0002");
    assert_eq!(second["runtime"]["use"], "not_in_use", "{second:#}");
    assert_eq!(factor(second, "runtime"), -15.0);
    let third = finding(&top, "CVE-2026-0003");
    assert_eq!(third["reach"], "isolated");
    assert_eq!(third["runtime"]["use"], "unknown");
    assert_eq!(third["runtime"]["reason"], "no_evidence");
    assert!(first["score"].as_f64().unwrap() > third["score"].as_f64().unwrap());
    assert_eq!(top["summary"]["findings"], 3);

    // Per node and per scan.
    let t = c.get(&format!("/api/v1/threat/top?node={db_host}"), &reader);
    assert_eq!(ids(&t.json), ["CVE-2026-0003"]);
    let t = c.get(
        &format!("/api/v1/threat/top?scan={web_scan}&limit=1"),
        &reader,
    );
    assert_eq!(ids(&t.json), ["CVE-2026-0001"]);
    c.get("/api/v1/threat/top?node=999999", &reader)
        .assert_error(404, "not_found");
    c.get("/api/v1/threat/top?scan=999999", &reader)
        .assert_error(404, "not_found");
    c.get(
        &format!("/api/v1/threat/top?node={db_host}&scan={web_scan}"),
        &reader,
    )
    .assert_error(400, "bad_request");
    c.get("/api/v1/threat/top?limit=0", &reader)
        .assert_error(400, "bad_request");
    c.get("/api/v1/threat/top?limit=x", &reader)
        .assert_error(400, "bad_request");

    // Paths: the web host is reached from the internet, the db host is not.
    let p = c.get(&format!("/api/v1/threat/paths?node={web_host}"), &reader);
    assert_eq!(p.status, 200, "{:#}", p.json);
    let path = &p.json["paths"][0];
    assert_eq!(path["target"], web_host.to_string());
    assert_eq!(
        path["steps"][0]["from"],
        p.json["paths"][0]["steps"][0]["from"]
    );
    assert_eq!(path["steps"][0]["kind"], "exposure", "{:#}", p.json);
    assert_eq!(p.json["reach"]["reach"], "hops");
    assert!(
        path["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["node"].as_str() == Some(web_host.to_string().as_str()))
    );
    let p = c.get(&format!("/api/v1/threat/paths?node={db_host}"), &reader);
    assert_eq!(p.json["paths"], json!([]));
    assert_eq!(p.json["reach"]["reach"], "isolated");
    let p = c.get("/api/v1/threat/paths?limit=5", &reader);
    assert!(
        !p.json["paths"].as_array().unwrap().is_empty(),
        "{:#}",
        p.json
    );
    c.get("/api/v1/threat/paths?node=999999", &reader)
        .assert_error(404, "not_found");

    // Grouped view.
    let gv = c.get("/api/v1/threat/graph?group_by=host&top=2", &reader);
    assert_eq!(gv.status, 200, "{:#}", gv.json);
    assert_eq!(gv.json["group_by"], "host");
    let groups = gv.json["groups"].as_array().unwrap();
    assert!(groups.len() >= 2, "{:#}", gv.json);
    assert!(
        groups
            .iter()
            .all(|g| g["top"].as_array().unwrap().len() <= 2)
    );
    c.get("/api/v1/threat/graph?group_by=galaxy", &reader)
        .assert_error(400, "bad_request");

    // A suppression takes the finding out of the ranking.
    let s = c.call(
        "POST",
        "/api/v1/suppressions",
        Some(&admin),
        Some(json!({"rule_id": "CVE-2026-0001", "reason": "accepted risk"})),
    );
    assert_eq!(s.status, 201, "{:#}", s.json);
    let top = top_until(&c, &reader, "", |t| {
        !ids(t).contains(&"CVE-2026-0001".to_string())
    });
    assert_eq!(ids(&top)[0], "CVE-2026-0002");

    // The runtime evidence goes when a snapshot comes without it.
    let mut web2 = web.clone();
    web2["seq"] = json!(2);
    web2.as_object_mut().unwrap().remove("runtime");
    assert_eq!(report(&c, &web_cred, &web2).status, 200);
    let top = top_until(&c, &reader, "", |t| {
        finding(t, "CVE-2026-0002")["runtime"]["use"] == "unknown"
    });
    assert_eq!(
        finding(&top, "CVE-2026-0002")["runtime"]["reason"],
        "no_evidence"
    );
}

/// The live test: a real python3 loads libssl; the sensor's runtime
/// collection maps it to its deb package; the console marks a vulnerability
/// of that package in use on that host, and not in use on a host whose
/// processes do not load it.
pub fn live_python_loading_libssl_is_in_use(db: Db) {
    use rampart_model::agent::{Entity, HostFacts, OsInfo, Process};
    use rampart_sensor::delta::State;
    use rampart_sensor::runtime::{RuntimeCollector, RuntimeConfig};
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    if !std::path::Path::new("/var/lib/dpkg/status").exists() {
        println!("skipped: no dpkg database on this machine");
        return;
    }
    let spawn = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
    };
    let Ok(mut python) = spawn(
        "python3",
        &[
            "-c",
            "import ssl, sys; print('ready', flush=True); sys.stdin.read()",
        ],
    ) else {
        println!("skipped: python3 is not installed");
        return;
    };
    let mut line = String::new();
    std::io::BufReader::new(python.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let mut other = spawn("sleep", &["60"]).unwrap();
    let facts = HostFacts {
        machine_id: "live".into(),
        hostname: "live".into(),
        os: OsInfo::default(),
        kernel: String::new(),
        arch: String::new(),
        cpus: 1,
        memory_bytes: 0,
        boot_time: 0,
        interfaces: vec![],
        cloud: None,
    };
    let entity = |pid: u32| {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .and_then(|p| p.to_str().map(str::to_string));
        Entity::Process(Process {
            key: format!("{pid}:1"),
            pid,
            ppid: 1,
            name: "p".into(),
            exe,
            cmdline: vec![],
            uid: 0,
            user: None,
            start_time: 0,
            container_id: None,
        })
    };
    let with_python = RuntimeCollector::new(RuntimeConfig::live())
        .collect(&State::new(facts.clone(), [entity(python.id())]));
    let without = RuntimeCollector::new(RuntimeConfig::live())
        .collect(&State::new(facts, [entity(other.id())]));
    let _ = python.kill();
    let _ = other.kill();
    let _ = python.wait();
    let _ = other.wait();
    let Some(ssl) = with_python
        .packages
        .iter()
        .find(|p| p.files.iter().any(|f| f.contains("libssl.so")))
        .cloned()
    else {
        println!(
            "skipped: python3 did not map a libssl owned by a deb package here: {:?}",
            with_python.packages
        );
        return;
    };
    assert!(
        !without.packages.iter().any(|p| p.name == ssl.name),
        "sleep does not load {}: {without:?}",
        ssl.name
    );

    let c = start!(db);
    let admin = c.admin();
    let (a_cred, _) = enroll(&c, &admin, "live-a");
    let (b_cred, _) = enroll(&c, &admin, "live-b");
    for (cred, machine, rt) in [
        (&a_cred, "m-live-a", &with_python),
        (&b_cred, "m-live-b", &without),
    ] {
        let mut snap = snapshot(1, &host(machine, machine, &["10.1.0.1/24"]), &[]);
        snap["runtime"] = serde_json::to_value(rt).unwrap();
        let a = report(&c, cred, &snap);
        assert_eq!(a.status, 200, "{:#}", a.json);
    }
    let g = graph(&c, &admin, "");
    let record = vuln_record(
        "CVE-2026-1111",
        &ssl.name,
        &ssl.version,
        7.5,
        NET,
        0.2,
        false,
        &[],
    );
    scan_with_results(
        &c,
        &admin,
        &a_cred,
        node_id(&g, "host", "m-live-a"),
        &[upload_finding(&record)],
    );
    scan_with_results(
        &c,
        &admin,
        &b_cred,
        node_id(&g, "host", "m-live-b"),
        &[upload_finding(&record)],
    );
    let top = top_until(&c, &admin, "", |t| {
        t["findings"].as_array().is_some_and(|f| f.len() == 2)
    });
    let f = top["findings"].as_array().unwrap();
    assert_eq!(
        f[0]["node"],
        node_id(&g, "host", "m-live-a").to_string(),
        "{top:#}"
    );
    assert_eq!(f[0]["runtime"]["use"], "in_use", "{top:#}");
    let file = f[0]["runtime"]["file"].as_str().unwrap().to_string();
    assert!(
        ssl.files.contains(&file),
        "{file} is one of {:?}",
        ssl.files
    );
    assert_eq!(f[1]["runtime"]["use"], "not_in_use", "{top:#}");
    println!(
        "live: python3 maps {} {} ({}); in use on the host running it, not on the other",
        ssl.name, ssl.version, ssl.files[0]
    );
}

/// The API's top-N over a generated fleet (10,000 hosts, 100,000
/// containers, 1,000,000 findings by default; `RAMPART_THREAT_BENCH` =
/// `HOSTS,CONTAINERS,FINDINGS` to change it), loaded straight into the
/// console's analysis cache (not through the store), then asked over HTTPS.
/// Ignored by default (about a minute and 1.3 GB); see docs/BENCHMARKS.md.
pub fn threat_top_is_fast_on_a_generated_fleet() {
    let (hosts, containers, findings) = std::env::var("RAMPART_THREAT_BENCH")
        .ok()
        .and_then(|v| {
            let n: Vec<usize> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            (n.len() == 3).then(|| (n[0], n[1], n[2]))
        })
        .unwrap_or((10_000, 100_000, 1_000_000));
    let c = start!(Db::Sqlite);
    let admin = c.admin();
    // The background task's first (empty) analysis, then the fleet's.
    top_until(&c, &admin, "", |_| true);
    let t0 = Instant::now();
    let input = rampart_graph::synth::fleet(hosts, containers, findings, 7);
    let analysis = rampart_graph::Analysis::run(input).unwrap();
    let built = t0.elapsed();
    c.console
        .as_ref()
        .unwrap()
        .threat()
        .install(analysis, 0, built);
    let mut report = Vec::new();
    for query in [
        "/api/v1/threat/top?limit=20".to_string(),
        "/api/v1/threat/top?limit=100".to_string(),
        "/api/v1/threat/top?limit=1000".to_string(),
        "/api/v1/threat/paths?limit=20".to_string(),
        "/api/v1/threat/graph?group_by=host&top=5".to_string(),
    ] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let a = c.get(&query, &admin);
            times.push(t.elapsed());
            assert_eq!(a.status, 200, "{query}: {:#}", a.json);
        }
        times.sort();
        report.push((query, times[times.len() / 2], times[times.len() - 1]));
    }
    println!(
        "fleet {hosts} hosts / {containers} containers / {findings} findings: analysis {:.2} s",
        built.as_secs_f64()
    );
    for (q, median, max) in &report {
        println!(
            "{q}: median {:.1} ms, max {:.1} ms",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    for (q, median, _) in &report {
        if q.contains("/top") {
            assert!(median.as_millis() < 200, "{q}: {median:?}");
        }
    }
}

fn pod(uid: &str, name: &str) -> Value {
    json!({"kind": "pod", "key": uid, "name": name, "namespace": "shop", "labels": {"app": name}})
}

fn container(id: &str, pod_uid: &str) -> Value {
    json!({"kind": "container", "key": id, "runtime": "containerd", "name": id,
           "image": "registry.example/shop:1", "image_id": null, "state": "running",
           "labels": {}, "pod_uid": pod_uid})
}

fn service(uid: &str, name: &str, kind: &str, lb: &[&str], pods: &[&str]) -> Value {
    json!({"kind": "service", "key": uid, "cluster": "prod", "name": name, "namespace": "shop",
           "type": kind,
           "ports": [{"name": "https", "protocol": "TCP", "port": 443, "node_port": 31443}],
           "load_balancer": lb, "pod_uids": pods})
}

/// Records an open vulnerability on `node` straight in the store (what an
/// agent's scan upload does).
fn vuln_on(c: &TestConsole, node: i64, record: &Value) {
    let store = c.console().store().clone();
    let f = upload_finding(record);
    c.rt.block_on(store.record_findings(
        node,
        None,
        &["vulnerability"],
        &[rampart_console::store::inventory::FindingReport {
            kind: "vulnerability".into(),
            rule_id: f["rule_id"].as_str().unwrap().into(),
            fingerprint: f["fingerprint"].as_str().unwrap().into(),
            severity: rampart_model::Severity::High,
            title: f["title"].as_str().unwrap().into(),
            evidence: Some(record.clone()),
        }],
        rampart_console::clock::now(),
    ))
    .unwrap();
}

/// Kubernetes Services and Ingresses from a cluster-collecting agent: stored
/// as `service`/`ingress` nodes with `selects` and `routes` edges (also to
/// pods another agent reports), listed by `GET /nodes?type=service`, and
/// fed to the threat analysis: a LoadBalancer with a public address exposes
/// the containers of the pods it selects, one with a private address does
/// not; removing the Service removes the exposure.
pub fn kubernetes_services_expose_pods(db: Db) {
    let c = start!(db);
    let admin = c.admin();
    let (node_cred, _) = enroll(&c, &admin, "node-a");
    let (kube_cred, _) = enroll(&c, &admin, "cluster-collector");
    let kube_host = host("m-collector", "collector", &["10.0.0.9/24"]);
    let ingress = json!({"kind": "ingress", "key": "ing-1", "cluster": "prod", "name": "shop",
        "namespace": "shop", "class": "nginx", "load_balancer": ["34.120.9.9"],
        "rules": [{"host": "shop.example.com", "path": "/", "service": "web-internal",
                   "service_uid": "svc-web-internal", "port": 80, "pod_uids": ["pod-web"]},
                  {"host": "shop.example.com", "path": "/gone", "service": "gone",
                   "service_uid": null, "port": 80, "pod_uids": []}]});
    let objects = [
        service(
            "svc-web-public",
            "web-public",
            "LoadBalancer",
            &["34.120.5.6"],
            &["pod-web"],
        ),
        service(
            "svc-api-internal",
            "api-internal",
            "LoadBalancer",
            &["10.20.0.7"],
            &["pod-api"],
        ),
        service(
            "svc-web-internal",
            "web-internal",
            "ClusterIP",
            &[],
            &["pod-web"],
        ),
        ingress,
    ];
    // The cluster objects arrive before the node's pods: no edge to an
    // unknown pod yet.
    let a = report(&c, &kube_cred, &snapshot(1, &kube_host, &objects));
    assert_eq!(a.status, 200, "{:#}", a.json);
    let g = graph(&c, &admin, "");
    let svc = node_id(&g, "service", "svc-web-public");
    assert!(
        g["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "selects"),
        "{:#}",
        g["edges"]
    );
    // The node: a private address only, two pods, a listening process in each.
    let node = snapshot(
        1,
        &host("m-node-a", "node-a", &["10.0.0.4/24"]),
        &[
            pod("pod-web", "web"),
            container("c-web", "pod-web"),
            process("100:1", "web", Some("c-web")),
            listen("0.0.0.0", 8443, "100:1"),
            pod("pod-api", "api"),
            container("c-api", "pod-api"),
            process("200:1", "api", Some("c-api")),
            listen("0.0.0.0", 9000, "200:1"),
        ],
    );
    let a = report(&c, &node_cred, &node);
    assert_eq!(a.status, 200, "{:#}", a.json);
    // The collector's next report (nothing changed) links the pods.
    let a = report(
        &c,
        &kube_cred,
        &json!({"protocol": 1, "agent_version": "0.0.0-test", "seq": 2, "base": 1,
                "collected_at": 1_700_000_210, "mode": "procfs", "host": null,
                "upsert": [], "remove": []}),
    );
    assert_eq!(a.status, 200, "{:#}", a.json);
    let g = graph(&c, &admin, "");
    let pod_web = node_id(&g, "pod", "pod-web");
    let pod_api = node_id(&g, "pod", "pod-api");
    let web_internal = node_id(&g, "service", "svc-web-internal");
    let ing = node_id(&g, "ingress", "ing-1");
    let edge = |kind: &str, s: i64| -> Vec<i64> {
        g["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind && e["source"] == s)
            .map(|e| e["target"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(edge("selects", svc), [pod_web]);
    assert_eq!(
        edge("selects", node_id(&g, "service", "svc-api-internal")),
        [pod_api]
    );
    assert_eq!(edge("routes", ing), [web_internal]);

    // The node list by type.
    let l = c.get("/api/v1/nodes?type=service&sort=name", &admin);
    assert_eq!(l.status, 200, "{:#}", l.json);
    let names: Vec<&str> = l.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api-internal", "web-internal", "web-public"]);
    let web = l.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "web-public")
        .unwrap();
    assert_eq!(web["key"], "svc-web-public");
    assert_eq!(web["attributes"]["type"], "LoadBalancer");
    assert_eq!(web["attributes"]["load_balancer"], json!(["34.120.5.6"]));
    assert_eq!(web["attributes"]["cluster"], "prod");
    let l = c.get("/api/v1/nodes?type=ingress", &admin);
    assert_eq!(l.json["total"], 1, "{:#}", l.json);
    assert_eq!(l.json["items"][0]["attributes"]["class"], "nginx");
    c.get("/api/v1/nodes?type=services", &admin)
        .assert_error(400, "bad_request");
    let t = c.get("/api/v1/graph/topology?type=service,ingress", &admin);
    assert_eq!(t.json["nodes"].as_array().unwrap().len(), 4, "{:#}", t.json);

    // Findings in both containers: the one behind the public load balancer
    // is exposed, the one behind the internal one is not.
    let c_web = node_id(&g, "container", "c-web");
    let c_api = node_id(&g, "container", "c-api");
    let web_vuln = vuln_record(
        "CVE-2026-1001",
        "libssl3",
        "3.0.15-1",
        7.5,
        NET,
        0.2,
        false,
        &[],
    );
    let api_vuln = vuln_record(
        "CVE-2026-1002",
        "libssl3",
        "3.0.15-1",
        7.5,
        NET,
        0.2,
        false,
        &[],
    );
    vuln_on(&c, c_web, &web_vuln);
    vuln_on(&c, c_api, &api_vuln);
    let top = top_until(&c, &admin, "?limit=10", |t| {
        t["findings"].as_array().is_some_and(|f| f.len() == 2)
    });
    let exposed = finding(&top, "CVE-2026-1001");
    assert_eq!(exposed["node"], c_web.to_string());
    assert_eq!(exposed["reach"], "hops", "{exposed:#}");
    assert!(factor(exposed, "exposure") > 0.0, "{exposed:#}");
    let internal = finding(&top, "CVE-2026-1002");
    assert_eq!(internal["reach"], "isolated", "{internal:#}");
    assert_eq!(ids(&top)[0], "CVE-2026-1001");
    let p = c.get(&format!("/api/v1/threat/paths?node={c_web}"), &admin);
    assert_eq!(p.status, 200, "{:#}", p.json);
    let steps = &p.json["paths"][0]["steps"];
    assert_eq!(steps[0]["kind"], "exposure", "{:#}", p.json);
    assert_eq!(steps[0]["to"], pod_web.to_string());
    assert_eq!(
        steps[0]["evidence"], "behind LoadBalancer Service web-public (ports [443])",
        "{:#}",
        p.json
    );
    assert_eq!(steps[1]["to"], c_web.to_string());
    assert_eq!(p.json["paths"][0]["hops"], 2);
    let p = c.get(&format!("/api/v1/threat/paths?node={c_api}"), &admin);
    assert_eq!(p.json["paths"], json!([]), "{:#}", p.json);

    // The public Service goes away: the Ingress still exposes the pod.
    let remove = |seq: u64, kind: &str, key: &str| {
        let a = report(
            &c,
            &kube_cred,
            &json!({"protocol": 1, "agent_version": "0.0.0-test", "seq": seq, "base": seq - 1,
                    "collected_at": 1_700_000_220, "mode": "procfs", "host": null,
                    "upsert": [], "remove": [{"kind": kind, "key": key}]}),
        );
        assert_eq!(a.status, 200, "{:#}", a.json);
    };
    remove(3, "service", "svc-web-public");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = c.get(&format!("/api/v1/threat/paths?node={c_web}"), &admin);
        if p.json["paths"][0]["steps"][0]["evidence"]
            == "behind Ingress shop for host shop.example.com"
        {
            break;
        }
        assert!(Instant::now() < deadline, "{:#}", p.json);
        std::thread::sleep(Duration::from_millis(100));
    }
    // And the Ingress: nothing is exposed.
    remove(4, "ingress", "ing-1");
    let n = c.get(&format!("/api/v1/nodes/{svc}"), &admin);
    assert_eq!(n.json["active"], false, "{:#}", n.json);
    let l = c.get("/api/v1/nodes?type=service&active=true", &admin);
    assert_eq!(l.json["total"], 2, "{:#}", l.json);
    top_until(&c, &admin, "?limit=10", |t| {
        t["findings"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["reach"] == "isolated"))
    });
}
