//! The agent loop: enrollment, reports (snapshot, then deltas against the
//! last acknowledged state) and the job poller.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_model::agent::{PROTOCOL_VERSION, Report};
use serde::{Deserialize, Serialize};

use crate::MODE;
use crate::client::{ConsoleClient, ReportOutcome};
use crate::collect::{Collector, CollectorConfig};
use crate::delta::{Delta, State, diff, snapshot};
use crate::error::{Result, SensorError};
use crate::jobs::{JobExecutor, run_job};
use crate::stop::Stop;

/// The file in the state directory that holds the credential.
pub const CREDENTIAL_FILE: &str = "agent.json";

/// How the sensor runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub console_url: String,
    /// Needed only on the first run (no credential in the state directory yet).
    pub enroll_token: Option<String>,
    pub state_dir: PathBuf,
    /// The shortest time between reports (the console may ask for longer).
    pub interval: Duration,
    pub ca_cert: Option<PathBuf>,
    /// Scan jobs run at once; 0 runs none (and claims none).
    pub max_jobs: usize,
    /// How often to ask for a job while fewer than `max_jobs` run.
    pub job_poll: Duration,
    pub collector: CollectorConfig,
}

/// What the state directory keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub console_url: String,
    pub agent_id: i64,
    pub credential: String,
}

/// Creates the state directory (mode 0700).
///
/// # Errors
/// It cannot be created or its mode set.
pub fn prepare_state_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| SensorError::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| SensorError::io(dir, e))
}

/// Reads the stored credential, if any.
///
/// # Errors
/// The file exists but is unreadable or not a credential.
pub fn load_credential(dir: &Path) -> Result<Option<Credential>> {
    let p = dir.join(CREDENTIAL_FILE);
    match std::fs::read_to_string(&p) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| SensorError::parse(&p, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SensorError::io(p, e)),
    }
}

/// Writes the credential (mode 0600, replaced atomically).
///
/// # Errors
/// The file cannot be written.
pub fn store_credential(dir: &Path, c: &Credential) -> Result<()> {
    let p = dir.join(CREDENTIAL_FILE);
    let tmp = dir.join(format!("{CREDENTIAL_FILE}.tmp"));
    let body = serde_json::to_vec_pretty(c).map_err(|e| SensorError::parse(&p, e.to_string()))?;
    let _ = std::fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| SensorError::io(&tmp, e))?;
    f.write_all(&body)
        .and_then(|()| f.sync_all())
        .map_err(|e| SensorError::io(&tmp, e))?;
    std::fs::rename(&tmp, &p).map_err(|e| SensorError::io(&p, e))
}

/// Loads the credential or enrolls with the token, and returns a client
/// that uses it.
///
/// # Errors
/// Not enrolled and no token, enrollment refused, state directory unusable,
/// or a credential for another console.
pub fn connect(cfg: &AgentConfig, hostname: &str) -> Result<(ConsoleClient, Credential)> {
    prepare_state_dir(&cfg.state_dir)?;
    let file = cfg.state_dir.join(CREDENTIAL_FILE);
    let mut client = ConsoleClient::new(&cfg.console_url, cfg.ca_cert.as_deref(), file.clone())?;
    let cred = match load_credential(&cfg.state_dir)? {
        Some(c) => {
            if c.console_url.trim_end_matches('/') != cfg.console_url.trim_end_matches('/') {
                return Err(SensorError::Config(format!(
                    "{} holds a credential for {}, not {}; use another --state-dir or remove it",
                    file.display(),
                    c.console_url,
                    cfg.console_url
                )));
            }
            c
        }
        None => {
            let token = cfg.enroll_token.as_deref().ok_or_else(|| {
                SensorError::Config(format!(
                    "not enrolled yet ({} does not exist): give --enroll-token",
                    file.display()
                ))
            })?;
            let enrolled = client.enroll(token, hostname)?;
            let c = Credential {
                console_url: cfg.console_url.clone(),
                agent_id: enrolled.agent.id,
                credential: enrolled.credential,
            };
            store_credential(&cfg.state_dir, &c)?;
            tracing::info!(agent_id = c.agent_id, "enrolled");
            c
        }
    };
    client.set_credential(cred.credential.clone());
    Ok((client, cred))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Builds report after report: a snapshot first and after a resync, then
/// deltas against the last acknowledged state.
#[derive(Debug, Default)]
pub struct Reporter {
    seq: u64,
    acked: Option<(u64, State)>,
}

impl Reporter {
    /// The next report for `state`, and the state to remember if it is acknowledged.
    pub fn next(&mut self, state: &State) -> Report {
        self.seq += 1;
        let (base, delta) = match &self.acked {
            Some((seq, base)) => (Some(*seq), diff(base, state)),
            None => (None, snapshot(state)),
        };
        let Delta {
            host,
            upsert,
            remove,
        } = delta;
        Report {
            protocol: PROTOCOL_VERSION,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            seq: self.seq,
            base,
            collected_at: now_unix(),
            mode: MODE.to_string(),
            host,
            upsert,
            remove,
            runtime: None,
        }
    }

    /// The console acknowledged `acked`; `state` is what report `seq` described.
    pub fn acknowledged(&mut self, acked: u64, seq: u64, state: State) {
        if acked == seq {
            self.acked = Some((seq, state));
        }
    }

    /// The console lost the base: the next report is a snapshot.
    pub fn resync(&mut self) {
        self.acked = None;
    }

    /// The last acknowledged sequence number.
    #[must_use]
    pub fn acked_seq(&self) -> Option<u64> {
        self.acked.as_ref().map(|(s, _)| *s)
    }
}

/// Runs the sensor until `stop` is stopped.
///
/// # Errors
/// Enrollment fails, the credential is refused (401) or the host cannot be read at all.
pub fn run(cfg: &AgentConfig, executor: Arc<dyn JobExecutor>, stop: &Stop) -> Result<()> {
    let mut collector = Collector::new(cfg.collector.clone());
    let hostname = collector.host()?.hostname;
    let (client, cred) = connect(cfg, &hostname)?;
    tracing::info!(agent_id = cred.agent_id, console = %cfg.console_url, mode = MODE, "sensor started");

    let jobs_stop = Stop::new();
    let poller = if cfg.max_jobs > 0 {
        let (client, stop2, exec) = (client.clone(), jobs_stop.clone(), Arc::clone(&executor));
        let (max, poll) = (cfg.max_jobs, cfg.job_poll);
        Some(
            std::thread::Builder::new()
                .name("jobs".into())
                .spawn(move || {
                    let fatal = poll_jobs(&client, &exec, max, poll, &stop2);
                    // A refused credential ends the whole sensor.
                    stop2.stop();
                    fatal
                })
                .map_err(|e| SensorError::Config(format!("cannot start the job thread: {e}")))?,
        )
    } else {
        None
    };
    let result = report_loop(cfg, &client, &mut collector, stop, &jobs_stop);
    jobs_stop.stop();
    let fatal = poller.and_then(|p| p.join().ok().flatten());
    match (result, fatal) {
        (Err(e), _) | (Ok(()), Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
    }
}

fn report_loop(
    cfg: &AgentConfig,
    client: &ConsoleClient,
    collector: &mut Collector,
    stop: &Stop,
    jobs_stop: &Stop,
) -> Result<()> {
    let mut reporter = Reporter::default();
    let mut runtime = crate::runtime::RuntimeCollector::new(crate::runtime::RuntimeConfig {
        root: cfg.collector.root.clone(),
        ..crate::runtime::RuntimeConfig::live()
    });
    let mut runtime_reporter = crate::runtime::RuntimeReporter::default();
    let mut interval = cfg.interval;
    let mut resynced = false;
    while !stop.is_stopped() && !jobs_stop.is_stopped() {
        let state = match collector.collect() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("collection failed: {e}");
                if stop.wait(interval) {
                    break;
                }
                continue;
            }
        };
        let mut report = reporter.next(&state);
        runtime_reporter.attach(&mut report, runtime.collect(&state));
        let seq = report.seq;
        let wait = match client.report(&report) {
            Ok(ReportOutcome::Acked(ack)) => {
                tracing::debug!(
                    seq,
                    upserts = report.upsert.len(),
                    removes = report.remove.len(),
                    "report acknowledged"
                );
                reporter.acknowledged(ack.acked, seq, state);
                runtime_reporter.acknowledged(ack.acked);
                interval = cfg.interval.max(Duration::from_secs(ack.interval_secs));
                resynced = false;
                interval
            }
            Ok(ReportOutcome::Resync) => {
                tracing::info!(seq, "the console asked for a full snapshot");
                reporter.resync();
                runtime_reporter.resync();
                // Send the snapshot at once, but not twice in a row.
                let w = if resynced { interval } else { Duration::ZERO };
                resynced = true;
                w
            }
            Ok(ReportOutcome::Backoff(d)) => {
                tracing::info!(seq, "the console is busy; next report in {} s", d.as_secs());
                d.max(interval)
            }
            Err(e @ SensorError::Unauthorized { .. }) => return Err(e),
            Err(e) => {
                tracing::warn!(seq, "report: {e}");
                interval
            }
        };
        if stop.wait(wait) {
            break;
        }
    }
    Ok(())
}

/// Claims and runs jobs until `stop`; returns the error that ends the
/// sensor (a refused credential), if any.
fn poll_jobs(
    client: &ConsoleClient,
    exec: &Arc<dyn JobExecutor>,
    max: usize,
    poll: Duration,
    stop: &Stop,
) -> Option<SensorError> {
    let running = Arc::new(AtomicUsize::new(0));
    let mut fatal = None;
    let mut handles: Vec<std::thread::JoinHandle<()>> = Vec::new();
    loop {
        handles.retain(|h| !h.is_finished());
        while running.load(Ordering::SeqCst) < max && !stop.is_stopped() {
            match client.claim() {
                Ok(Some(job)) => {
                    tracing::info!(scan_id = job.scan_id, targets = ?job.targets, "job claimed");
                    running.fetch_add(1, Ordering::SeqCst);
                    let (client, exec, stop, counter) = (
                        client.clone(),
                        Arc::clone(exec),
                        stop.clone(),
                        Arc::clone(&running),
                    );
                    let spawned = std::thread::Builder::new()
                        .name(format!("job-{}", job.scan_id))
                        .spawn(move || {
                            match run_job(&client, exec.as_ref(), &job, &stop) {
                                Ok(end) => tracing::info!(scan_id = job.scan_id, ?end, "job ended"),
                                Err(e) => tracing::warn!(scan_id = job.scan_id, "job: {e}"),
                            }
                            counter.fetch_sub(1, Ordering::SeqCst);
                        });
                    match spawned {
                        Ok(h) => handles.push(h),
                        Err(e) => {
                            tracing::warn!("cannot start a job thread: {e}");
                            running.fetch_sub(1, Ordering::SeqCst);
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(e @ SensorError::Unauthorized { .. }) => {
                    fatal = Some(e);
                    stop.stop();
                    break;
                }
                Err(e) => {
                    tracing::warn!("claiming a job: {e}");
                    break;
                }
            }
        }
        if stop.wait(poll) {
            break;
        }
    }
    for h in handles {
        let _ = h.join();
    }
    fatal
}
