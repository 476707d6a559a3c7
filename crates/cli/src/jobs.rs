//! The sensor's scan jobs, run as child processes: `rampart scan TARGET
//! --format json --output FILE` under `rampart sensor-job-exec` (lower
//! priority, address-space cap), and the conversion of its JSON report into
//! the console's scanner-neutral [`ResultFinding`] records.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_model::Severity;
use rampart_model::agent::{Job, ResultFinding, ScanResults};
use rampart_sensor::{JobExecutor, Stop};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Runs each target as a child `rampart scan`.
#[derive(Debug)]
pub struct ChildExecutor {
    /// The `rampart` binary (the running one).
    pub exe: PathBuf,
    /// Where the child's JSON reports are written (removed after reading).
    pub work_dir: PathBuf,
    pub nice: i32,
    pub memory_limit: u64,
}

/// A job target as a `rampart scan` target: `image:REF` is pulled from its
/// registry (`registry:REF`); everything else is passed as is.
#[must_use]
pub fn scan_target(target: &str) -> String {
    match target.strip_prefix("image:") {
        Some(r) => format!("registry:{r}"),
        None => target.to_string(),
    }
}

impl JobExecutor for ChildExecutor {
    fn run(&self, job: &Job, target: &str, cancel: &Stop) -> Result<ScanResults, String> {
        self.run_with_env(job, target, cancel, &[])
    }
}

impl ChildExecutor {
    /// [`JobExecutor::run`] with extra environment variables for the child
    /// (registry credentials: never on its command line, where `ps` shows
    /// them).
    ///
    /// # Errors
    /// The scan could not start, failed, was cancelled, or its report does
    /// not read.
    pub fn run_with_env(
        &self,
        job: &Job,
        target: &str,
        cancel: &Stop,
        env: &[(&str, &str)],
    ) -> Result<ScanResults, String> {
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|e| format!("{}: {e}", self.work_dir.display()))?;
        let safe: String = target
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        let out = self.work_dir.join(format!(
            "scan-{}-{}-{safe}.json",
            job.scan_id,
            std::process::id()
        ));
        let mut cmd = Command::new(&self.exe);
        cmd.arg("sensor-job-exec")
            .arg("--nice")
            .arg(self.nice.to_string())
            .arg("--memory-limit")
            .arg(self.memory_limit.to_string())
            .arg("--")
            .arg(&self.exe)
            .arg("--quiet")
            .arg("scan")
            .arg(scan_target(target))
            .arg("--format")
            .arg("json")
            .arg("--output")
            .arg(&out);
        if !job.scanners.is_empty() {
            cmd.arg("--scanners").arg(job.scanners.join(","));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        // Keep the tail of stderr for the failure reason.
        let tail = Arc::new(Mutex::new(Vec::<u8>::new()));
        let reader = child.stderr.take().map(|mut err| {
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend_from_slice(&buf[..n]);
                        let excess = t.len().saturating_sub(8192);
                        t.drain(..excess);
                    }
                }
            })
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for the scan: {e}")),
            }
            if cancel.wait(Duration::from_millis(100)) {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&out);
                return Err("cancelled".to_string());
            }
        };
        if let Some(r) = reader {
            let _ = r.join();
        }
        let stderr = tail
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        // 0: clean, 1: findings at or above --fail-on (not given here); 2: error.
        if !matches!(status.code(), Some(0 | 1)) {
            let _ = std::fs::remove_file(&out);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            return Err(format!("rampart scan {status}: {last}"));
        }
        let text =
            std::fs::read_to_string(&out).map_err(|e| format!("reading the scan report: {e}"));
        let _ = std::fs::remove_file(&out);
        let report: Value = serde_json::from_str(&text?)
            .map_err(|e| format!("the scan report is not JSON: {e}"))?;
        to_results(target, &report)
    }
}

/// 128 bits of SHA-256 over the parts, hex.
fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..16])
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn num(v: &Value, k: &str) -> String {
    v.get(k).map(|n| n.to_string()).unwrap_or_default()
}

/// One finding of a `rampart scan --format json` report.
///
/// # Errors
/// An unknown scanner or severity.
pub fn convert_finding(f: &Value) -> Result<ResultFinding, String> {
    let scanner = s(f, "scanner");
    let severity: Severity = s(f, "severity")
        .parse()
        .map_err(|_| format!("finding with unknown severity {:?}", s(f, "severity")))?;
    let (kind, rule_id, title, fp) = match scanner {
        "vuln" => {
            let id = s(f, "id");
            // The JSON finding names the package, not a file: the purl stands for where.
            let title = if s(f, "summary").is_empty() {
                id
            } else {
                s(f, "summary")
            };
            (
                "vulnerability",
                id,
                title,
                fingerprint(&[
                    "vuln",
                    id,
                    s(f, "package_name"),
                    s(f, "package_version"),
                    s(f, "purl"),
                ]),
            )
        }
        "secret" => {
            let redacted = hex::encode(Sha256::digest(s(f, "redacted").as_bytes()));
            let line = num(f, "line");
            (
                "secret",
                s(f, "rule_id"),
                s(f, "rule_name"),
                fingerprint(&["secret", s(f, "rule_id"), s(f, "path"), &line, &redacted]),
            )
        }
        "malware" => (
            "malware",
            s(f, "rule_id"),
            s(f, "rule_name"),
            fingerprint(&["malware", s(f, "rule_id"), s(f, "path"), s(f, "sha256")]),
        ),
        "posture" => {
            let ev = f.get("evidence").cloned().unwrap_or(Value::Null);
            let line = num(&ev, "line");
            (
                "posture",
                s(f, "check"),
                s(f, "title"),
                fingerprint(&[
                    "posture",
                    s(f, "check"),
                    s(&ev, "file"),
                    &line,
                    s(&ev, "resource"),
                    s(&ev, "key"),
                ]),
            )
        }
        other => return Err(format!("finding of unknown scanner {other:?}")),
    };
    if rule_id.is_empty() {
        return Err(format!("{scanner} finding without a rule id"));
    }
    Ok(ResultFinding {
        kind: kind.to_string(),
        rule_id: rule_id.to_string(),
        fingerprint: fp,
        severity,
        title: title.to_string(),
        evidence: Some(f.clone()),
    })
}

fn skip_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let path = s(other, "path");
            let reason = other
                .get("reason")
                .or_else(|| other.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if path.is_empty() && reason.is_empty() {
                other.to_string()
            } else {
                format!("{path}: {reason}")
            }
        }
    }
}

/// A whole JSON report as the results of one job target.
///
/// # Errors
/// The report has no findings list, or a finding is unusable.
pub fn to_results(target: &str, report: &Value) -> Result<ScanResults, String> {
    let findings = report
        .get("findings")
        .and_then(Value::as_array)
        .ok_or("the scan report has no findings list")?
        .iter()
        .map(convert_finding)
        .collect::<Result<Vec<_>, _>>()?;
    let scanners = report
        .get("scanners")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| s(v, "status") == "ran")
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut skipped = Vec::new();
    for (section, key) in [
        ("vuln", "skipped"),
        ("secret", "skips"),
        ("malware", "skips"),
    ] {
        if let Some(list) = report
            .get(section)
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
        {
            skipped.extend(list.iter().map(|v| format!("{section}: {}", skip_text(v))));
        }
    }
    Ok(ScanResults {
        target: target.to_string(),
        scanners,
        findings,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;

    use super::*;

    fn golden(name: &str) -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn check(name: &str, kind: &str, scanner: &str) -> ScanResults {
        let report = golden(name);
        let r = to_results("dir:/x", &report).unwrap();
        assert_eq!(r.scanners, [scanner]);
        assert_eq!(
            r.findings.len(),
            report["findings"].as_array().unwrap().len()
        );
        let fps: HashSet<_> = r.findings.iter().map(|f| f.fingerprint.clone()).collect();
        assert_eq!(
            fps.len(),
            r.findings.len(),
            "{name}: fingerprints are unique"
        );
        for (f, raw) in r
            .findings
            .iter()
            .zip(report["findings"].as_array().unwrap())
        {
            assert_eq!(f.kind, kind);
            assert!(!f.rule_id.is_empty() && !f.title.is_empty());
            assert_eq!(f.fingerprint.len(), 32);
            assert_eq!(f.severity.to_string(), raw["severity"].as_str().unwrap());
            assert_eq!(f.evidence.as_ref(), Some(raw));
        }
        // Stable: the same report converts to the same fingerprints.
        assert_eq!(to_results("dir:/x", &report).unwrap().findings, r.findings);
        r
    }

    #[test]
    fn vulnerability_report() {
        let r = check("vuln-rootfs.json", "vulnerability", "vuln");
        assert_eq!(r.findings[0].rule_id, "CVE-2024-0001");
        assert_eq!(
            r.findings[0].title,
            "buffer overflow in the TLS record layer"
        );
    }

    #[test]
    fn secret_report() {
        let r = check("secrets-dir.json", "secret", "secret");
        assert_eq!(r.findings[0].rule_id, "RMP-SECRET-GITHUB-001");
        assert_eq!(
            r.findings[0].title,
            "GitHub personal access token (classic)"
        );
    }

    #[test]
    fn malware_report() {
        let r = check("malware-dir.json", "malware", "malware");
        assert_eq!(r.findings[0].rule_id, "RMP-MAL-WEBSHELL-001");
    }

    #[test]
    fn posture_report() {
        let r = check("posture-dir.json", "posture", "posture");
        assert_eq!(r.findings[0].rule_id, "RMP-K8S-001");
    }

    #[test]
    fn fingerprints_follow_their_parts() {
        let mut f = golden("secrets-dir.json")["findings"][0].clone();
        let a = convert_finding(&f).unwrap().fingerprint;
        f["column"] = 99.into(); // not part of the identity
        assert_eq!(convert_finding(&f).unwrap().fingerprint, a);
        f["line"] = 3.into();
        assert_ne!(convert_finding(&f).unwrap().fingerprint, a);
        let mut v = golden("vuln-rootfs.json")["findings"][0].clone();
        let b = convert_finding(&v).unwrap().fingerprint;
        v["package_version"] = "3.0.16-1~deb12u1".into();
        assert_ne!(convert_finding(&v).unwrap().fingerprint, b);
    }

    #[test]
    fn bad_reports_are_errors_not_panics() {
        assert!(to_results("t", &serde_json::json!({})).is_err());
        assert!(
            to_results(
                "t",
                &serde_json::json!({"findings": [{"scanner": "x", "severity": "high"}]})
            )
            .is_err()
        );
        assert!(to_results("t", &serde_json::json!({"findings": [{"scanner": "vuln", "severity": "bad", "id": "x"}]})).is_err());
        assert!(
            to_results(
                "t",
                &serde_json::json!({"findings": [{"scanner": "vuln", "severity": "high"}]})
            )
            .is_err()
        );
        assert_eq!(scan_target("image:nginx:1.27"), "registry:nginx:1.27");
        assert_eq!(scan_target("host"), "host");
    }

    /// The `rampart` binary beside this test binary (cargo builds it for
    /// the crate's integration tests).
    fn rampart_bin() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let bin = exe.parent()?.parent()?.join("rampart");
        bin.is_file().then_some(bin)
    }

    fn job(targets: Vec<String>) -> Job {
        Job {
            scan_id: 5,
            targets,
            scanners: vec!["secret".into()],
            timeout_secs: 60,
            heartbeat_secs: 5,
        }
    }

    #[test]
    fn a_child_scan_runs_under_the_limits_and_converts() {
        let Some(exe) = rampart_bin() else {
            eprintln!("SKIPPED: the rampart binary is not built beside the tests");
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        std::fs::write(proj.join(".env"), "DB_PASSWORD=\"Xk9#mP2vL8qR4tZw\"\n").unwrap();
        let exec = ChildExecutor {
            exe,
            work_dir: tmp.path().join("work"),
            nice: 10,
            memory_limit: 2 << 30,
        };
        let target = format!("dir:{}", proj.display());
        let r = exec
            .run(&job(vec![target.clone()]), &target, &Stop::new())
            .unwrap();
        assert_eq!(r.target, target);
        assert_eq!(r.scanners, ["secret"]);
        assert_eq!(r.findings.len(), 1, "{r:?}");
        assert_eq!(r.findings[0].rule_id, "RMP-SECRET-GENERIC-001");
        assert_eq!(
            std::fs::read_dir(tmp.path().join("work")).unwrap().count(),
            0,
            "the report file is removed"
        );

        // A scan that cannot start is an error with the scan's own message.
        let err = exec
            .run(
                &job(vec!["dir:/nonexistent-x".into()]),
                "dir:/nonexistent-x",
                &Stop::new(),
            )
            .unwrap_err();
        assert!(
            err.contains("rampart scan") && err.contains("nonexistent-x"),
            "{err}"
        );

        // The memory cap is applied: 16 MiB of address space is not enough to start.
        let tiny = ChildExecutor {
            memory_limit: 16 << 20,
            ..exec
        };
        assert!(
            tiny.run(&job(vec![target.clone()]), &target, &Stop::new())
                .is_err()
        );
    }

    #[test]
    fn a_cancelled_child_is_killed() {
        let Some(exe) = rampart_bin() else {
            eprintln!("SKIPPED: the rampart binary is not built beside the tests");
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let exec = ChildExecutor {
            exe,
            work_dir: tmp.path().join("work"),
            nice: 10,
            memory_limit: 2 << 30,
        };
        let stop = Stop::new();
        let s2 = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            s2.stop();
        });
        // The whole root file system takes far longer than 300 ms.
        let started = std::time::Instant::now();
        let err = exec
            .run(&job(vec!["dir:/".into()]), "dir:/", &stop)
            .unwrap_err();
        assert_eq!(err, "cancelled");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
