//! The central runner: scans the console runs itself (registry images)
//! rather than an agent. It claims only central scans, hands each to the
//! configured [`ScanExecutor`] with the registry's decrypted credentials,
//! sends heartbeats while it runs, records the results on `image` nodes
//! and finishes the scan. Without an executor, central scans stay queued
//! and time out with the reason `no central scanner configured`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rampart_model::agent::{Job, ScanResults};
use rampart_source::registry::Credentials;
use tokio::sync::watch;

use crate::clock;
use crate::crypto::SecretBox;
use crate::registry::RegistryAccess;
use crate::store::Store;
use crate::store::inventory::{FindingReport, NodeReport};
use crate::store::registries::secret_context;

/// Why an executor could not scan.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExecutorError(pub String);

/// Runs one central scan job. The cli provides the real one (it spawns
/// `rampart scan`); `registry` carries the decrypted credentials, to be
/// passed to the scanner without logging them.
#[async_trait]
pub trait ScanExecutor: Send + Sync + std::fmt::Debug {
    /// Scans every target of `job`; one result per target.
    async fn execute(
        &self,
        job: &Job,
        registry: &RegistryAccess,
    ) -> Result<Vec<ScanResults>, ExecutorError>;
}

/// How often the runner looks for queued central scans, and the heartbeat
/// period it asks of itself.
pub const POLL_SECS: u64 = 2;

/// The finding kind a scanner name (or kind) stands for.
fn kind_of(scanner: &str) -> Option<&'static str> {
    match scanner {
        "vuln" | "vulnerability" => Some("vulnerability"),
        "secret" => Some("secret"),
        "malware" => Some("malware"),
        "posture" => Some("posture"),
        _ => None,
    }
}

/// Runs until shutdown: claims central scans one at a time.
pub async fn run(
    store: Store,
    secrets: Arc<SecretBox>,
    executor: Arc<dyn ScanExecutor>,
    heartbeat_secs: u64,
    runner: String,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match store.claim_central_scan(&runner, clock::now()).await {
            Ok(Some((scan, registry_id))) => {
                let outcome = tokio::select! {
                    r = run_one(&store, &secrets, &executor, &scan, registry_id, heartbeat_secs, &runner) => r,
                    _ = shutdown.changed() => return,
                };
                let (ok, reason) = match outcome {
                    Ok(Outcome::Done) => (true, None),
                    Ok(Outcome::Stopped) => continue,
                    Err(reason) => (false, Some(reason)),
                };
                if let Err(e) = store
                    .finish_scan(scan.id, &runner, ok, reason.as_deref(), clock::now())
                    .await
                {
                    tracing::warn!("finishing central scan {}: {e}", scan.id);
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("claiming a central scan: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(POLL_SECS)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

enum Outcome {
    Done,
    /// Cancelled, timed out or reassigned meanwhile: nothing to finish.
    Stopped,
}

async fn access_for(
    store: &Store,
    secrets: &SecretBox,
    registry_id: i64,
) -> Result<RegistryAccess, String> {
    let rec = store
        .registry(registry_id)
        .await
        .map_err(|e| format!("reading registry {registry_id}: {e}"))?
        .ok_or_else(|| format!("registry {registry_id} no longer exists"))?;
    let password = match &rec.secret {
        Some((key, sealed)) => Some(
            secrets
                .open(key, sealed, &secret_context(&rec.registry.name))
                .map_err(|e| format!("registry {}: {e}", rec.registry.name))?,
        ),
        None => None,
    };
    let credentials = match (rec.registry.username.clone(), password) {
        (Some(username), Some(password)) => Some(Credentials { username, password }),
        (None, Some(password)) => Some(Credentials {
            username: String::new(),
            password,
        }),
        _ => None,
    };
    Ok(RegistryAccess {
        host: rec.registry.host,
        insecure: rec.registry.insecure,
        credentials,
    })
}

async fn run_one(
    store: &Store,
    secrets: &SecretBox,
    executor: &Arc<dyn ScanExecutor>,
    scan: &crate::model::Scan,
    registry_id: i64,
    heartbeat_secs: u64,
    runner: &str,
) -> Result<Outcome, String> {
    let access = access_for(store, secrets, registry_id).await?;
    let job = Job {
        scan_id: scan.id,
        targets: scan.targets.clone(),
        scanners: scan.scanners.clone(),
        timeout_secs: scan.timeout_secs,
        heartbeat_secs,
    };
    // Its own task, so a panicking executor fails the scan instead of the
    // runner; aborted when the scan must stop.
    let executor = Arc::clone(executor);
    let mut work = AbortOnDrop(tokio::spawn(async move {
        executor.execute(&job, &access).await
    }));
    let mut beat = tokio::time::interval(Duration::from_secs(heartbeat_secs.max(1)));
    beat.tick().await;
    let results = loop {
        tokio::select! {
            r = &mut work.0 => match r {
                Ok(r) => break r.map_err(|e| format!("scanner: {e}"))?,
                Err(e) => return Err(format!("scanner crashed: {e}")),
            },
            _ = beat.tick() => {
                match store.heartbeat_scan(scan.id, runner, clock::now()).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(Outcome::Stopped),
                    Err(e) => tracing::warn!("heartbeat of central scan {}: {e}", scan.id),
                }
            }
        }
    };
    record(store, scan, &results).await?;
    Ok(Outcome::Done)
}

/// Aborts the task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records each target's findings on its `image` node (keyed by the image
/// reference, without the `registry:` prefix).
async fn record(
    store: &Store,
    scan: &crate::model::Scan,
    results: &[ScanResults],
) -> Result<(), String> {
    let now = clock::now();
    for r in results {
        if !scan.targets.contains(&r.target) {
            return Err(format!(
                "the scanner reported an unknown target {:?}",
                r.target
            ));
        }
        let reference = r.target.strip_prefix("registry:").unwrap_or(&r.target);
        let node = store
            .upsert_node(
                &NodeReport {
                    kind: "image".into(),
                    key: reference.to_string(),
                    name: reference.to_string(),
                    parent_id: None,
                    attributes: Some(
                        serde_json::json!({ "reference": reference, "skipped": r.skipped }),
                    ),
                },
                now,
            )
            .await
            .map_err(|e| format!("recording image {reference}: {e}"))?;
        let kinds: Vec<&str> = r.scanners.iter().filter_map(|s| kind_of(s)).collect();
        let findings: Vec<FindingReport> = r
            .findings
            .iter()
            .map(|f| FindingReport {
                kind: f.kind.clone(),
                rule_id: f.rule_id.clone(),
                fingerprint: f.fingerprint.clone(),
                severity: f.severity,
                title: f.title.clone(),
                evidence: f.evidence.clone(),
            })
            .collect();
        if let Some(bad) = findings.iter().find(|f| kind_of(&f.kind).is_none()) {
            return Err(format!(
                "the scanner reported an unknown finding kind {:?}",
                bad.kind
            ));
        }
        store
            .record_findings(node, Some(scan.id), &kinds, &findings, now)
            .await
            .map_err(|e| format!("recording findings of {reference}: {e}"))?;
    }
    Ok(())
}
