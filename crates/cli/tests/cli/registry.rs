//! Against real components: Debian's `docker-registry` (without auth, with
//! htpasswd basic auth, and with bearer tokens from a token service written
//! here), images built from directories with `umoci` and copied with
//! `skopeo`. Every kind of image source must list the same files.
//!
//! When the tools are missing (a machine where `.ci/run` has not installed
//! them) each test prints why and returns without asserting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::{rampart, stderr};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tools_or_skip(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    println!(
        "SKIPPED {test}: missing {} (bash .ci/run installs them)",
        missing.join(", ")
    );
    false
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `docker-registry`, killed on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn start(auth_yaml: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: rampart-test-secret\n{auth_yaml}",
            dir.path().join("data").display()
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
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("HTTP/") {
                    return reg;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry on port {port} did not start");
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Builds a three-layer OCI layout from directories with umoci: files,
/// then deletions (whiteouts) and a replacement, then an opaque directory
/// added as a raw layer. Returns the layout directory; tag `v3`.
fn build_image(work: &Path) -> PathBuf {
    let layout = work.join("oci");
    let bundle = work.join("bundle");
    let rootfs = bundle.join("rootfs");
    sh(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    sh(Command::new("umoci")
        .args(["new", "--image"])
        .arg(format!("{}:base", layout.display())));
    sh(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:base", layout.display()))
        .arg(&bundle));
    let w = |rel: &str, data: &str| {
        let p = rootfs.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    w("app/secret.env", "TOKEN=abc\n");
    w("app/main.py", "print('hi')\n");
    w("data/one.txt", "1\n");
    w("data/two.txt", "2\n");
    std::os::unix::fs::symlink("/usr/lib/os-release", rootfs.join("etc/os-link")).unwrap();
    let repack = |tag: &str| {
        sh(Command::new("umoci")
            .args(["repack", "--refresh-bundle", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle));
    };
    repack("v1");
    std::fs::remove_file(rootfs.join("app/secret.env")).unwrap();
    std::fs::remove_dir_all(rootfs.join("data")).unwrap();
    w("data/new.txt", "new\n");
    w("app/main.py", "print('hello')\n");
    repack("v2");
    // An opaque whiteout, which umoci repack never writes: a raw layer.
    let raw = work.join("opq");
    std::fs::create_dir_all(raw.join("app")).unwrap();
    std::fs::write(raw.join("app/.wh..wh..opq"), "").unwrap();
    std::fs::write(raw.join("app/only.txt"), "only\n").unwrap();
    sh(Command::new("tar")
        .args(["--owner=0", "--group=0", "--numeric-owner", "-C"])
        .arg(&raw)
        .args(["-cf"])
        .arg(work.join("opq.tar"))
        .args(["app/.wh..wh..opq", "app/only.txt"]));
    sh(Command::new("umoci")
        .args(["raw", "add-layer", "--image"])
        .arg(format!("{}:v2", layout.display()))
        .args(["--tag", "v3"])
        .arg(work.join("opq.tar")));
    sh(Command::new("umoci")
        .args(["config", "--image"])
        .arg(format!("{}:v3", layout.display()))
        .args([
            "--config.user",
            "1000",
            "--config.entrypoint",
            "/usr/bin/python3",
        ]));
    layout
}

fn skopeo_copy(extra: &[&str], from: &str, to: &str) {
    sh(Command::new("skopeo")
        .args(["copy", "--quiet", "--insecure-policy"])
        .args(extra)
        .args([from, to]));
}

fn ls_json(args: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = rampart();
    cmd.args(["source", "ls", "--format", "json"]).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn comparable(v: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"files": v["files"], "removed": v["removed"], "skips": v["skips"]})
}

#[test]
fn every_source_kind_lists_the_same_files() {
    if !tools_or_skip(
        "every_source_kind_lists_the_same_files",
        &["docker-registry", "umoci", "skopeo", "tar"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let layout = build_image(work.path());
    let src = format!("oci:{}:v3", layout.display());
    let reg = Registry::start("");
    let reference = format!("{}/rampart/test:v3", reg.host());
    skopeo_copy(
        &["--dest-tls-verify=false"],
        &src,
        &format!("docker://{reference}"),
    );
    let docker_tar = work.path().join("img.docker.tar");
    skopeo_copy(
        &[],
        &src,
        &format!(
            "docker-archive:{}:localhost/rampart/test:v3",
            docker_tar.display()
        ),
    );
    let oci_tar = work.path().join("img.oci.tar");
    skopeo_copy(&[], &src, &format!("oci-archive:{}:v3", oci_tar.display()));
    let zstd_dir = work.path().join("zstd");
    skopeo_copy(
        &["--dest-compress-format", "zstd"],
        &src,
        &format!("oci:{}:v3", zstd_dir.display()),
    );

    let from_registry = ls_json(
        &[&format!("registry:{reference}"), "--insecure-registry"],
        &[],
    );
    let listings = [
        ls_json(&[&format!("oci-dir:{}:v3", layout.display())], &[]),
        ls_json(&[&format!("docker-archive:{}", docker_tar.display())], &[]),
        ls_json(&[&format!("oci-archive:{}", oci_tar.display())], &[]),
        ls_json(&[&format!("oci-dir:{}", zstd_dir.display())], &[]),
        ls_json(&[docker_tar.to_str().unwrap()], &[]),
    ];
    for l in &listings {
        assert_eq!(
            comparable(&from_registry),
            comparable(l),
            "{} differs from the registry",
            l["target"]
        );
    }
    let files: Vec<&str> = from_registry["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for want in [
        "/app/only.txt",
        "/data/new.txt",
        "/etc/os-release",
        "/etc/os-link",
    ] {
        assert!(files.contains(&want), "{want} missing from {files:?}");
    }
    for gone in ["/app/secret.env", "/app/main.py", "/data/one.txt"] {
        assert!(!files.contains(&gone), "{gone} should be deleted");
    }
    let removed: Vec<(String, String)> = from_registry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["removed"]["how"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        removed.contains(&("/app/secret.env".into(), "whiteout".into())),
        "{removed:?}"
    );
    assert!(
        removed.contains(&("/data/one.txt".into(), "whiteout".into())),
        "{removed:?}"
    );
    assert!(
        removed.contains(&("/app/main.py".into(), "opaque".into())),
        "{removed:?}"
    );
    let layers = from_registry["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let new_txt = &from_registry["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/data/new.txt")
        .unwrap();
    assert_eq!(new_txt["layer_digest"], layers[1]["diff_id"]);
    // Pinning by digest works and is verified.
    let digest = from_registry["image"]["manifest_digest"].as_str().unwrap();
    let pinned = ls_json(
        &[
            &format!("registry:{}/rampart/test@{digest}", reg.host()),
            "--insecure-registry",
        ],
        &[],
    );
    assert_eq!(comparable(&pinned), comparable(&from_registry));
    // A tag that does not exist is a clear error, and HTTPS is the default.
    let o = rampart()
        .args([
            "source",
            "ls",
            &format!("registry:{}/rampart/test:nope", reg.host()),
            "--insecure-registry",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    let o = rampart()
        .args(["source", "ls", &format!("registry:{reference}")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--insecure-registry"), "{}", stderr(&o));
}

#[test]
fn multi_platform_index_is_resolved_by_platform() {
    if !tools_or_skip(
        "multi_platform_index_is_resolved_by_platform",
        &["docker-registry", "skopeo"],
    ) {
        return;
    }
    use super::common::{Comp, Fixture, LayerBlob, blob_path, file, layout_files, sha, write_dir};
    let work = tempfile::tempdir().unwrap();
    let amd = Fixture::for_arch(
        vec![LayerBlob::new(&[file("arch", "amd64")], Comp::Gzip)],
        "amd64",
    );
    let arm = Fixture::for_arch(
        vec![LayerBlob::new(&[file("arch", "arm64")], Comp::Gzip)],
        "arm64",
    );
    let mut files = layout_files(&[(&amd, None), (&arm, None)]);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd.descriptor(None, true), arm.descriptor(None, true)],
    }))
    .unwrap();
    files.retain(|(n, _)| n != "index.json");
    files.push((blob_path(&sha(&index)), index.clone()));
    files.push((
        "index.json".into(),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": sha(&index), "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
        .unwrap(),
    ));
    let dir = work.path().join("multi");
    write_dir(&dir, &files);
    let reg = Registry::start("");
    let reference = format!("{}/rampart/multi:1", reg.host());
    skopeo_copy(
        &["--all", "--dest-tls-verify=false"],
        &format!("oci:{}:multi", dir.display()),
        &format!("docker://{reference}"),
    );
    let arm_listing = ls_json(
        &[
            &format!("registry:{reference}"),
            "--insecure-registry",
            "--platform",
            "linux/arm64",
        ],
        &[],
    );
    assert_eq!(arm_listing["image"]["platform"], "linux/arm64");
    let o = rampart()
        .args([
            "source",
            "ls",
            &format!("registry:{reference}"),
            "--insecure-registry",
            "--platform",
            "linux/ppc64le",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("linux/amd64") && err.contains("linux/arm64"),
        "{err}"
    );
}

#[test]
fn basic_auth_from_flags_environment_and_docker_config() {
    if !tools_or_skip(
        "basic_auth_from_flags_environment_and_docker_config",
        &["docker-registry", "skopeo", "htpasswd"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let htpasswd = work.path().join("htpasswd");
    let out = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret-pw"])
        .output()
        .unwrap();
    std::fs::write(&htpasswd, out.stdout).unwrap();
    let reg = Registry::start(&format!(
        "auth:\n  htpasswd:\n    realm: rampart-test\n    path: {}\n",
        htpasswd.display()
    ));
    let layout = work.path().join("layout");
    super::common::sample().write_oci_dir(&layout, Some("v1"));
    let reference = format!("{}/team/app:v1", reg.host());
    skopeo_copy(
        &["--dest-tls-verify=false", "--dest-creds", "alice:s3cret-pw"],
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{reference}"),
    );
    let target = format!("registry:{reference}");
    // Anonymous: refused with a clear message.
    let o = rampart()
        .args(["source", "ls", &target, "--insecure-registry"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("authentication failed"),
        "{}",
        stderr(&o)
    );
    // Wrong password: refused, and the password is never echoed.
    let o = rampart()
        .args([
            "source",
            "ls",
            &target,
            "--insecure-registry",
            "--username",
            "alice",
        ])
        .env("RAMPART_REGISTRY_PASSWORD", "wrong-pw")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("credentials rejected"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("wrong-pw"));
    // Environment credentials.
    let expected = ls_json(&[&format!("oci-dir:{}", layout.display())], &[]);
    let got = ls_json(
        &[&target, "--insecure-registry"],
        &[
            ("RAMPART_REGISTRY_USERNAME", "alice"),
            ("RAMPART_REGISTRY_PASSWORD", "s3cret-pw"),
        ],
    );
    assert_eq!(comparable(&got), comparable(&expected));
    // Docker config.json credentials.
    let cfg_dir = work.path().join("docker");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret-pw");
    std::fs::write(
        cfg_dir.join("config.json"),
        serde_json::json!({"auths": {reg.host(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let got = ls_json(
        &[&target, "--insecure-registry"],
        &[("DOCKER_CONFIG", cfg_dir.to_str().unwrap())],
    );
    assert_eq!(comparable(&got), comparable(&expected));
}

/// A token service: checks Basic credentials, then issues a JWT signed with
/// `openssl` that the registry verifies against the certificate.
struct TokenService {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn sign_jwt(key: &Path, cert_der_b64: &str, scopes: &[String]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [cert_der_b64]});
    let claims = serde_json::json!({
        "iss": "rampart-test-issuer", "sub": "alice", "aud": "rampart-test",
        "exp": now + 600, "nbf": now - 60, "iat": now, "jti": format!("t{now}{}", access.len()),
        "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
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
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    format!("{input}.{}", b64url(&out.stdout))
}

fn handle_token_request(
    mut stream: TcpStream,
    key: &Path,
    cert: &str,
    requests: &std::sync::Mutex<Vec<String>>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("authorization: basic ") {
            let want = base64::engine::general_purpose::STANDARD
                .encode("alice:s3cret-pw")
                .to_ascii_lowercase();
            authorized = v.trim() == want;
        }
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    requests.lock().unwrap().push(target.clone());
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(|s| {
            s.replace("%3A", ":")
                .replace("%2C", ",")
                .replace("%2F", "/")
        })
        .collect();
    let (status, body) = if authorized {
        let token = sign_jwt(key, cert, &scopes);
        (
            "200 OK",
            serde_json::json!({"token": token, "access_token": token, "expires_in": 600})
                .to_string(),
        )
    } else {
        (
            "401 Unauthorized",
            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_string(),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

impl TokenService {
    fn start(
        key: PathBuf,
        cert_der_b64: String,
        requests: Arc<std::sync::Mutex<Vec<String>>>,
    ) -> TokenService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        handle_token_request(s, &key, &cert_der_b64, &requests);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TokenService {
            port,
            stop,
            handle: Some(handle),
        }
    }
}

#[test]
fn bearer_tokens_from_a_token_service() {
    if !tools_or_skip(
        "bearer_tokens_from_a_token_service",
        &["docker-registry", "skopeo", "openssl"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key.pem");
    let cert = work.path().join("cert.pem");
    sh(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rampart-token",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(der.status.success());
    let cert_b64 = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tokens = TokenService::start(key, cert_b64, requests.clone());
    let reg = Registry::start(&format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: rampart-test\n    issuer: rampart-test-issuer\n    rootcertbundle: {}\n",
        tokens.port,
        cert.display()
    ));
    let layout = work.path().join("layout");
    super::common::sample().write_oci_dir(&layout, Some("v1"));
    let reference = format!("{}/team/tokened:v1", reg.host());
    skopeo_copy(
        &["--dest-tls-verify=false", "--dest-creds", "alice:s3cret-pw"],
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{reference}"),
    );
    let target = format!("registry:{reference}");
    let before = requests.lock().unwrap().len();
    let expected = ls_json(&[&format!("oci-dir:{}", layout.display())], &[]);
    let got = ls_json(
        &[&target, "--insecure-registry", "--username", "alice"],
        &[("RAMPART_REGISTRY_PASSWORD", "s3cret-pw")],
    );
    assert_eq!(comparable(&got), comparable(&expected));
    let reqs = requests.lock().unwrap().clone();
    assert!(reqs.len() > before, "rampart never asked the token service");
    assert!(
        reqs[before..]
            .iter()
            .any(
                |r| r.contains("service=rampart-test") && r.contains("team%2Ftokened")
                    || r.contains("team/tokened")
            ),
        "{reqs:?}"
    );
    // Wrong credentials: the token service refuses them.
    let o = rampart()
        .args([
            "source",
            "ls",
            &target,
            "--insecure-registry",
            "--username",
            "alice",
        ])
        .env("RAMPART_REGISTRY_PASSWORD", "nope")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("token service refused"),
        "{}",
        stderr(&o)
    );
}

/// The console scans a registry image itself: the registry's credentials
/// are stored encrypted, decrypted for the central runner, and passed to a
/// child `rampart scan` in its environment; the findings land on the
/// image's node.
#[test]
fn the_console_scans_a_registry_image_with_its_stored_credentials() {
    if !tools_or_skip(
        "the_console_scans_a_registry_image_with_its_stored_credentials",
        &["docker-registry", "skopeo", "htpasswd"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let htpasswd = work.path().join("htpasswd");
    let out = Command::new("htpasswd")
        .args(["-Bbn", "carol", "central-pw-1"])
        .output()
        .unwrap();
    std::fs::write(&htpasswd, out.stdout).unwrap();
    let reg = Registry::start(&format!(
        "auth:\n  htpasswd:\n    realm: rampart-test\n    path: {}\n",
        htpasswd.display()
    ));
    let layout = work.path().join("layout");
    super::common::sample().write_oci_dir(&layout, Some("v1"));
    skopeo_copy(
        &[
            "--dest-tls-verify=false",
            "--dest-creds",
            "carol:central-pw-1",
        ],
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{}/team/app:v1", reg.host()),
    );

    let data = work.path().join("data");
    let mut console = super::console::start(
        &["--listen", "127.0.0.1:0"],
        &[
            ("RAMPART_CONSOLE_DATA_DIR", data.to_str().unwrap()),
            ("RAMPART_ADMIN_PASSWORD", "central-test-admin-password"),
        ],
    );
    let line = console.wait_for("console listening on https://");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    let http = super::console::client(&std::fs::read(data.join("tls/cert.pem")).unwrap());
    let call = |method: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{url}{path}"))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut resp = http.run(req.body(body.to_string()).unwrap()).unwrap();
        let status = resp.status().as_u16();
        let v: serde_json::Value =
            serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap_or_default();
        (status, v)
    };
    let (_, login) = call(
        "POST",
        "/api/v1/auth/login",
        None,
        serde_json::json!({"username": "admin", "password": "central-test-admin-password"}),
    );
    let admin = login["token"].as_str().unwrap().to_string();
    let (s, registry) = call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        serde_json::json!({"name": "lab", "host": reg.host(), "insecure": true,
                           "username": "carol", "password": "central-pw-1"}),
    );
    assert_eq!(s, 201, "{registry}");
    let id = registry["id"].as_i64().unwrap();
    let (s, scan) = call(
        "POST",
        &format!("/api/v1/registries/{id}/scan"),
        Some(&admin),
        serde_json::json!({"images": ["team/app:v1"], "scanners": ["posture", "secret"]}),
    );
    assert!(s == 201 || s == 200, "{scan}");
    let scan_id = scan["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let (_, v) = call(
            "GET",
            &format!("/api/v1/scans/{scan_id}"),
            Some(&admin),
            serde_json::Value::Null,
        );
        if v["state"] != "queued" && v["state"] != "running" {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the central scan did not finish: {v}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(done["state"], "succeeded", "{done}");
    // Findings on the image's node (its posture checks run as root, with no
    // health check...).
    let (_, images) = call(
        "GET",
        "/api/v1/nodes?type=image",
        Some(&admin),
        serde_json::Value::Null,
    );
    assert_eq!(images["total"], 1, "{images}");
    let node = images["items"][0]["id"].as_i64().unwrap();
    let (_, findings) = call(
        "GET",
        &format!("/api/v1/findings?node={node}&limit=200"),
        Some(&admin),
        serde_json::Value::Null,
    );
    let kinds: std::collections::BTreeSet<&str> = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains("posture"), "{findings}");
    // The password never reaches the API, the audit log or the console's log.
    let (_, audit) = call(
        "GET",
        "/api/v1/audit?limit=200",
        Some(&admin),
        serde_json::Value::Null,
    );
    assert!(!audit.to_string().contains("central-pw-1"));
    assert!(!registry.to_string().contains("central-pw-1"));
    drop(console);
}
