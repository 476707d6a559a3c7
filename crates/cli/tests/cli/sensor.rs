//! `rampart sensor` against a real `rampart console` on loopback:
//! enrollment with a token, the credential kept in the state directory,
//! a restart without the token, SIGTERM, and a revoked credential; and the
//! `sensor-job-exec` trampoline's priority and memory cap.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::console::{api, client, start};
use crate::{rampart, stderr};

#[test]
fn job_exec_lowers_priority_and_caps_memory() {
    let o = rampart()
        .args([
            "sensor-job-exec",
            "--nice",
            "7",
            "--memory-limit",
            "1073741824",
            "--",
            "sh",
            "-c",
        ])
        .arg("cut -d' ' -f19 /proc/self/stat; ulimit -v")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["7", "1048576"],
        "niceness, then the address-space limit in KiB"
    );
    let o = rampart()
        .args([
            "sensor-job-exec",
            "--memory-limit",
            "1073741824",
            "--",
            "/nonexistent/x",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/x"), "{}", stderr(&o));
}

struct Sensor {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Sensor {
    fn start(args: &[&str]) -> Sensor {
        let mut child = rampart()
            .arg("sensor")
            .args(args)
            .env("RAMPART_LOG", "info")
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
        Sensor {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("no {needle:?} on the sensor's stderr; saw {:?}", self.seen)
                });
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return s.code();
            }
            assert!(
                Instant::now() < deadline,
                "the sensor did not exit; saw {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sensor_enrolls_with_a_real_console_restarts_without_a_token_and_stops_when_revoked() {
    if !Path::new("/proc/stat").exists() {
        eprintln!("SKIPPED: no /proc");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut console = start(
        &["--listen", "127.0.0.1:0"],
        &[
            ("RAMPART_CONSOLE_DATA_DIR", data.to_str().unwrap()),
            ("RAMPART_ADMIN_PASSWORD", "cli-test-admin-password"),
        ],
    );
    let line = console.wait_for("console listening on https://");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    let cert = data.join("tls/cert.pem");
    let http = client(&std::fs::read(&cert).unwrap());
    let (s, login) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/auth/login"),
        None,
        Some(json!({"username": "admin", "password": "cli-test-admin-password"})),
    );
    assert_eq!(s, 200);
    let admin = login["token"].as_str().unwrap().to_string();
    let (s, tok) = api(
        &http,
        "POST",
        &format!("{url}/api/v1/agents/enrollment-tokens"),
        Some(&admin),
        Some(json!({"name": "test"})),
    );
    assert_eq!(s, 201, "{tok}");
    let enroll = tok["token"].as_str().unwrap().to_string();

    let state = tmp.path().join("state");
    let (state_s, cert_s) = (
        state.to_str().unwrap().to_string(),
        cert.to_str().unwrap().to_string(),
    );
    let common = [
        "--console",
        url.as_str(),
        "--state-dir",
        state_s.as_str(),
        "--ca-cert",
        cert_s.as_str(),
        "--interval",
        "1",
        "--no-cloud-metadata",
    ];

    // Without the CA the console's self-signed certificate is refused.
    let mut no_ca = Sensor::start(&[
        "--console",
        &url,
        "--state-dir",
        tmp.path().join("other").to_str().unwrap(),
        "--enroll-token",
        "rme_x",
        "--no-cloud-metadata",
    ]);
    assert_eq!(no_ca.wait_exit(Duration::from_secs(30)), Some(2));
    assert!(
        no_ca
            .seen
            .iter()
            .any(|l| l.contains("certificate") || l.contains("Certificate")),
        "{:?}",
        no_ca.seen
    );

    // First run: enrolls, keeps the credential (0600 in a 0700 directory).
    let mut args = common.to_vec();
    args.extend(["--enroll-token", enroll.as_str(), "--max-jobs", "1"]);
    let mut sensor = Sensor::start(&args);
    sensor.wait_for("enrolled");
    sensor.wait_for("sensor started");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("agent.json")), 0o600);
    let (s, agents) = api(
        &http,
        "GET",
        &format!("{url}/api/v1/agents"),
        Some(&admin),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(agents["total"], 1, "{agents}");
    let agent_id = agents["items"][0]["id"].as_i64().unwrap();
    // SIGTERM: a clean stop.
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &sensor.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        sensor.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{:?}",
        sensor.seen
    );

    // Second run: no token needed, no second agent.
    let mut args = common.to_vec();
    args.extend(["--max-jobs", "1"]);
    let mut sensor = Sensor::start(&args);
    sensor.wait_for("sensor started");
    assert!(!sensor.seen.iter().any(|l| l.contains("enrolled")));
    let (_, agents) = api(
        &http,
        "GET",
        &format!("{url}/api/v1/agents"),
        Some(&admin),
        None,
    );
    assert_eq!(agents["total"], 1);

    // Revoked: the next call with the credential gets 401 and the sensor exits with a clear error.
    let (s, _) = api(
        &http,
        "DELETE",
        &format!("{url}/api/v1/agents/{agent_id}"),
        Some(&admin),
        None,
    );
    assert!(s == 200 || s == 204, "{s}");
    assert_eq!(sensor.wait_exit(Duration::from_secs(60)), Some(2));
    assert!(
        sensor.seen.iter().any(|l| l.contains("enroll again")),
        "{:?}",
        sensor.seen
    );
}
