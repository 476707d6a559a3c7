//! Registries against a real `docker-registry` with htpasswd auth on
//! loopback (images pushed with skopeo), credentials encrypted at rest, and
//! central scans through a test executor. Skipped, saying why, when the
//! tools are missing (`.ci/run` installs them).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rampart_console::registry::{RegistryAccess, list_repositories_paged, list_tags};
use rampart_console::runner::{ExecutorError, ScanExecutor};
use rampart_model::Severity;
use rampart_model::agent::{Job, ResultFinding, ScanResults};
use rampart_source::registry::Credentials;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::harness::{Db, TestConsole};
use crate::settings_schedules::raw_db;

const USER: &str = "alice";
const PASSWORD: &str = "registry-pw-Xq7";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running `docker-registry` with basic auth, killed on drop.
pub struct Registry {
    child: Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A one-layer OCI layout (an empty tar layer) tagged `tag`.
fn write_layout(dir: &Path, tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = sha256(data);
        std::fs::write(blobs.join(&d[7..]), data).unwrap();
        (d, data.len())
    };
    let layer = vec![0_u8; 1024];
    let (layer_d, layer_n) = put(&layer);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer_d]}, "config": {}
    })
    .to_string();
    let (config_d, config_n) = put(config.as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d, "size": config_n},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_d, "size": layer_n}]
    })
    .to_string();
    let (man_d, man_n) = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_d,
            "size": man_n, "annotations": {"org.opencontainers.image.ref.name": tag}}]
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

impl Registry {
    /// Starts a registry with `alice` and pushes `team/app:v1`,
    /// `team/app:v2` and `team/db:v1`; `None` (after printing why) when the
    /// tools are missing.
    pub fn start() -> Option<Registry> {
        Self::start_with_auth("")
    }

    /// Like [`Registry::start`], with `auth_yaml` (the registry's `auth:`
    /// section) instead of htpasswd when not empty.
    pub fn start_with_auth(auth_yaml: &str) -> Option<Registry> {
        let missing: Vec<&str> = ["docker-registry", "skopeo", "htpasswd"]
            .into_iter()
            .filter(|t| !have(t))
            .collect();
        if !missing.is_empty() {
            println!(
                "SKIPPED: missing {} (bash .ci/run installs them)",
                missing.join(", ")
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("htpasswd")
            .args(["-Bbn", USER, PASSWORD])
            .output()
            .unwrap();
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, out.stdout).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let auth = if auth_yaml.is_empty() {
            format!(
                "auth:\n  htpasswd:\n    realm: rampart-test\n    path: {}\n",
                htpasswd.display()
            )
        } else {
            auth_yaml.to_string()
        };
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: rampart-test-secret\n{auth}",
            dir.path().join("data").display(),
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let reg = Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("HTTP/") {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        for (repo, tag) in [("team/app", "v1"), ("team/app", "v2"), ("team/db", "v1")] {
            let layout = reg
                ._dir
                .path()
                .join(format!("layout-{}-{tag}", repo.replace('/', "-")));
            write_layout(&layout, tag);
            let out = Command::new("skopeo")
                .args([
                    "copy",
                    "--quiet",
                    "--insecure-policy",
                    "--dest-tls-verify=false",
                ])
                .args(["--dest-creds", &format!("{USER}:{PASSWORD}")])
                .arg(format!("oci:{}:{tag}", layout.display()))
                .arg(format!("docker://{}/{repo}:{tag}", reg.host))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "skopeo: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(reg)
    }

    fn access(&self, password: &str) -> RegistryAccess {
        RegistryAccess {
            host: self.host.clone(),
            insecure: true,
            credentials: Some(Credentials {
                username: USER.into(),
                password: password.into(),
            }),
        }
    }
}

/// The library client against the real registry: Link pagination, auth.
pub fn registry_client_paginates_and_authenticates(_db: Db) {
    let Some(reg) = Registry::start() else { return };
    // One entry per page: every page is reached through `Link`.
    let repos = list_repositories_paged(&reg.access(PASSWORD), 1).unwrap();
    assert_eq!(repos, ["team/app", "team/db"]);
    let tags = list_tags(&reg.access(PASSWORD), "team/app").unwrap();
    assert_eq!(tags, ["v1", "v2"]);
    let err = list_repositories_paged(&reg.access("wrong-password"), 1).unwrap_err();
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    let anon = RegistryAccess {
        credentials: None,
        ..reg.access(PASSWORD)
    };
    assert!(list_tags(&anon, "team/app").is_err());
}

pub fn registries_api_with_a_real_registry(db: Db) {
    let Some(reg) = Registry::start() else { return };
    let Some(c) = TestConsole::start(db, |_| {}) else {
        return;
    };
    let admin = c.admin();
    c.create_user(&admin, "worker", "standard");
    let worker = c.login("worker", "worker-password-123");
    for bad in [
        json!({"name": "r", "host": "http://127.0.0.1:1"}),
        json!({"name": "r", "host": "127.0.0.1:1/path"}),
        json!({"name": "", "host": "127.0.0.1:1"}),
        json!({"name": "r", "host": "127.0.0.1:1", "username": "u"}),
        json!({"name": "r", "host": "127.0.0.1:1", "password": ""}),
    ] {
        c.call("POST", "/api/v1/registries", Some(&admin), Some(bad))
            .assert_error(400, "bad_request");
    }
    c.call(
        "POST",
        "/api/v1/registries",
        Some(&worker),
        Some(json!({"name": "r", "host": "127.0.0.1:1"})),
    )
    .assert_error(403, "forbidden");
    let a = c.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"name": "local", "host": reg.host, "insecure": true, "username": USER, "password": PASSWORD})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    let id = a.json["id"].as_i64().unwrap();
    assert_eq!(a.json["has_secret"], true);
    assert!(!a.json.to_string().contains(PASSWORD));
    let wrong = c.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"name": "wrong", "host": reg.host, "insecure": true, "username": USER, "password": "not-the-password"})),
    );
    assert_eq!(wrong.status, 201);
    let wrong_id = wrong.json["id"].as_i64().unwrap();
    // Never returned, never audited, never stored in clear.
    for path in [
        "/api/v1/registries".to_string(),
        format!("/api/v1/registries/{id}"),
    ] {
        let a = c.get(&path, &worker);
        assert_eq!(a.status, 200);
        assert!(!a.json.to_string().contains(PASSWORD));
    }
    let audit = c.get("/api/v1/audit?action=registry.create", &admin).json;
    assert_eq!(audit["total"], 2);
    assert!(!audit.to_string().contains(PASSWORD));
    let raw = raw_db(&c);
    let rows =
        c.rt.block_on(raw.query(
            "SELECT name, host, username, secret_key_id, secret FROM registries WHERE id = ?",
            vec![id.into()],
        ))
        .unwrap();
    let row = &rows[0];
    let sealed = row.text(4).unwrap();
    assert!(!sealed.contains(PASSWORD) && !sealed.is_empty());
    assert_eq!(row.text(3).unwrap().len(), 16, "a key id");
    let everything = format!(
        "{:?}",
        c.rt.block_on(raw.query("SELECT * FROM registries", vec![]))
            .unwrap()
    );
    assert!(!everything.contains(PASSWORD));
    if db == Db::Sqlite {
        let file = std::fs::read(c.dir.path().join("console.db")).unwrap();
        assert!(!String::from_utf8_lossy(&file).contains(PASSWORD));
        let key = c.dir.path().join("secret.key");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&key).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    // Live listings through the console.
    let repos = c.get(&format!("/api/v1/registries/{id}/repositories"), &worker);
    assert_eq!(repos.status, 200, "{:#}", repos.json);
    assert_eq!(repos.json["items"], json!(["team/app", "team/db"]));
    assert_eq!(repos.json["total"], 2);
    let page = c.get(
        &format!("/api/v1/registries/{id}/repositories?limit=1&offset=1"),
        &worker,
    );
    assert_eq!(page.json["items"], json!(["team/db"]));
    let tags = c.get(
        &format!("/api/v1/registries/{id}/repositories/team%2Fapp/tags"),
        &worker,
    );
    assert_eq!(tags.status, 200, "{:#}", tags.json);
    assert_eq!(tags.json["items"], json!(["v1", "v2"]));
    c.get(
        &format!("/api/v1/registries/{id}/repositories/team%2Fnope/tags"),
        &worker,
    )
    .assert_error(404, "not_found");
    c.get(
        &format!("/api/v1/registries/{id}/repositories/Bad..Name/tags"),
        &worker,
    )
    .assert_error(400, "bad_request");
    // A wrong password: a clear error, not a crash.
    let e = c.get(
        &format!("/api/v1/registries/{wrong_id}/repositories"),
        &worker,
    );
    e.assert_error(502, "bad_gateway");
    let msg = e.json["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("authentication failed") && msg.contains(&reg.host),
        "{msg}"
    );
    c.get("/api/v1/registries/999/repositories", &worker)
        .assert_error(404, "not_found");
    // Delete: admin only, audited.
    c.call(
        "DELETE",
        &format!("/api/v1/registries/{wrong_id}"),
        Some(&worker),
        None,
    )
    .assert_error(403, "forbidden");
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/api/v1/registries/{wrong_id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(c.get("/api/v1/registries", &worker).json["total"], 1);
    assert_eq!(
        c.get("/api/v1/audit?action=registry.delete", &admin).json["total"],
        1
    );
}

/// What the test executor saw.
#[derive(Debug, Default)]
struct Seen {
    jobs: Vec<Job>,
    credentials: Vec<Option<(String, String)>>,
    tags_listed: Vec<Vec<String>>,
}

/// A test executor: proves it got working credentials by listing the
/// scanned repository's tags on the real registry with them, and reports
/// one finding per target.
#[derive(Debug, Default)]
struct TestExecutor {
    seen: Mutex<Seen>,
}

#[async_trait]
impl ScanExecutor for TestExecutor {
    async fn execute(
        &self,
        job: &Job,
        registry: &RegistryAccess,
    ) -> Result<Vec<ScanResults>, ExecutorError> {
        let access = registry.clone();
        let repo = job.targets[0]
            .strip_prefix(&format!("registry:{}/", access.host))
            .and_then(|r| r.split(':').next())
            .ok_or_else(|| ExecutorError("unexpected target".into()))?
            .to_string();
        let tags = tokio::task::spawn_blocking(move || list_tags(&access, &repo))
            .await
            .map_err(|e| ExecutorError(e.to_string()))?
            .map_err(|e| ExecutorError(e.to_string()))?;
        {
            let mut seen = self.seen.lock().unwrap();
            seen.jobs.push(job.clone());
            seen.credentials.push(
                registry
                    .credentials
                    .as_ref()
                    .map(|c| (c.username.clone(), c.password.clone())),
            );
            seen.tags_listed.push(tags);
        }
        Ok(job
            .targets
            .iter()
            .map(|t| ScanResults {
                target: t.clone(),
                scanners: job.scanners.clone(),
                findings: vec![ResultFinding {
                    kind: "vulnerability".into(),
                    rule_id: "CVE-2024-12345".into(),
                    fingerprint: format!("CVE-2024-12345/openssl@3.0.0/{t}"),
                    severity: Severity::High,
                    title: "openssl: test advisory".into(),
                    evidence: Some(json!({"package": "openssl", "version": "3.0.0"})),
                }],
                skipped: vec![],
            })
            .collect())
    }
}

fn wait_final(c: &TestConsole, token: &str, scan: i64, secs: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = c.get(&format!("/api/v1/scans/{scan}"), token).json;
        if !matches!(s["state"].as_str(), Some("queued" | "running")) {
            return s;
        }
        assert!(Instant::now() < deadline, "scan {scan} still {s:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn central_scans_run_with_decrypted_credentials(db: Db) {
    let Some(reg) = Registry::start() else { return };
    let executor = Arc::new(TestExecutor::default());
    let exec: Arc<dyn ScanExecutor> = executor.clone();
    let Some(c) = TestConsole::start(db, move |cfg| cfg.executor = Some(exec)) else {
        return;
    };
    let admin = c.admin();
    c.create_user(&admin, "reader", "read-only");
    let reader = c.login("reader", "reader-password-123");
    let a = c.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"name": "local", "host": reg.host, "insecure": true, "username": USER, "password": PASSWORD})),
    );
    let id = a.json["id"].as_i64().unwrap();
    for bad in [
        json!({"images": []}),
        json!({"images": ["team/app"]}),
        json!({"images": ["Team/App:v1"]}),
    ] {
        c.call(
            "POST",
            &format!("/api/v1/registries/{id}/scan"),
            Some(&admin),
            Some(bad),
        )
        .assert_error(400, "bad_request");
    }
    c.call(
        "POST",
        &format!("/api/v1/registries/{id}/scan"),
        Some(&reader),
        Some(json!({"images": ["team/app:v1"]})),
    )
    .assert_error(403, "forbidden");
    // An agent never gets a central scan.
    let s = c.call(
        "POST",
        &format!("/api/v1/registries/{id}/scan"),
        Some(&admin),
        Some(json!({"images": ["team/app:v1", "team/app:v2"], "scanners": ["vuln"]})),
    );
    assert_eq!(s.status, 201, "{:#}", s.json);
    let scan_id = s.json["id"].as_i64().unwrap();
    let target = format!("registry:{}/team/app:v1", reg.host);
    assert_eq!(s.json["targets"][0], target);
    let done = wait_final(&c, &admin, scan_id, 30);
    assert_eq!(done["state"], "succeeded", "{done:#}");
    assert!(done["runner"].as_str().unwrap().starts_with("console:"));
    {
        let seen = executor.seen.lock().unwrap();
        assert_eq!(seen.jobs.len(), 1);
        assert_eq!(seen.jobs[0].scan_id, scan_id);
        assert_eq!(seen.jobs[0].scanners, ["vuln"]);
        assert_eq!(
            seen.credentials[0],
            Some((USER.to_string(), PASSWORD.to_string())),
            "the executor gets the decrypted credentials"
        );
        assert_eq!(seen.tags_listed[0], ["v1", "v2"]);
    }
    // The results are findings on image nodes.
    let nodes = c.get("/api/v1/nodes?type=image", &reader).json;
    assert_eq!(nodes["total"], 2, "{nodes:#}");
    let findings = c.get("/api/v1/findings?kind=vulnerability", &reader).json;
    assert_eq!(findings["total"], 2, "{findings:#}");
    assert_eq!(findings["items"][0]["rule_id"], "CVE-2024-12345");
    // Agents only see scans meant for agents.
    let t = c.call(
        "POST",
        "/api/v1/agents/enrollment-tokens",
        Some(&admin),
        Some(json!({"name": "a"})),
    );
    let agent = c.call(
        "POST",
        "/api/v1/agents/enroll",
        None,
        Some(json!({"enrollment_token": t.json["token"], "hostname": "h"})),
    );
    let cred = agent.json["credential"].as_str().unwrap().to_string();
    let s2 = c.call(
        "POST",
        &format!("/api/v1/registries/{id}/scan"),
        Some(&admin),
        Some(json!({"images": ["team/db:v1"]})),
    );
    assert_eq!(s2.status, 201);
    let claim = c.call("POST", "/api/v1/agent/scans/claim", Some(&cred), None);
    assert_eq!(claim.status, 204, "{:#}", claim.json);
    let done = wait_final(&c, &admin, s2.json["id"].as_i64().unwrap(), 30);
    assert_eq!(done["state"], "succeeded", "{done:#}");
}

pub fn central_scans_without_a_scanner_time_out(db: Db) {
    let Some(c) = TestConsole::start(db, |cfg| {
        cfg.scan_queue_timeout_secs = 1;
        cfg.scan_heartbeat_timeout_secs = 4;
    }) else {
        return;
    };
    let admin = c.admin();
    let a = c.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"name": "nowhere", "host": "127.0.0.1:9", "insecure": true})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    let id = a.json["id"].as_i64().unwrap();
    let s = c.call(
        "POST",
        &format!("/api/v1/registries/{id}/scan"),
        Some(&admin),
        Some(json!({"images": ["team/app:v1"]})),
    );
    assert_eq!(s.status, 201);
    let done = wait_final(&c, &admin, s.json["id"].as_i64().unwrap(), 30);
    assert_eq!(done["state"], "timed-out");
    assert_eq!(done["reason"], "no central scanner configured");
}

fn b64url(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A minimal token service on loopback: answers `GET /token?scope=...`
/// with a JWT (RS256, signed by `openssl`, the certificate in `x5c`) when
/// the Basic credentials are alice's, 401 otherwise. Counts requests.
struct TokenService {
    port: u16,
    served: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn jwt(key: &Path, cert_b64: &str, scopes: &[String]) -> String {
    let now = rampart_console::clock::now();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let (kind, rest) = s.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let head = b64url(
        json!({"typ": "JWT", "alg": "RS256", "x5c": [cert_b64]})
            .to_string()
            .as_bytes(),
    );
    let body = b64url(
        json!({"iss": "rampart-console-test", "sub": USER, "aud": "rampart-registry",
               "exp": now + 600, "nbf": now - 60, "iat": now, "jti": format!("j{now}"),
               "access": access})
        .to_string()
        .as_bytes(),
    );
    let signing_input = format!("{head}.{body}");
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let sig = child.wait_with_output().unwrap();
    assert!(sig.status.success());
    format!("{signing_input}.{}", b64url(&sig.stdout))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

impl TokenService {
    fn start(key: std::path::PathBuf, cert_b64: String) -> TokenService {
        use base64::Engine as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (served2, stop2) = (Arc::clone(&served), Arc::clone(&stop));
        let good = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = conn else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut ok = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                        && let Some((scheme, creds)) = value.trim().split_once(' ')
                    {
                        ok = scheme.eq_ignore_ascii_case("basic") && creds == good;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                served2.lock().unwrap().push(path.clone());
                let scopes: Vec<String> = path
                    .split_once('?')
                    .map_or("", |(_, q)| q)
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("scope="))
                    .map(percent_decode)
                    .collect();
                let (status, body) = if ok {
                    (
                        "200 OK",
                        json!({"token": jwt(&key, &cert_b64, &scopes)}).to_string(),
                    )
                } else {
                    ("401 Unauthorized", "{}".to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenService { port, served, stop }
    }
}

/// Bearer tokens: the registry delegates to a token service; the client
/// fetches a token with the stored credentials, for the catalog and for
/// one repository, and a wrong password is refused by the token service.
pub fn registry_client_uses_bearer_tokens(_db: Db) {
    if !have("openssl") {
        println!("SKIPPED: missing openssl");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key.pem");
    let cert = work.path().join("cert.pem");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=token-test",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    let cert_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&der.stdout)
    };
    let tokens = TokenService::start(key, cert_b64);
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: rampart-registry\n    \
         issuer: rampart-console-test\n    rootcertbundle: {}\n",
        tokens.port,
        cert.display()
    );
    let Some(reg) = Registry::start_with_auth(&auth) else {
        return;
    };
    let repos = list_repositories_paged(&reg.access(PASSWORD), 1).unwrap();
    assert_eq!(repos, ["team/app", "team/db"]);
    assert_eq!(list_tags(&reg.access(PASSWORD), "team/db").unwrap(), ["v1"]);
    let served = tokens.served.lock().unwrap().clone();
    assert!(
        served
            .iter()
            .any(|p| p.contains("registry%3Acatalog") || p.contains("registry:catalog")),
        "{served:?}"
    );
    assert!(
        served
            .iter()
            .any(|p| p.contains("team%2Fdb") || p.contains("team/db")),
        "{served:?}"
    );
    let err = list_tags(&reg.access("wrong-password"), "team/app").unwrap_err();
    assert!(
        err.to_string().contains("token service answered 401"),
        "{err}"
    );
}

/// Key rotation: a new key with the old one kept re-encrypts the stored
/// secrets at start; afterwards the old key is no longer needed.
pub fn secret_keys_rotate(db: Db) {
    use base64::Engine as _;
    let key_a = base64::engine::general_purpose::STANDARD.encode([1_u8; 32]);
    let key_b = base64::engine::general_purpose::STANDARD.encode([2_u8; 32]);
    let ka = key_a.clone();
    let Some(c) = TestConsole::start(db, move |cfg| cfg.secret_key = Some(ka)) else {
        return;
    };
    let admin = c.admin();
    let a = c.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"name": "r", "host": "127.0.0.1:9", "insecure": true, "username": USER, "password": PASSWORD})),
    );
    assert_eq!(a.status, 201, "{:#}", a.json);
    let key_id = |c: &TestConsole| {
        let raw = raw_db(c);
        c.rt.block_on(raw.query("SELECT secret_key_id, secret FROM registries", vec![]))
            .unwrap()[0]
            .text(0)
            .unwrap()
    };
    let first = key_id(&c);
    assert!(
        !c.dir.path().join("secret.key").exists(),
        "the configured key is used"
    );
    let (dir, url) = c.stop();
    let restart = |dir: tempfile::TempDir, url: Option<String>, key: &str, old: Vec<String>| {
        let mut cfg = crate::harness::config(dir.path());
        cfg.database_url.clone_from(&url);
        cfg.database_ca = crate::pg::ca_file();
        cfg.secret_key = Some(key.to_string());
        cfg.old_secret_keys = old;
        TestConsole::start_with(cfg, dir, url)
    };
    let c = restart(dir, url, &key_b, vec![key_a]);
    let second = key_id(&c);
    assert_ne!(first, second, "re-encrypted with the new key");
    let (dir, url) = c.stop();
    // The old key is no longer needed: the credentials still open (the
    // registry answers nothing on port 9, but the error is about the
    // network, not the key).
    let c = restart(dir, url, &key_b, vec![]);
    assert_eq!(key_id(&c), second);
    let admin = c.admin();
    let e = c.get("/api/v1/registries/1/repositories", &admin);
    e.assert_error(502, "bad_gateway");
}
