//! `rampart graph top` and `rampart graph paths` against a real console
//! (started as a process): an agent's report and a scan's uploaded results
//! make the topology and the findings; the outputs are compared with golden
//! files.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::console::{api, client, start};
use crate::{golden, rampart, stderr};

fn vuln(cve: &str, package: &str, cvss: f64, kev: bool, epss: f64) -> Value {
    let mut r = json!({
        "kind": "vulnerability", "scanner": "vuln", "id": cve, "ids": [cve],
        "package_name": package, "package_version": "1.0-1",
        "purl": format!("pkg:deb/debian/{package}@1.0-1?arch=amd64"),
        "severity": if cvss >= 9.0 { "critical" } else { "high" },
        "cvss": [{"base_score": cvss, "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                  "version": "3.1", "severity": "high"}],
        "epss": {"score": epss, "percentile": 0.9},
        "fixed_versions": ["1.0-2"], "summary": format!("{cve} in {package}"),
    });
    if kev {
        r["kev"] = json!({"cve": cve, "date_added": "2026-01-02", "ransomware": true});
    }
    json!({
        "kind": "vulnerability", "rule_id": cve, "fingerprint": format!("{cve} {package}"),
        "severity": r["severity"], "title": r["summary"], "evidence": r,
    })
}

fn graph_cmd(url: &str, cert: &str, token: &str, args: &[&str]) -> std::process::Output {
    rampart()
        .arg("graph")
        .args(args)
        .args(["--console", url, "--ca-cert", cert])
        .env("RAMPART_TOKEN", token)
        .output()
        .unwrap()
}

#[test]
fn graph_top_and_paths_against_a_real_console() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut c = start(
        &["--listen", "127.0.0.1:0"],
        &[
            ("RAMPART_CONSOLE_DATA_DIR", data.to_str().unwrap()),
            ("RAMPART_ADMIN_PASSWORD", "cli-test-admin-password"),
        ],
    );
    let line = c.wait_for("console listening on https://");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    let cert_path = data.join("tls/cert.pem");
    let cert = cert_path.to_str().unwrap();
    let http = client(&std::fs::read(&cert_path).unwrap());
    let (s, login) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/auth/login"),
        None,
        Some(json!({"username": "admin", "password": "cli-test-admin-password"})),
    );
    assert_eq!(s, 200);
    let admin = login["token"].as_str().unwrap().to_string();

    // Before the first analysis or without a token: clear errors, exit 2.
    let o = rampart()
        .args(["graph", "top", "--console", &url, "--ca-cert", cert])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("RAMPART_TOKEN"), "{}", stderr(&o));

    let (_, t) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agents/enrollment-tokens"),
        Some(&admin),
        Some(json!({"name": "web"})),
    );
    let (s, enrolled) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agents/enroll"),
        None,
        Some(json!({"enrollment_token": t["token"], "hostname": "web"})),
    );
    assert_eq!(s, 201, "{enrolled}");
    let cred = enrolled["credential"].as_str().unwrap().to_string();
    let report = json!({
        "protocol": 1, "agent_version": "0.0.0-test", "seq": 1, "base": null,
        "collected_at": 1_700_000_200, "mode": "procfs",
        "host": {
            "machine_id": "m-web", "hostname": "web",
            "os": {"id": "debian", "version_id": "12", "pretty_name": "Debian 12"},
            "kernel": "6.1.0", "arch": "x86_64", "cpus": 2, "memory_bytes": 4_000_000_000_u64,
            "boot_time": 1_700_000_000,
            "interfaces": [{"name": "eth0", "mac": null, "addresses": ["34.120.0.10/24"]}],
            "cloud": null,
        },
        "upsert": [
            {"kind": "process", "key": "100:5", "pid": 100, "ppid": 1, "name": "nginx",
             "exe": "/usr/sbin/nginx", "cmdline": ["nginx"], "uid": 0, "user": "root",
             "start_time": 1_700_000_100, "container_id": null},
            {"kind": "listen", "key": "tcp:0.0.0.0:443", "proto": "tcp", "address": "0.0.0.0",
             "port": 443, "process_key": "100:5", "pid": 100},
        ],
        "remove": [],
        "runtime": {
            "databases": ["deb"], "processes": 1, "files_in_use": 2,
            "packages": [{"ecosystem": "deb", "name": "libssl3", "version": "1.0-1",
                          "files": ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]}],
            "language_files": [],
        },
    });
    let (s, ack) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agent/report"),
        Some(&cred),
        Some(report),
    );
    assert_eq!(s, 200, "{ack}");
    let (_, topo) = api(
        &http,
        "GET",
        &format!("{url}/api/v1/graph/topology?type=host"),
        Some(&admin),
        None,
    );
    let host = topo["nodes"][0]["id"].as_i64().unwrap();
    let (s, scan) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/scans"),
        Some(&admin),
        Some(json!({"targets": [host.to_string()], "scanners": ["vuln"]})),
    );
    assert_eq!(s, 201, "{scan}");
    let scan = scan["id"].as_i64().unwrap();
    let (s, _) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agent/scans/claim"),
        Some(&cred),
        None,
    );
    assert_eq!(s, 200);
    let results = json!({"target": "host", "scanners": ["vuln"], "skipped": [], "findings": [
        vuln("CVE-2026-0001", "libssl3", 7.5, true, 0.4),
        vuln("CVE-2026-0002", "zlib1g", 9.8, false, 0.01),
    ]});
    let (s, r) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agent/scans/{scan}/results"),
        Some(&cred),
        Some(results),
    );
    assert!(s < 300, "{r}");

    // The analysis is recomputed in the background (every 5 s by default).
    let deadline = Instant::now() + Duration::from_secs(60);
    let top_json = loop {
        let o = graph_cmd(&url, cert, &admin, &["top", "--format", "json"]);
        if o.status.code() == Some(0) {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            if v["findings"].as_array().is_some_and(|f| f.len() == 2) {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "no analysis: {}", stderr(&o));
        std::thread::sleep(Duration::from_millis(500));
    };
    let computed = top_json["computed_at"].as_str().unwrap().to_string();
    let redact = [(computed.as_str(), "[TIME]")];
    golden(
        "graph-top.json",
        &String::from_utf8(graph_cmd(&url, cert, &admin, &["top", "--format", "json"]).stdout)
            .unwrap(),
        &redact,
    );
    let o = graph_cmd(&url, cert, &admin, &["top", "--limit", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden(
        "graph-top.txt",
        &String::from_utf8(o.stdout).unwrap(),
        &redact,
    );
    let o = graph_cmd(
        &url,
        cert,
        &admin,
        &["top", "--node", &host.to_string(), "--limit", "1"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("CVE-2026-0001") && !text.contains("CVE-2026-0002"),
        "{text}"
    );

    let o = graph_cmd(&url, cert, &admin, &["paths", &host.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden(
        "graph-paths.txt",
        &String::from_utf8(o.stdout).unwrap(),
        &redact,
    );
    let o = graph_cmd(
        &url,
        cert,
        &admin,
        &["paths", &host.to_string(), "--format", "json"],
    );
    golden(
        "graph-paths.json",
        &String::from_utf8(o.stdout).unwrap(),
        &redact,
    );

    // An unknown node, a bad token.
    let o = graph_cmd(&url, cert, &admin, &["paths", "999999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    let o = graph_cmd(&url, cert, "rms_not-a-token", &["top"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
}
