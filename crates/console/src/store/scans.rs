//! The scan state machine. Every transition is one conditional `UPDATE`
//! (compare-and-set on the state), so concurrent runners, cancellations and
//! the reaper cannot both win; the reaper guarantees that no scan stays
//! queued or running forever.

use super::{Filter, Paging, Row, Sort, Store};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{Page, Scan};

/// The scan states; the last four are final.
pub const SCAN_STATES: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed-out",
];

pub(super) const SCAN_COLS: &str = "id, state, reason, targets, scanners, requested_by_name, runner, \
    attempts, max_attempts, timeout_secs, created_at, started_at, heartbeat_at, finished_at";

fn list_at(row: &Row, i: usize) -> Result<Vec<String>, StoreError> {
    let text = row.text(i)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Decode(format!("#{i} (JSON list)")))
}

fn scan_from(row: &Row) -> Result<Scan, StoreError> {
    scan_from_prefix(row, 0)
}

/// A scan from the `SCAN_COLS` starting at column `o`.
pub(super) fn scan_from_prefix(row: &Row, o: usize) -> Result<Scan, StoreError> {
    Ok(Scan {
        id: row.int(o)?,
        state: row.text(o + 1)?,
        reason: row.opt_text(o + 2)?,
        targets: list_at(row, o + 3)?,
        scanners: list_at(row, o + 4)?,
        requested_by: row.text(o + 5)?,
        runner: row.opt_text(o + 6)?,
        attempts: row.int(o + 7)?,
        max_attempts: row.int(o + 8)?,
        timeout_secs: row.int(o + 9)?,
        created_at: rfc3339(row.int(o + 10)?),
        started_at: row.opt_int(o + 11)?.map(rfc3339),
        heartbeat_at: row.opt_int(o + 12)?.map(rfc3339),
        finished_at: row.opt_int(o + 13)?.map(rfc3339),
    })
}

/// A scan to queue.
#[derive(Debug, Clone)]
pub struct NewScan {
    pub targets: Vec<String>,
    pub scanners: Vec<String>,
    pub requested_by: Option<i64>,
    pub requested_by_name: String,
    pub max_attempts: i64,
    pub timeout_secs: i64,
}

/// How long scans may go without progress before the reaper acts.
#[derive(Debug, Clone, Copy)]
pub struct ScanTimeouts {
    /// A running scan without a heartbeat for this long is retried (or
    /// timed out once its attempts are used up).
    pub heartbeat_secs: i64,
    /// A queued scan nobody picked up for this long times out.
    pub queued_secs: i64,
}

/// What one reaper pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reaped {
    pub requeued: u64,
    pub timed_out: u64,
}

impl Store {
    /// Queues a scan.
    pub async fn create_scan(&self, s: &NewScan, now: i64) -> Result<Scan, StoreError> {
        let sql = format!(
            "INSERT INTO scans (state, targets, scanners, requested_by, requested_by_name, \
             max_attempts, timeout_secs, created_at) VALUES ('queued', ?, ?, ?, ?, ?, ?, ?) \
             RETURNING {SCAN_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    serde_json::Value::from(s.targets.clone())
                        .to_string()
                        .into(),
                    serde_json::Value::from(s.scanners.clone())
                        .to_string()
                        .into(),
                    s.requested_by.into(),
                    s.requested_by_name.clone().into(),
                    s.max_attempts.into(),
                    s.timeout_secs.into(),
                    now.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Decode("insert returned no scan".into()))
            .and_then(scan_from)
    }

    /// A scan by id.
    pub async fn scan(&self, id: i64) -> Result<Option<Scan>, StoreError> {
        let sql = format!("SELECT {SCAN_COLS} FROM scans WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(scan_from).transpose()
    }

    /// A page of scans.
    pub async fn list_scans(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Scan>, StoreError> {
        self.page(SCAN_COLS, "scans", filter, sort, paging, scan_from)
            .await
    }

    async fn transition(
        &self,
        sql: &str,
        params: Vec<super::Value>,
    ) -> Result<Option<Scan>, StoreError> {
        let sql = format!("{sql} RETURNING {SCAN_COLS}");
        let rows = self.db.query(&sql, params).await?;
        rows.first().map(scan_from).transpose()
    }

    /// The latest succeeded scan before `id` of the same targets.
    pub async fn previous_scan(&self, id: i64) -> Result<Option<Scan>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLS} FROM scans WHERE id = (SELECT MAX(p.id) FROM scans p \
             JOIN scans s ON s.targets = p.targets WHERE s.id = ? AND p.id < s.id \
             AND p.state = 'succeeded')"
        );
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(scan_from).transpose()
    }

    /// Gives the oldest queued scan that neither an agent nor the central
    /// (registry) runner owns to `runner` (queued -> running); `None` when
    /// nothing is queued (or another runner took it first). Agents claim
    /// with [`Store::claim_agent_scan`], the central runner with
    /// [`Store::claim_central_scan`].
    pub async fn claim_scan(&self, runner: &str, now: i64) -> Result<Option<Scan>, StoreError> {
        self.transition(
            "UPDATE scans SET state = 'running', runner = ?, started_at = ?, heartbeat_at = ?, \
             attempts = attempts + 1, reason = NULL \
             WHERE id = (SELECT MIN(id) FROM scans WHERE state = 'queued' \
             AND agent_id IS NULL AND registry_id IS NULL) AND state = 'queued'",
            vec![runner.into(), now.into(), now.into()],
        )
        .await
    }

    /// A running scan's runner says it is alive; `false` if the scan is no
    /// longer running for that runner (cancelled, timed out, reassigned):
    /// the runner must stop.
    pub async fn heartbeat_scan(
        &self,
        id: i64,
        runner: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute(
                "UPDATE scans SET heartbeat_at = ? WHERE id = ? AND state = 'running' \
                 AND runner = ?",
                vec![now.into(), id.into(), runner.into()],
            )
            .await?
            == 1)
    }

    /// The runner reports the end: `succeeded` or `failed` (with a reason).
    /// `None` if the scan was not running for that runner.
    pub async fn finish_scan(
        &self,
        id: i64,
        runner: &str,
        succeeded: bool,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Option<Scan>, StoreError> {
        let state = if succeeded { "succeeded" } else { "failed" };
        self.transition(
            "UPDATE scans SET state = ?, reason = ?, finished_at = ? WHERE id = ? \
             AND state = 'running' AND runner = ?",
            vec![
                state.into(),
                reason.map(str::to_string).into(),
                now.into(),
                id.into(),
                runner.into(),
            ],
        )
        .await
    }

    /// Cancels a queued or running scan; `None` if it was already final.
    pub async fn cancel_scan(
        &self,
        id: i64,
        reason: &str,
        now: i64,
    ) -> Result<Option<Scan>, StoreError> {
        self.transition(
            "UPDATE scans SET state = 'cancelled', reason = ?, finished_at = ? WHERE id = ? \
             AND state IN ('queued', 'running')",
            vec![reason.into(), now.into(), id.into()],
        )
        .await
    }

    /// One reaper pass: running scans past their time limit, or silent for
    /// longer than the heartbeat timeout with no attempt left, time out;
    /// silent ones with attempts left go back to the queue; queued scans
    /// nobody took time out.
    pub async fn reap_scans(&self, t: ScanTimeouts, now: i64) -> Result<Reaped, StoreError> {
        let over_time = self
            .db
            .execute(
                "UPDATE scans SET state = 'timed-out', finished_at = ?, \
                 reason = 'exceeded its time limit of ' || timeout_secs || ' s' \
                 WHERE state = 'running' AND started_at + timeout_secs < ?",
                vec![now.into(), now.into()],
            )
            .await?;
        let silent = now - t.heartbeat_secs;
        let requeued = self
            .db
            .execute(
                "UPDATE scans SET state = 'queued', runner = NULL, heartbeat_at = NULL, \
                 reason = 'runner ' || runner || ' stopped sending heartbeats; retrying' \
                 WHERE state = 'running' AND heartbeat_at < ? AND attempts < max_attempts",
                vec![silent.into()],
            )
            .await?;
        let gave_up = self
            .db
            .execute(
                "UPDATE scans SET state = 'timed-out', finished_at = ?, \
                 reason = 'runner ' || runner || ' stopped sending heartbeats after ' \
                 || attempts || ' attempt(s)' \
                 WHERE state = 'running' AND heartbeat_at < ? AND attempts >= max_attempts",
                vec![now.into(), silent.into()],
            )
            .await?;
        let never_started = self
            .db
            .execute(
                "UPDATE scans SET state = 'timed-out', finished_at = ?, \
                 reason = 'no runner took it within ' || ? || ' s' \
                 WHERE state = 'queued' AND created_at < ?",
                vec![
                    now.into(),
                    t.queued_secs.to_string().into(),
                    (now - t.queued_secs).into(),
                ],
            )
            .await?;
        Ok(Reaped {
            requeued,
            timed_out: over_time + gave_up + never_started,
        })
    }
}
