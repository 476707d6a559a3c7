//! The live-cluster reader against recorded Kubernetes API responses served
//! on loopback (no API server can run here): authentication header, list
//! items without kind, owned objects left out, forbidden resources noted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use rampart_posture::{PolicySet, Report, Status};
use serde_json::json;

fn responses() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "/apis/apps/v1/deployments",
            json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "1"}, "items": [
                {"metadata": {"name": "api", "namespace": "prod", "managedFields": [{"manager": "kubectl"}]},
                 "spec": {"template": {"spec": {"hostPID": true, "containers": [{"name": "api", "image": "registry.example/api:3"}]}}}}
            ]}),
        ),
        (
            "/api/v1/pods",
            json!({"kind": "PodList", "apiVersion": "v1", "items": [
                {"metadata": {"name": "api-7d9-x", "namespace": "prod",
                              "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9", "controller": true}]},
                 "spec": {"containers": [{"name": "api", "image": "registry.example/api:3"}]}},
                {"metadata": {"name": "debug", "namespace": "prod"},
                 "spec": {"containers": [{"name": "sh", "image": "busybox", "securityContext": {"privileged": true}}]}}
            ]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"kind": "ClusterRoleBindingList", "items": [
                {"metadata": {"name": "anon"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "Group", "name": "system:unauthenticated"}]}
            ]}),
        ),
    ]
}

/// Serves the recorded lists; 403 for ConfigMaps, 404 for everything else.
fn serve(token: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap_or_else(|e| panic!("{e}")));
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line.trim().to_string();
                }
            }
            let path = request
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(path.clone());
            let (status, body) =
                if auth.to_ascii_lowercase() != format!("authorization: bearer {token}") {
                    ("401 Unauthorized", json!({"kind": "Status", "code": 401}))
                } else if path == "/api/v1/configmaps" {
                    ("403 Forbidden", json!({"kind": "Status", "code": 403}))
                } else if let Some((_, b)) = responses().into_iter().find(|(p, _)| *p == path) {
                    ("200 OK", b)
                } else {
                    ("200 OK", json!({"kind": "List", "items": []}))
                };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = reader.take(0).read_to_end(&mut rest);
        }
    });
    (format!("http://{addr}"), seen)
}

fn kubeconfig(dir: &std::path::Path, server: &str, token: &str) -> std::path::PathBuf {
    let p = dir.join("config");
    std::fs::write(
        &p,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: ci}}\nclusters:\n- name: lab\n  cluster: {{server: \"{server}\"}}\nusers:\n- name: ci\n  user: {{token: {token}}}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    p
}

#[test]
fn a_recorded_cluster_is_assessed() {
    let (server, seen) = serve("t0ken");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = kubeconfig(dir.path(), &server, "t0ken");
    let facts = rampart_posture::kube::cluster_facts("lab", &cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        facts["workloads"].as_array().map(Vec::len),
        Some(2),
        "the owned pod is left out"
    );
    assert!(
        facts["objects"][0]
            .pointer("/metadata/managedFields")
            .is_none()
    );
    assert!(
        facts["notes"].as_array().is_some_and(|n| n.iter().any(|x| x
            .as_str()
            .is_some_and(|s| s.contains("configmaps: HTTP 403")))),
        "{}",
        facts["notes"]
    );
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let r = Report::new(
        "k8s",
        "k8s:lab",
        set.evaluate("k8s", &facts)
            .unwrap_or_else(|e| panic!("{e}")),
        Vec::new(),
    );
    let get = |id: &str| {
        r.results
            .iter()
            .find(|x| x.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(get("RMP-K8S-003").status, Status::Fail);
    assert_eq!(
        get("RMP-K8S-003").evidence[0].resource.as_deref(),
        Some("Deployment/prod/api")
    );
    assert_eq!(get("RMP-K8S-003").evidence[0].file, None);
    assert_eq!(
        get("RMP-K8S-001").evidence[0].resource.as_deref(),
        Some("Pod/prod/debug")
    );
    assert_eq!(get("RMP-K8S-RBAC-008").status, Status::Fail);
    let paths = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(
        !paths.iter().any(|p| p.contains("secrets")),
        "Secrets are never read: {paths:?}"
    );

    // Wrong credentials: an error naming the problem.
    let bad = kubeconfig(dir.path(), &server, "nope");
    let e = rampart_posture::kube::cluster_facts("", &bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("401"), "{e}");
    let e = rampart_posture::kube::cluster_facts("other", &bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("no context \"other\""), "{e}");
}
