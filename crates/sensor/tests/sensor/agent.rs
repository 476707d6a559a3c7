//! The agent's protocol handling against a scripted server: enrollment and
//! the credential file, snapshot then delta, resync, Retry-After, 401, and
//! jobs (heartbeats, results, gzip, finish, a 409 that stops a job).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rampart_model::Severity;
use rampart_model::agent::{Job, ResultFinding, ScanResults};
use rampart_sensor::agent::{AgentConfig, CREDENTIAL_FILE, load_credential};
use rampart_sensor::client::ConsoleClient;
use rampart_sensor::jobs::{JobEnd, run_job};
use rampart_sensor::{CollectorConfig, JobExecutor, SensorError, Stop};
use serde_json::json;

use crate::http::{Response, Server};

fn enrolled() -> Response {
    Response::json(
        201,
        json!({"agent": {"id": 7, "hostname": "h", "prefix": "rma_abc", "enrollment_token_id": 1,
        "created_at": "2026-11-28T00:00:00Z", "last_seen_at": null, "revoked_at": null}, "credential": "rma_secret"}),
    )
}

fn config(url: &str, state: PathBuf, token: Option<&str>) -> AgentConfig {
    // The fixture-free collector: this host, without cloud probe or runtimes.
    let mut collector = CollectorConfig::live();
    collector.cloud_metadata_url = None;
    collector.runtime_sockets.clear();
    collector.cri_sockets.clear();
    collector.containerd_sockets.clear();
    AgentConfig {
        console_url: url.to_string(),
        enroll_token: token.map(str::to_string),
        state_dir: state,
        interval: Duration::from_millis(100),
        ca_cert: None,
        max_jobs: 0,
        job_poll: Duration::from_millis(100),
        collector,
    }
}

#[derive(Debug)]
struct Nothing;
impl JobExecutor for Nothing {
    fn run(&self, _: &Job, _: &str, _: &Stop) -> Result<ScanResults, String> {
        Err("not used".into())
    }
}

#[test]
fn enrollment_then_snapshot_delta_resync_backoff_and_revocation() {
    if !std::path::Path::new("/proc/stat").exists() {
        eprintln!("SKIPPED: no /proc");
        return;
    }
    let srv = Server::start(|req, _| match req.path.as_str() {
        "/api/v1/agents/enroll" => {
            assert_eq!(req.json()["enrollment_token"], "rme_tok");
            assert_eq!(req.header("Authorization"), None);
            enrolled()
        }
        _ => Response::empty(404),
    });
    // A second server plays the report script (the first served enrollment).
    let step = Arc::new(AtomicUsize::new(0));
    let s2 = Arc::clone(&step);
    let reports = Server::start(move |req, _| {
        assert_eq!(req.path, "/api/v1/agent/report");
        assert_eq!(req.header("Authorization"), Some("Bearer rma_secret"));
        let r = req.json();
        match s2.fetch_add(1, Ordering::SeqCst) {
            0 => {
                assert_eq!(r["base"], serde_json::Value::Null);
                assert_eq!(r["seq"], 1);
                assert!(r["host"].is_object());
                assert!(r["upsert"].as_array().unwrap().len() > 1);
                Response::json(200, json!({"acked": 1, "interval_secs": 0}))
            }
            1 => {
                assert_eq!(r["base"], 1, "a delta against the acknowledged report");
                Response::json(
                    409,
                    json!({"error": {"code": "resync", "message": "unknown base"}}),
                )
            }
            2 => {
                assert_eq!(
                    r["base"],
                    serde_json::Value::Null,
                    "a snapshot after the resync"
                );
                Response::empty(429).with_header("Retry-After", "1")
            }
            3 => Response::json(200, json!({"acked": 4, "interval_secs": 0})),
            _ => Response::json(
                401,
                json!({"error": {"code": "unauthenticated", "message": "revoked"}}),
            ),
        }
    });
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("sensor");
    // Enroll against the first server, then point the stored credential at the second.
    let cfg = config(&srv.url, dir.clone(), Some("rme_tok"));
    let (_, cred) = rampart_sensor::agent::connect(&cfg, "h").unwrap();
    assert_eq!((cred.agent_id, cred.credential.as_str()), (7, "rma_secret"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(CREDENTIAL_FILE)), 0o600);
    // A later run needs no token.
    let again = config(&srv.url, dir.clone(), None);
    rampart_sensor::agent::connect(&again, "h").unwrap();
    assert_eq!(
        srv.paths()
            .iter()
            .filter(|p| p.ends_with("/enroll"))
            .count(),
        1
    );
    // A credential for another console is refused.
    let other = config(&reports.url, dir.clone(), None);
    let err = rampart_sensor::agent::connect(&other, "h").unwrap_err();
    assert!(err.to_string().contains("holds a credential for"), "{err}");

    let mut c = load_credential(&dir).unwrap().unwrap();
    c.console_url = reports.url.clone();
    rampart_sensor::agent::store_credential(&dir, &c).unwrap();
    let cfg = config(&reports.url, dir, None);
    let started = Instant::now();
    let err = rampart_sensor::run(&cfg, Arc::new(Nothing), &Stop::new()).unwrap_err();
    assert!(matches!(err, SensorError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("enroll again"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let r = reports.requests();
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[3].json()["base"],
        serde_json::Value::Null,
        "still a snapshot: nothing acknowledged since the resync"
    );
    assert_eq!(r[4].json()["base"], 4);
}

#[test]
fn not_enrolled_without_a_token_is_a_clear_error() {
    let state = tempfile::tempdir().unwrap();
    let cfg = config("https://127.0.0.1:1", state.path().join("s"), None);
    let err = rampart_sensor::agent::connect(&cfg, "h").unwrap_err();
    assert!(err.to_string().contains("give --enroll-token"), "{err}");
    let cfg = config("http://example.com", state.path().join("s"), Some("t"));
    assert!(matches!(
        rampart_sensor::agent::connect(&cfg, "h"),
        Err(SensorError::Config(_))
    ));
}

#[test]
fn refused_enrollment_says_why() {
    let srv = Server::start(|_, _| {
        Response::json(
            401,
            json!({"error": {"code": "invalid_credentials", "message": "unknown or used enrollment token"}}),
        )
    });
    let state = tempfile::tempdir().unwrap();
    let cfg = config(&srv.url, state.path().join("s"), Some("rme_bad"));
    let err = rampart_sensor::agent::connect(&cfg, "h").unwrap_err();
    assert!(
        matches!(err, SensorError::Enrollment { status: 401, .. }),
        "{err}"
    );
    assert!(!state.path().join("s").join(CREDENTIAL_FILE).exists());
}

/// Returns `n` findings per target, waiting `delay` first (cancellable).
#[derive(Debug)]
struct Fake {
    findings: usize,
    delay: Duration,
    cancelled: Arc<AtomicUsize>,
}

impl JobExecutor for Fake {
    fn run(&self, job: &Job, target: &str, cancel: &Stop) -> Result<ScanResults, String> {
        if cancel.wait(self.delay) {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
            return Err("cancelled".into());
        }
        Ok(ScanResults {
            target: target.to_string(),
            scanners: job.scanners.clone(),
            findings: (0..self.findings)
                .map(|i| ResultFinding {
                    kind: "secret".into(),
                    rule_id: "RMP-SECRET-X".into(),
                    fingerprint: format!("fp-{i:08}-{}", "x".repeat(64)),
                    severity: Severity::High,
                    title: "t".into(),
                    evidence: Some(json!({"path": format!("/srv/{i}"), "line": i})),
                })
                .collect(),
            skipped: vec![],
        })
    }
}

fn job(targets: &[&str], timeout: i64) -> Job {
    Job {
        scan_id: 42,
        targets: targets.iter().map(|t| (*t).to_string()).collect(),
        scanners: vec!["secret".into()],
        timeout_secs: timeout,
        heartbeat_secs: 1,
    }
}

fn client(url: &str) -> ConsoleClient {
    let mut c = ConsoleClient::new(url, None, PathBuf::from("/tmp/x")).unwrap();
    c.set_credential("rma_secret".into());
    c
}

#[test]
fn a_job_uploads_per_target_gzips_large_bodies_and_finishes() {
    let srv = Server::start(|_, _| Response::empty(204));
    let exec = Fake {
        findings: 6000,
        delay: Duration::from_millis(1200),
        cancelled: Arc::default(),
    };
    let end = run_job(
        &client(&srv.url),
        &exec,
        &job(&["host", "dir:/srv"], 60),
        &Stop::new(),
    )
    .unwrap();
    assert_eq!(
        end,
        JobEnd::Finished(rampart_model::agent::JobOutcome {
            succeeded: true,
            reason: None
        })
    );
    let r = srv.requests();
    let results: Vec<_> = r
        .iter()
        .filter(|q| q.path == "/api/v1/agent/scans/42/results")
        .collect();
    assert_eq!(results.len(), 2);
    assert!(
        results[0].body.len() > 1 << 20 && results[0].gzipped,
        "bodies over 1 MiB are gzipped"
    );
    let up: ScanResults = serde_json::from_slice(&results[1].body).unwrap();
    assert_eq!((up.target.as_str(), up.findings.len()), ("dir:/srv", 6000));
    assert!(
        r.iter()
            .any(|q| q.path == "/api/v1/agent/scans/42/heartbeat"),
        "heartbeats while scanning"
    );
    assert_eq!(r.last().unwrap().path, "/api/v1/agent/scans/42/finish");
    assert_eq!(
        r.last().unwrap().json(),
        json!({"succeeded": true, "reason": null})
    );
}

#[test]
fn a_409_heartbeat_cancels_the_job_and_nothing_more_is_sent() {
    let srv = Server::start(|req, _| {
        if req.path.ends_with("/heartbeat") {
            Response::json(
                409,
                json!({"error": {"code": "conflict", "message": "cancelled"}}),
            )
        } else {
            Response::empty(204)
        }
    });
    let cancelled = Arc::new(AtomicUsize::new(0));
    let exec = Fake {
        findings: 1,
        delay: Duration::from_secs(30),
        cancelled: Arc::clone(&cancelled),
    };
    let started = Instant::now();
    let end = run_job(
        &client(&srv.url),
        &exec,
        &job(&["host", "dir:/x"], 600),
        &Stop::new(),
    )
    .unwrap();
    assert_eq!(end, JobEnd::StoppedByConsole);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
    assert!(
        srv.paths().iter().all(|p| p.ends_with("/heartbeat")),
        "{:?}",
        srv.paths()
    );
}

#[test]
fn a_job_past_its_timeout_fails_with_the_reason() {
    let srv = Server::start(|_, _| Response::empty(204));
    let exec = Fake {
        findings: 1,
        delay: Duration::from_secs(30),
        cancelled: Arc::default(),
    };
    let end = run_job(&client(&srv.url), &exec, &job(&["host"], 1), &Stop::new()).unwrap();
    let JobEnd::Finished(o) = end else { panic!() };
    assert!(!o.succeeded);
    assert_eq!(o.reason.as_deref(), Some("timed out after 1 s"));
}

#[test]
fn the_agent_claims_and_runs_jobs_at_most_max_at_once() {
    if !std::path::Path::new("/proc/stat").exists() {
        eprintln!("SKIPPED: no /proc");
        return;
    }
    let claimed = Arc::new(AtomicUsize::new(0));
    let c2 = Arc::clone(&claimed);
    let srv = Server::start(move |req, _| match req.path.as_str() {
        "/api/v1/agent/scans/claim" => {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            if n < 3 {
                Response::json(
                    200,
                    json!({"scan_id": 100 + n, "targets": ["host"], "scanners": ["secret"], "timeout_secs": 60, "heartbeat_secs": 1}),
                )
            } else {
                Response::empty(204)
            }
        }
        "/api/v1/agent/report" => Response::json(200, json!({"acked": 0, "interval_secs": 0})),
        _ => Response::empty(204),
    });
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    rampart_sensor::agent::store_credential(
        &dir,
        &rampart_sensor::agent::Credential {
            console_url: srv.url.clone(),
            agent_id: 1,
            credential: "rma_secret".into(),
        },
    )
    .unwrap();
    let mut cfg = config(&srv.url, dir, None);
    cfg.max_jobs = 2;
    let stop = Stop::new();
    let exec = Arc::new(Fake {
        findings: 1,
        delay: Duration::from_millis(800),
        cancelled: Arc::default(),
    });
    let (s2, cfg2) = (stop.clone(), cfg);
    let h = std::thread::spawn(move || rampart_sensor::run(&cfg2, exec, &s2));
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv
        .paths()
        .iter()
        .filter(|p| p.ends_with("/finish"))
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "{:?}", srv.paths());
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.stop();
    h.join().unwrap().unwrap();
    // Never more than two running: the third claim comes after a finish.
    let paths = srv.paths();
    let third_claim = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ends_with("/claim"))
        .nth(2)
        .unwrap()
        .0;
    let first_finish = paths.iter().position(|p| p.ends_with("/finish")).unwrap();
    assert!(third_claim > first_finish, "{paths:?}");
}

#[test]
fn a_shutdown_kills_the_scan_and_finishes_the_job_as_failed() {
    let srv = Server::start(|_, _| Response::empty(204));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let exec = Fake {
        findings: 1,
        delay: Duration::from_secs(30),
        cancelled: Arc::clone(&cancelled),
    };
    let shutdown = Stop::new();
    let s2 = shutdown.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        s2.stop();
    });
    let end = run_job(
        &client(&srv.url),
        &exec,
        &job(&["host", "dir:/x"], 600),
        &shutdown,
    )
    .unwrap();
    assert_eq!(
        end,
        JobEnd::Finished(rampart_model::agent::JobOutcome {
            succeeded: false,
            reason: Some("the sensor stopped".into())
        })
    );
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        1,
        "only the running target started"
    );
    assert_eq!(srv.paths().last().unwrap(), "/api/v1/agent/scans/42/finish");
}
