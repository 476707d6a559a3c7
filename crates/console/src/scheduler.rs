//! The scheduler: every few seconds, queues the scans of due schedules.
//! Each run is claimed by a conditional update of the schedule's
//! `next_run_at` (see [`Store::run_schedule`]), so with several consoles on
//! one database a run is queued once. The next run is computed from now,
//! not from the missed time: after downtime a schedule runs once, not once
//! per missed occurrence.

use std::time::Duration;

use tokio::sync::watch;

use crate::clock;
use crate::cron::Cron;
use crate::store::scans::NewScan;
use crate::store::settings::Settings;
use crate::store::{NewAudit, Store};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Scans queued by this console.
    pub queued: usize,
    /// Due runs another console claimed first.
    pub lost: usize,
}

/// One pass at `now`: queues every due schedule's scan (unless paused).
pub async fn pass(store: &Store, defaults: &Settings, now: i64) -> Result<Pass, crate::StoreError> {
    let settings = store.settings(defaults).await?;
    let mut done = Pass::default();
    if settings.schedules_paused {
        return Ok(done);
    }
    for due in store.due_schedules(now).await? {
        let Some(expected) = due.next_run_at else {
            continue;
        };
        let s = &due.schedule;
        // A stored expression always parsed when it was saved; one that no
        // longer does is disabled by leaving next_run_at empty.
        let next = match s.cron.parse::<Cron>() {
            Ok(c) => c.next_after(now),
            Err(e) => {
                tracing::warn!("schedule {} ({}): {e}; not rescheduled", s.id, s.name);
                None
            }
        };
        let scan = NewScan {
            targets: s.targets.clone(),
            scanners: s.scanners.clone(),
            requested_by: None,
            requested_by_name: format!("schedule:{}", s.name),
            max_attempts: settings.scan_max_attempts,
            timeout_secs: s.timeout_secs.unwrap_or(settings.default_scan_timeout_secs),
        };
        let audit = NewAudit {
            at: now,
            actor: "scheduler".into(),
            action: "scan.create".into(),
            outcome: "success".into(),
            detail: Some(serde_json::json!({
                "schedule": s.id, "cron": s.cron, "due_at": clock::rfc3339(expected),
                "targets": s.targets, "scanners": s.scanners,
            })),
            ..NewAudit::default()
        };
        match store
            .run_schedule(s.id, expected, next, &scan, &audit, now)
            .await?
        {
            Some(scan) => {
                tracing::info!("schedule {} ({}) queued scan {}", s.id, s.name, scan.id);
                done.queued += 1;
            }
            None => done.lost += 1,
        }
    }
    Ok(done)
}

/// Runs passes every `every` until shutdown.
pub async fn run(
    store: Store,
    defaults: Settings,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = pass(&store, &defaults, clock::now()).await {
            tracing::warn!("scheduler: {e}");
        }
    }
}
