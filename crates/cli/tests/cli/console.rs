//! `rampart console` as a process: starts on an ephemeral port, answers over
//! HTTPS with its generated certificate, stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::{rampart, run, stderr};

pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    /// Waits for a stderr line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {needle:?} on stderr; saw {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let mut cmd = rampart();
    cmd.arg("console").args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

/// One JSON API call: `(status, body)`, the body `null` when it is not JSON.
pub fn api(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut resp = agent
        .run(req)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn client(cert_pem: &[u8]) -> ureq::Agent {
    let cert = ureq::tls::Certificate::from_pem(cert_pem).unwrap();
    ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
                .build(),
        )
        .http_status_as_error(false)
        .build()
        .new_agent()
}

#[test]
fn console_serves_https_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap();
    let mut c = start(
        &["--listen", "127.0.0.1:0"],
        &[
            ("RAMPART_CONSOLE_DATA_DIR", data_s),
            ("RAMPART_ADMIN_PASSWORD", "cli-test-admin-password"),
        ],
    );
    c.wait_for("created user \"admin\" with the password in RAMPART_ADMIN_PASSWORD");
    let line = c.wait_for("console listening on https://");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    assert!(line.ends_with("(sqlite database)"), "{line}");
    let cert = std::fs::read(data.join("tls/cert.pem")).unwrap();
    let agent = client(&cert);
    let health = agent
        .get(&format!("{url}/healthz"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    let login = agent
        .post(&format!("{url}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .send(
            serde_json::json!({"username": "admin", "password": "cli-test-admin-password"})
                .to_string(),
        )
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(data.join("console.db").is_file());
    // SIGTERM: a clean stop with exit code 0.
    let pid = c.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    c.wait_for("SIGTERM: stopping");
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn console_generates_and_shows_the_admin_password_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap();
    let args = ["--listen", "127.0.0.1:0", "--data-dir", data_s];
    let mut c = start(&args, &[]);
    let line = c.wait_for("generated password");
    let password = line.rsplit(' ').next().unwrap().to_string();
    assert!(password.len() >= 20, "{line}");
    c.wait_for("console listening");
    drop(c);
    // Second start: the admin exists, nothing is shown.
    let mut c = start(&args, &[]);
    c.wait_for("console listening");
    assert!(
        !c.seen.iter().any(|l| l.contains("password")),
        "{:?}",
        c.seen
    );
    assert!(
        c.seen.iter().any(|l| l.contains("(reused)")),
        "{:?}",
        c.seen
    );
}

#[test]
fn console_configuration_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "[console]\nlockout_threshold = 0\n").unwrap();
    let data = tmp.path().join("d");
    let o = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "console",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("lockout threshold"), "{}", stderr(&o));
    std::fs::write(&cfg, "[console]\nlisten = \"not an address\"\n").unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "console"]);
    assert_eq!(o.status.code(), Some(2));
    // Half a certificate pair is refused by the flags.
    let o = run(&["console", "--tls-cert", "/x.pem"]);
    assert_eq!(o.status.code(), Some(2));
    // A database URL that is not PostgreSQL is refused, without echoing a password.
    let o = rampart()
        .args(["console", "--data-dir", data.to_str().unwrap()])
        .env("RAMPART_DATABASE_URL", "mysql://u:hunter2@h/db")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("postgres://") && !err.contains("hunter2"),
        "{err}"
    );
}
