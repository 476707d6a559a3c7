//! The Kubernetes API collector against a real HTTPS server on loopback
//! (rustls, a CA and certificates made by rcgen for the test) that checks
//! bearer tokens or client certificates and answers list requests with the
//! recorded-shape answers in `kube/` (Services of type ClusterIP, NodePort
//! and LoadBalancer with public and private addresses, EndpointSlices
//! naming pods, Ingresses).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rampart_model::agent::{Entity, EntityKind, Ingress, Service};
use rampart_sensor::agent::Reporter;
use rampart_sensor::kube::{KubeCollector, KubeConfig, KubeSetup, setup};
use rampart_sensor::{Collector, CollectorConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sensor/kube")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "test cluster CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf = |sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose, cn: &str| {
        let mut p = CertificateParams::default();
        p.subject_alt_names = sans;
        p.extended_key_usages = vec![usage];
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let server = leaf(
        vec![
            SanType::IpAddress("127.0.0.1".parse().unwrap()),
            SanType::DnsName("localhost".try_into().unwrap()),
        ],
        ExtendedKeyUsagePurpose::ServerAuth,
        "kube-apiserver",
    );
    let client = leaf(
        vec![],
        ExtendedKeyUsagePurpose::ClientAuth,
        "rampart-sensor",
    );
    Pki {
        ca_pem: ca.pem(),
        server,
        client,
    }
}

/// What one request looked like.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    bearer: Option<String>,
    client_cert: bool,
}

/// What the server answers.
struct Script {
    token: String,
    services: Value,
    slices: Value,
    ingresses: Value,
    /// Answer 403 to everything.
    forbid: bool,
    /// How Services are paged.
    paging: Paging,
    seen: Vec<Seen>,
}

/// How the server pages the Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// Two pages, the second asked with an encoded continue token.
    Two,
    /// Empty pages, each with a token never seen before.
    EndlessNewTokens,
    /// Empty pages whose tokens alternate between two values.
    Alternating,
    /// Pages of the fixture's items padded to about 64 KiB, endlessly.
    EndlessLarge,
}

/// A TLS API server on 127.0.0.1, stopped when dropped.
struct KubeServer {
    port: u16,
    script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for KubeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const CONTINUE: &str = "page 2/x=";

impl KubeServer {
    fn start(pki: &Pki, token: &str) -> KubeServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&provider),
        )
        .allow_unauthenticated()
        .build()
        .unwrap();
        let chain = vec![CertificateDer::from_pem_slice(pki.server.0.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(pki.server.1.as_bytes()).unwrap();
        let cfg = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let script = Arc::new(Mutex::new(Script {
            token: token.to_string(),
            services: fixture("services.json"),
            slices: fixture("endpointslices.json"),
            ingresses: fixture("ingresses.json"),
            forbid: false,
            paging: Paging::Two,
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (Arc::clone(&script), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    serve(stream, &cfg, &s2);
                }
            }
        });
        KubeServer {
            port,
            script,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    fn edit(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.script.lock().unwrap());
    }
}

fn serve(tcp: TcpStream, cfg: &Arc<rustls::ServerConfig>, script: &Mutex<Script>) {
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let conn = rustls::ServerConnection::new(Arc::clone(cfg)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut lines = Vec::new();
    {
        let mut r = BufReader::new(&mut tls);
        loop {
            let mut l = String::new();
            match r.read_line(&mut l) {
                Ok(0) | Err(_) => return, // a refused handshake lands here
                Ok(_) => {}
            }
            let l = l.trim_end().to_string();
            if l.is_empty() {
                break;
            }
            lines.push(l);
        }
    }
    let target = lines
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    let bearer = lines.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.trim().strip_prefix("Bearer ").map(str::to_string))
            .flatten()
    });
    let client_cert = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
    let (status, body) = {
        let mut s = script.lock().unwrap();
        s.seen.push(Seen {
            target: target.clone(),
            bearer: bearer.clone(),
            client_cert,
        });
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if bearer.as_deref() != Some(s.token.as_str()) && !client_cert {
            (
                401,
                r#"{"kind":"Status","code":401,"reason":"Unauthorized"}"#.to_string(),
            )
        } else if s.forbid {
            (
                403,
                r#"{"kind":"Status","code":403,"reason":"Forbidden"}"#.to_string(),
            )
        } else {
            match path {
                "/api/v1/services" if s.paging != Paging::Two => {
                    let n = s.seen.len();
                    let mut list = s.services.clone();
                    list["items"] = Value::Array(vec![]);
                    list["metadata"]["continue"] = Value::from(match s.paging {
                        Paging::Alternating => format!("tok-{}", n % 2),
                        _ => format!("tok-{n}"),
                    });
                    if s.paging == Paging::EndlessLarge {
                        list["metadata"]["padding"] = Value::from("x".repeat(64 << 10));
                    }
                    (200, list.to_string())
                }
                "/api/v1/services" => {
                    // Two pages: the continue token must come back encoded.
                    let items = s.services["items"].as_array().cloned().unwrap_or_default();
                    let mut list = s.services.clone();
                    let enc = "page%202%2Fx%3D";
                    if query.contains(&format!("continue={enc}")) {
                        list["items"] = Value::Array(items.into_iter().skip(2).collect());
                    } else {
                        list["items"] = Value::Array(items.into_iter().take(2).collect());
                        list["metadata"]["continue"] = Value::from(CONTINUE);
                    }
                    (200, list.to_string())
                }
                "/apis/discovery.k8s.io/v1/endpointslices" => (200, s.slices.to_string()),
                "/apis/networking.k8s.io/v1/ingresses" => (200, s.ingresses.to_string()),
                _ => (404, r#"{"kind":"Status","code":404}"#.to_string()),
            }
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(body.as_bytes());
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn service_account(dir: &Path, pki: &Pki, token: &str) -> PathBuf {
    let sa = dir.join("serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), token).unwrap();
    std::fs::write(sa.join("ca.crt"), &pki.ca_pem).unwrap();
    std::fs::write(sa.join("namespace"), "rampart").unwrap();
    sa
}

fn in_cluster(port: u16, sa: &Path) -> KubeConfig {
    let env = |k: &str| match k {
        "KUBERNETES_SERVICE_HOST" => Some("127.0.0.1".to_string()),
        "KUBERNETES_SERVICE_PORT" => Some(port.to_string()),
        _ => None,
    };
    match setup(None, None, None, env, sa, Duration::from_secs(5)).unwrap() {
        KubeSetup::Collecting(c) => c,
        other => panic!("in-cluster with a service account collects by default: {other:?}"),
    }
}

fn services(report: &[Entity]) -> Vec<&Service> {
    report
        .iter()
        .filter_map(|e| match e {
            Entity::Service(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn ingresses(report: &[Entity]) -> Vec<&Ingress> {
    report
        .iter()
        .filter_map(|e| match e {
            Entity::Ingress(i) => Some(i),
            _ => None,
        })
        .collect()
}

fn collector(kube: KubeConfig) -> Collector {
    Collector::new(CollectorConfig {
        root: PathBuf::from("/"),
        live: false,
        cloud_metadata_url: None,
        runtime_sockets: vec![],
        cri_sockets: vec![],
        containerd_sockets: vec![],
        runtime_timeout: std::time::Duration::from_secs(2),
        clock_ticks: 100,
        kube: Some(kube),
    })
}

#[test]
fn in_cluster_services_and_ingresses_are_reported_and_removed() {
    let pki = pki();
    let server = KubeServer::start(&pki, "sa-token-1");
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account(dir.path(), &pki, "sa-token-1");
    let mut kube = in_cluster(server.port, &sa);
    assert_eq!(kube.api.cluster, "in-cluster");
    kube.every = 1;
    let mut c = collector(kube);
    let mut reporter = Reporter::default();

    let state = c.collect().unwrap();
    let report = reporter.next(&state);
    assert_eq!(report.base, None);
    // The rest of the report is there too.
    assert!(
        report
            .upsert
            .iter()
            .any(|e| matches!(e, Entity::Process(_)))
    );
    let svcs = services(&report.upsert);
    let names: Vec<&str> = svcs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.len(),
        5,
        "both pages of services were listed: {names:?}"
    );
    let by = |n: &str| *svcs.iter().find(|s| s.name == n).unwrap();
    let lb = by("web-public");
    assert_eq!(lb.key, "5b1f0c3e-4f6a-4c1e-9d57-0a3f2b7c9e01");
    assert_eq!(
        (lb.namespace.as_str(), lb.service_type.as_str()),
        ("shop", "LoadBalancer")
    );
    assert_eq!(lb.cluster, "in-cluster");
    assert_eq!(lb.load_balancer, ["34.120.5.6"]);
    assert_eq!(lb.ports.len(), 1);
    assert_eq!(
        (lb.ports[0].port, lb.ports[0].node_port),
        (443, Some(31443))
    );
    assert_eq!(lb.ports[0].protocol, "TCP");
    assert_eq!(
        lb.pod_uids,
        [
            "7d0c9a52-1b1e-4d0b-8f5e-2a1f3c4d5e61",
            "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
        ]
    );
    assert_eq!(by("api-internal").load_balancer, ["10.20.0.7"]);
    assert_eq!(
        by("api-internal").pod_uids,
        ["c0ffee00-1111-4222-8333-944445555666"]
    );
    let np = by("web-nodeport");
    assert_eq!(np.service_type, "NodePort");
    assert_eq!(np.ports[0].node_port, Some(30080));
    assert_eq!(np.pod_uids, lb.pod_uids);
    // The API server's own Service: its endpoints are not pods.
    let k = by("kubernetes");
    assert_eq!(
        (k.service_type.as_str(), k.pod_uids.len()),
        ("ClusterIP", 0)
    );
    assert!(k.load_balancer.is_empty());

    let ings = ingresses(&report.upsert);
    assert_eq!(ings.len(), 1);
    let ing = ings[0];
    assert_eq!(
        (ing.name.as_str(), ing.class.as_deref()),
        ("shop", Some("nginx"))
    );
    assert_eq!(ing.load_balancer, ["34.120.9.9"]);
    assert_eq!(ing.rules.len(), 3, "{:#?}", ing.rules);
    let root = &ing.rules[1];
    assert_eq!(root.host.as_deref(), Some("shop.example.com"));
    assert_eq!(root.path.as_deref(), Some("/"));
    assert_eq!(root.service, "web-internal");
    assert_eq!(root.port, Some(80));
    assert_eq!(
        root.service_uid.as_deref(),
        Some(by("web-internal").key.as_str())
    );
    assert_eq!(root.pod_uids, lb.pod_uids);
    let api = &ing.rules[2];
    assert_eq!((api.port, api.port_name.as_deref()), (None, Some("http")));
    assert_eq!(api.pod_uids, ["c0ffee00-1111-4222-8333-944445555666"]);
    // The default backend names a Service that does not exist.
    let default = &ing.rules[0];
    assert_eq!(
        (default.host.as_ref(), default.service.as_str()),
        (None, "missing")
    );
    assert_eq!(
        (default.service_uid.as_ref(), default.pod_uids.len()),
        (None, 0)
    );

    // Every request carried the service account's token; the second page
    // was asked with the encoded continue token.
    let seen = server.seen();
    assert!(
        seen.iter()
            .all(|s| s.bearer.as_deref() == Some("sa-token-1")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.target == "/api/v1/services?limit=500&continue=page%202%2Fx%3D"),
        "{seen:?}"
    );
    reporter.acknowledged(report.seq, report.seq, state);

    // The token is rotated and one Service deleted: the next delta removes it.
    std::fs::write(sa.join("token"), "sa-token-2\n").unwrap();
    server.edit(|s| {
        s.token = "sa-token-2".into();
        let items = s.services["items"].as_array_mut().unwrap();
        items.retain(|i| i["metadata"]["name"] != "web-nodeport");
    });
    let state = c.collect().unwrap();
    let delta = reporter.next(&state);
    let removed: Vec<_> = delta
        .remove
        .iter()
        .filter(|r| r.kind == EntityKind::Service)
        .collect();
    assert_eq!(removed.len(), 1, "{:?}", delta.remove);
    assert_eq!(removed[0].key, np.key);
    assert!(services(&delta.upsert).is_empty(), "nothing else changed");
    reporter.acknowledged(delta.seq, delta.seq, state);

    // The API starts refusing (403): logged, the rest of the report goes
    // on, the last listing is kept for a while, then dropped.
    server.edit(|s| s.forbid = true);
    for _ in 0..2 {
        let state = c.collect().unwrap();
        let d = reporter.next(&state);
        assert!(
            d.remove.iter().all(|r| r.kind != EntityKind::Service),
            "{:?}",
            d.remove
        );
        reporter.acknowledged(d.seq, d.seq, state);
    }
    assert_eq!(
        c.kube.as_ref().unwrap().last_error(),
        Some("/api/v1/services: HTTP 403")
    );
    let state = c.collect().unwrap();
    let d = reporter.next(&state);
    let gone = d
        .remove
        .iter()
        .filter(|r| r.kind == EntityKind::Service)
        .count();
    assert_eq!(gone, 4, "{:?}", d.remove);
    assert_eq!(
        d.remove
            .iter()
            .filter(|r| r.kind == EntityKind::Ingress)
            .count(),
        1
    );
    assert!(state.host.is_some());
}

#[test]
fn kubeconfig_with_a_client_certificate() {
    let pki = pki();
    let server = KubeServer::start(&pki, "unused-token");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client.crt"), &pki.client.0).unwrap();
    std::fs::write(dir.path().join("client.key"), &pki.client.1).unwrap();
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(&pki.ca_pem);
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: admin@prod\n\
             contexts:\n- name: admin@prod\n  context:\n    cluster: prod-eu\n    user: admin\n\
             clusters:\n- name: prod-eu\n  cluster:\n    server: https://127.0.0.1:{}\n    certificate-authority-data: {ca}\n\
             users:\n- name: admin\n  user:\n    client-certificate: client.crt\n    client-key: client.key\n",
            server.port
        ),
    )
    .unwrap();
    let no_env = |_: &str| None;
    // A kubeconfig alone does not collect cluster objects (other sensors
    // of the cluster would report the same): it takes --kube-cluster-objects.
    let s = setup(
        Some(&kc),
        None,
        None,
        no_env,
        dir.path(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(matches!(s, KubeSetup::NotCollecting { .. }), "{s:?}");
    let KubeSetup::Collecting(cfg) = setup(
        Some(&kc),
        Some(true),
        None,
        no_env,
        dir.path(),
        Duration::from_secs(5),
    )
    .unwrap() else {
        panic!("asked to collect")
    };
    assert_eq!(cfg.api.cluster, "prod-eu");
    let mut k = KubeCollector::new(cfg);
    let got = k.poll().to_vec();
    assert_eq!(k.last_error(), None);
    assert_eq!(services(&got).len(), 5);
    assert!(services(&got).iter().all(|s| s.cluster == "prod-eu"));
    let seen = server.seen();
    assert!(
        seen.iter().all(|s| s.client_cert && s.bearer.is_none()),
        "{seen:?}"
    );
    // Named explicitly.
    let KubeSetup::Collecting(cfg) = setup(
        Some(&kc),
        Some(true),
        Some("eu-1".into()),
        no_env,
        dir.path(),
        Duration::from_secs(5),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(cfg.api.cluster, "eu-1");
}

#[test]
fn a_tls_failure_is_an_error_not_a_panic() {
    let pki = pki();
    let other = self::pki();
    let server = KubeServer::start(&pki, "t");
    let dir = tempfile::tempdir().unwrap();
    // The service account's CA is another cluster's.
    let sa = service_account(dir.path(), &other, "t");
    let mut c = collector(in_cluster(server.port, &sa));
    let state = c.collect().unwrap();
    assert!(state.entities.keys().all(|r| r.kind != EntityKind::Service));
    let err = c.kube.as_ref().unwrap().last_error().unwrap().to_string();
    assert!(err.starts_with("/api/v1/services: "), "{err}");
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("issuer"),
        "{err}"
    );
    // A wrong token: 401.
    let sa = service_account(dir.path(), &pki, "wrong");
    let mut k = KubeCollector::new(in_cluster(server.port, &sa));
    assert!(k.poll().is_empty());
    assert_eq!(k.last_error(), Some("/api/v1/services: HTTP 401"));
}

/// A collector whose in-cluster API pages Services as `paging` says, with
/// a first good listing already made.
fn misbehaving(paging: Paging) -> (KubeServer, tempfile::TempDir, KubeConfig, KubeCollector) {
    let pki = pki();
    let server = KubeServer::start(&pki, "t");
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account(dir.path(), &pki, "t");
    let cfg = in_cluster(server.port, &sa);
    let mut k = KubeCollector::new(cfg.clone());
    k.refresh();
    assert_eq!(k.last_error(), None);
    assert_eq!(services(k.poll()).len(), 5);
    server.edit(|s| {
        s.paging = paging;
        s.seen.clear();
    });
    (server, dir, cfg, k)
}

#[test]
fn endless_pages_with_new_tokens_end_with_an_error() {
    let (server, _dir, _, mut k) = misbehaving(Paging::EndlessNewTokens);
    let t = std::time::Instant::now();
    k.refresh();
    let took = t.elapsed();
    assert_eq!(
        k.last_error(),
        Some("/api/v1/services: more than 41 pages in one listing")
    );
    assert_eq!(server.seen().len(), 41);
    assert!(took < Duration::from_secs(20), "{took:?}");
    // Handled like other failures: the last listing is kept for now.
    assert_eq!(services(k.poll()).len(), 5);
}

#[test]
fn a_repeated_continue_token_is_an_error() {
    let (server, _dir, _, mut k) = misbehaving(Paging::Alternating);
    k.refresh();
    let err = k.last_error().unwrap();
    assert!(
        err.starts_with("/api/v1/services: the server repeated the continue token \"tok-"),
        "{err}"
    );
    assert_eq!(server.seen().len(), 3, "{:?}", server.seen());
}

#[test]
fn a_listing_has_a_byte_budget_and_a_refresh_a_deadline() {
    let (server, _dir, mut cfg, mut k) = misbehaving(Paging::EndlessLarge);
    // Pages of about 64 KiB against a 1 MiB budget: the 16th page is over.
    cfg.api.limits.max_bytes = 1 << 20;
    let mut k2 = KubeCollector::new(cfg.clone());
    k2.refresh();
    assert_eq!(
        k2.last_error(),
        Some("/api/v1/services: more than 1048576 bytes in one listing")
    );
    assert!(
        (16..=17).contains(&server.seen().len()),
        "{}",
        server.seen().len()
    );
    // Unbounded pages and bytes, a 300 ms deadline for the refresh.
    cfg.api.limits.max_bytes = u64::MAX;
    cfg.api.limits.max_pages = u32::MAX;
    cfg.api.limits.refresh_deadline = Duration::from_millis(300);
    let mut k3 = KubeCollector::new(cfg);
    let t = std::time::Instant::now();
    k3.refresh();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let err = k3.last_error().unwrap();
    assert!(
        err == "/api/v1/services: the refresh took longer than 0.3 s"
            || (err.starts_with("/api/v1/services: ") && err.contains("imeout")),
        "{err}"
    );
    k.refresh();
    assert!(k.last_error().is_some());
}
