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
            let mut extra = String::new();
            let (status, body) =
                if auth.to_ascii_lowercase() != format!("authorization: bearer {token}") {
                    ("401 Unauthorized", json!({"kind": "Status", "code": 401}))
                } else if path == "/apis/batch/v1/cronjobs" {
                    // A redirect elsewhere: the token must not follow it.
                    extra = "Location: /redirected-with-the-token\r\n".to_string();
                    ("302 Found", json!({}))
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
                "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
        !paths.iter().any(|p| p.contains("redirected")),
        "a redirect is not followed: {paths:?}"
    );
    assert!(
        facts["notes"].as_array().is_some_and(|n| n
            .iter()
            .any(|x| x.as_str().is_some_and(|s| s.contains("cronjobs: HTTP 302")))),
        "{}",
        facts["notes"]
    );
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

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate it
/// signed; plus a second, unrelated CA. `None` without openssl.
fn pki(dir: &std::path::Path) -> Option<()> {
    let steps: &[&[&str]] = &[
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=lab-ca",
        ],
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "other-ca.key",
            "-out",
            "other-ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=other-ca",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=ci/O=system:masters",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.pem",
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ],
    ];
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").ok()?;
    steps.iter().all(|a| openssl(dir, a)).then_some(())
}

/// The recorded API behind real TLS that requires a client certificate
/// signed by the lab CA (Python's `ssl` module on loopback).
struct TlsServer {
    child: std::process::Child,
    url: String,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TLS_SERVER: &str = r#"
import http.server, json, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cn = dict(x[0] for x in self.connection.getpeercert()["subject"]).get("commonName")
        if self.path == "/apis/apps/v1/deployments":
            body = {"kind": "DeploymentList", "items": [{"metadata": {"name": cn, "namespace": "prod"},
                    "spec": {"template": {"spec": {"hostPID": True, "containers": [{"name": "a", "image": "a:1"}]}}}}]}
        else:
            body = {"kind": "List", "items": []}
        b = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
ctx.load_verify_locations(d + "/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

fn tls_server(dir: &std::path::Path) -> Option<TlsServer> {
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(TLS_SERVER)
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    let stdout = child.stdout.take()?;
    BufReader::new(stdout).read_line(&mut line).ok()?;
    let port: u16 = line.trim().parse().ok()?;
    Some(TlsServer {
        child,
        url: format!("https://127.0.0.1:{port}"),
    })
}

fn b64(dir: &std::path::Path, file: &str) -> String {
    use base64::Engine as _;
    let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A client certificate over verified TLS: the kubeconfig's embedded CA and
/// client pair are used for real (the server refuses a handshake without a
/// certificate its CA signed), a client without a certificate is refused,
/// and a server its CA did not sign is not trusted.
#[test]
fn client_certificate_over_verified_tls() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    if pki(d).is_none() {
        eprintln!("SKIPPED client_certificate_over_verified_tls: openssl is missing");
        return;
    }
    let Some(server) = tls_server(d) else {
        eprintln!("SKIPPED client_certificate_over_verified_tls: python3 is missing");
        return;
    };
    let write = |name: &str, ca: &str, with_client: bool| {
        let user = if with_client {
            format!(
                "{{client-certificate-data: {}, client-key-data: {}}}",
                b64(d, "client.pem"),
                b64(d, "client.key")
            )
        } else {
            "{}".to_string()
        };
        let p = d.join(name);
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: ci}}\nclusters:\n- name: lab\n  cluster: {{server: \"{}\", certificate-authority-data: {}}}\nusers:\n- name: ci\n  user: {user}\n",
                server.url,
                b64(d, ca)
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let good = write("good", "ca.pem", true);
    let facts =
        rampart_posture::kube::cluster_facts("lab", &good).unwrap_or_else(|e| panic!("{e}"));
    // The server named the workload after the client certificate's CN: the
    // certificate really was presented.
    assert_eq!(
        facts["workloads"][0]["name"], "ci",
        "{}",
        facts["workloads"]
    );

    let no_client = write("no-client", "ca.pem", false);
    let e = rampart_posture::kube::cluster_facts("lab", &no_client)
        .err()
        .map(|e| format!("{e}"))
        .unwrap_or_default();
    assert!(e.contains("CertificateRequired"), "{e}");

    let wrong_ca = write("wrong-ca", "other-ca.pem", true);
    let e = rampart_posture::kube::cluster_facts("lab", &wrong_ca)
        .err()
        .map(|e| format!("{e}"))
        .unwrap_or_default();
    assert!(e.contains("UnknownIssuer"), "{e}");
}
