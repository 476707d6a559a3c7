//! Scan jobs: the executor trait and the runner that heartbeats, uploads
//! results per target and finishes the job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rampart_model::agent::{Job, JobOutcome, ScanResults};

use crate::client::ConsoleClient;
use crate::error::{Result, SensorError};
use crate::stop::Stop;

/// Runs one target of a job. The `rampart` binary implements it by running
/// `rampart scan` as a child process.
pub trait JobExecutor: Send + Sync + std::fmt::Debug {
    /// Scans `target` with the job's scanners. Must return soon after
    /// `cancel` is stopped (the console said stop, the job's time is up or
    /// the sensor is shutting down), with an error.
    ///
    /// # Errors
    /// Why the target could not be scanned, in one line.
    fn run(
        &self,
        job: &Job,
        target: &str,
        cancel: &Stop,
    ) -> std::result::Result<ScanResults, String>;
}

/// How a job ended, as the runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// Finished and reported to the console with this outcome.
    Finished(JobOutcome),
    /// The console said stop (409 on a heartbeat): nothing more is sent.
    StoppedByConsole,
}

/// Runs a job to its end: heartbeats every `heartbeat_secs` (a `409` stops
/// it), enforces `timeout_secs`, uploads one [`ScanResults`] per target and
/// sends the outcome.
///
/// # Errors
/// The credential was refused, or the results or outcome could not be sent.
pub fn run_job(
    client: &ConsoleClient,
    exec: &dyn JobExecutor,
    job: &Job,
    shutdown: &Stop,
) -> Result<JobEnd> {
    let cancel = Stop::new();
    let stopped_by_console = Arc::new(AtomicBool::new(false));
    let timed_out = Arc::new(AtomicBool::new(false));
    let unauthorized = Arc::new(AtomicBool::new(false));
    let hb_every = Duration::from_secs(job.heartbeat_secs.max(1));
    let timeout = Duration::from_secs(u64::try_from(job.timeout_secs).unwrap_or(0).max(1));
    let started = Instant::now();
    let heartbeat = {
        let (cancel, shutdown, client) = (cancel.clone(), shutdown.clone(), client.clone());
        let (by_console, timed_out, unauthorized) = (
            Arc::clone(&stopped_by_console),
            Arc::clone(&timed_out),
            Arc::clone(&unauthorized),
        );
        let scan_id = job.scan_id;
        std::thread::Builder::new()
            .name(format!("heartbeat-{scan_id}"))
            .spawn(move || {
                let mut last = Instant::now();
                while !cancel.wait(Duration::from_millis(250)) {
                    if shutdown.is_stopped() {
                        cancel.stop();
                        break;
                    }
                    if started.elapsed() >= timeout {
                        timed_out.store(true, Ordering::SeqCst);
                        cancel.stop();
                        break;
                    }
                    if last.elapsed() < hb_every {
                        continue;
                    }
                    last = Instant::now();
                    match client.heartbeat(scan_id) {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::info!(scan_id, "the console stopped the job");
                            by_console.store(true, Ordering::SeqCst);
                            cancel.stop();
                            break;
                        }
                        Err(SensorError::Unauthorized { .. }) => {
                            unauthorized.store(true, Ordering::SeqCst);
                            cancel.stop();
                            break;
                        }
                        Err(e) => tracing::warn!(scan_id, "heartbeat: {e}"),
                    }
                }
            })
            .map_err(|e| SensorError::Console(format!("cannot start a heartbeat thread: {e}")))?
    };

    let mut failures = Vec::new();
    let mut upload_error = None;
    let mut uploaded = 0usize;
    for target in &job.targets {
        if cancel.is_stopped() {
            break;
        }
        match exec.run(job, target, &cancel) {
            Ok(results) => {
                if let Err(e) = client.results(job.scan_id, &results) {
                    upload_error = Some(e);
                    break;
                }
                uploaded += 1;
            }
            Err(e) => failures.push(format!("{target}: {e}")),
        }
    }
    let interrupted = cancel.is_stopped() && uploaded + failures.len() < job.targets.len()
        || cancel.is_stopped() && !failures.is_empty();
    cancel.stop();
    let _ = heartbeat.join();
    if unauthorized.load(Ordering::SeqCst) {
        return Err(SensorError::Unauthorized {
            state: std::path::PathBuf::new(),
        });
    }
    if stopped_by_console.load(Ordering::SeqCst) {
        return Ok(JobEnd::StoppedByConsole);
    }
    let reason = if let Some(e) = &upload_error {
        Some(format!("uploading results: {e}"))
    } else if timed_out.load(Ordering::SeqCst) {
        Some(format!("timed out after {} s", timeout.as_secs()))
    } else if shutdown.is_stopped() && interrupted {
        Some("the sensor stopped".to_string())
    } else if failures.is_empty() {
        None
    } else {
        Some(failures.join("; "))
    };
    let outcome = JobOutcome {
        succeeded: reason.is_none(),
        reason,
    };
    client.finish(job.scan_id, &outcome)?;
    if let Some(e) = upload_error {
        return Err(e);
    }
    Ok(JobEnd::Finished(outcome))
}
