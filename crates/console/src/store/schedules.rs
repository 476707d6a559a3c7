//! Scan schedules: a cron expression (UTC) and what to scan. The scheduler
//! claims a due run with one conditional update of `next_run_at`, so with
//! several consoles on one database each run is queued exactly once.

use serde::Serialize;
use utoipa::ToSchema;

use super::scans::NewScan;
use super::{Filter, NewAudit, Paging, Row, Sort, Store, Value};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{Page, Scan};

/// A schedule as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    /// Five-field cron expression or macro, evaluated in UTC.
    pub cron: String,
    pub targets: Vec<String>,
    pub scanners: Vec<String>,
    /// The scans' time limit; `null`: the `default_scan_timeout_secs`
    /// setting when each scan is queued.
    pub timeout_secs: Option<i64>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// When it runs next (`null` while disabled).
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub last_scan_id: Option<i64>,
}

/// A schedule as stored, with times as Unix seconds.
#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub schedule: Schedule,
    pub next_run_at: Option<i64>,
}

/// A schedule to add.
#[derive(Debug, Clone)]
pub struct NewSchedule<'a> {
    pub name: &'a str,
    pub cron: &'a str,
    pub targets: &'a [String],
    pub scanners: &'a [String],
    pub timeout_secs: Option<i64>,
    pub enabled: bool,
    pub next_run_at: Option<i64>,
    pub created_by: &'a str,
}

/// Changes to a schedule; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ScheduleChanges {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub targets: Option<Vec<String>>,
    pub scanners: Option<Vec<String>>,
    /// `Some(None)` clears it (use the default).
    pub timeout_secs: Option<Option<i64>>,
    pub enabled: Option<bool>,
    /// Recomputed by the caller whenever `cron` or `enabled` change.
    pub next_run_at: Option<Option<i64>>,
}

const SCHEDULE_COLS: &str = "id, name, cron, targets, scanners, timeout_secs, enabled, \
    created_by_name, created_at, updated_at, next_run_at, last_run_at, last_scan_id";

fn list_at(row: &Row, i: usize) -> Result<Vec<String>, StoreError> {
    let text = row.text(i)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Decode(format!("#{i} (JSON list)")))
}

fn schedule_from(row: &Row) -> Result<ScheduleRecord, StoreError> {
    let next = row.opt_int(10)?;
    Ok(ScheduleRecord {
        schedule: Schedule {
            id: row.int(0)?,
            name: row.text(1)?,
            cron: row.text(2)?,
            targets: list_at(row, 3)?,
            scanners: list_at(row, 4)?,
            timeout_secs: row.opt_int(5)?,
            enabled: row.flag(6)?,
            created_by: row.text(7)?,
            created_at: rfc3339(row.int(8)?),
            updated_at: rfc3339(row.int(9)?),
            next_run_at: next.map(rfc3339),
            last_run_at: row.opt_int(11)?.map(rfc3339),
            last_scan_id: row.opt_int(12)?,
        },
        next_run_at: next,
    })
}

fn schedule_view(row: &Row) -> Result<Schedule, StoreError> {
    schedule_from(row).map(|r| r.schedule)
}

fn json_list(v: &[String]) -> Value {
    serde_json::Value::from(v.to_vec()).to_string().into()
}

impl Store {
    /// Adds a schedule; [`StoreError::Conflict`] when the name is taken.
    pub async fn create_schedule(
        &self,
        s: &NewSchedule<'_>,
        now: i64,
    ) -> Result<Schedule, StoreError> {
        let sql = format!(
            "INSERT INTO schedules (name, cron, targets, scanners, timeout_secs, enabled, \
             created_by_name, created_at, updated_at, next_run_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SCHEDULE_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    s.name.into(),
                    s.cron.into(),
                    json_list(s.targets),
                    json_list(s.scanners),
                    s.timeout_secs.into(),
                    s.enabled.into(),
                    s.created_by.into(),
                    now.into(),
                    now.into(),
                    s.next_run_at.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Decode("insert returned no schedule".into()))
            .and_then(schedule_view)
    }

    /// A schedule by id.
    pub async fn schedule(&self, id: i64) -> Result<Option<ScheduleRecord>, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(schedule_from).transpose()
    }

    /// A page of schedules.
    pub async fn list_schedules(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Schedule>, StoreError> {
        self.page(
            SCHEDULE_COLS,
            "schedules",
            filter,
            sort,
            paging,
            schedule_view,
        )
        .await
    }

    /// Applies `changes`; the updated schedule, or `None` if it does not
    /// exist.
    pub async fn update_schedule(
        &self,
        id: i64,
        c: &ScheduleChanges,
        now: i64,
    ) -> Result<Option<Schedule>, StoreError> {
        let mut sets = vec!["updated_at = ?".to_string()];
        let mut params: Vec<Value> = vec![now.into()];
        if let Some(n) = &c.name {
            sets.push("name = ?".into());
            params.push(n.clone().into());
        }
        if let Some(v) = &c.cron {
            sets.push("cron = ?".into());
            params.push(v.clone().into());
        }
        if let Some(v) = &c.targets {
            sets.push("targets = ?".into());
            params.push(json_list(v));
        }
        if let Some(v) = &c.scanners {
            sets.push("scanners = ?".into());
            params.push(json_list(v));
        }
        if let Some(v) = c.timeout_secs {
            sets.push("timeout_secs = ?".into());
            params.push(v.into());
        }
        if let Some(v) = c.enabled {
            sets.push("enabled = ?".into());
            params.push(v.into());
        }
        if let Some(v) = c.next_run_at {
            sets.push("next_run_at = ?".into());
            params.push(v.into());
        }
        params.push(id.into());
        let sql = format!(
            "UPDATE schedules SET {} WHERE id = ? RETURNING {SCHEDULE_COLS}",
            sets.join(", ")
        );
        let rows = self.db.query(&sql, params).await?;
        rows.first().map(schedule_view).transpose()
    }

    /// Deletes a schedule; `true` if it existed (its scans stay).
    pub async fn delete_schedule(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute("DELETE FROM schedules WHERE id = ?", vec![id.into()])
            .await?
            == 1)
    }

    /// Enabled schedules whose next run is at or before `now`.
    pub async fn due_schedules(&self, now: i64) -> Result<Vec<ScheduleRecord>, StoreError> {
        let sql = format!(
            "SELECT {SCHEDULE_COLS} FROM schedules WHERE enabled = 1 AND next_run_at <= ? \
             ORDER BY next_run_at, id"
        );
        let rows = self.db.query(&sql, vec![now.into()]).await?;
        rows.iter().map(schedule_from).collect()
    }

    /// Runs one due schedule, exactly once: moves `next_run_at` from
    /// `expected` to `next` with a conditional update (the claim: another
    /// console that read the same `expected` updates nothing), queues the
    /// scan, records it on the schedule and audits it, all in one
    /// transaction. `None` when another console claimed this run first.
    pub async fn run_schedule(
        &self,
        id: i64,
        expected: i64,
        next: Option<i64>,
        scan: &NewScan,
        audit: &NewAudit,
        now: i64,
    ) -> Result<Option<Scan>, StoreError> {
        // Nodes on an agent's host are that agent's to scan, as for scans
        // requested through the API; decided before the transaction (on
        // SQLite the transaction holds the only connection).
        let assignment = self.assign_targets(&scan.targets).await?;
        let tx = self.begin().await?;
        let claimed = tx
            .db
            .execute(
                "UPDATE schedules SET next_run_at = ?, last_run_at = ? \
                 WHERE id = ? AND enabled = 1 AND next_run_at = ?",
                vec![next.into(), now.into(), id.into(), expected.into()],
            )
            .await?;
        if claimed != 1 {
            return Ok(None);
        }
        let (created, refused) = match assignment {
            Ok(super::jobs::Assignment::Central) => (tx.create_scan(scan, now).await?, None),
            Ok(super::jobs::Assignment::Agent { agent_id, targets }) => (
                tx.create_agent_scan(scan, agent_id, &targets, now).await?,
                None,
            ),
            // The targets are now on several agents' hosts: the run is
            // recorded, and cancelled with the reason.
            Err(why) => (tx.create_scan(scan, now).await?, Some(why)),
        };
        tx.tag_scan(created.id, None, Some(id)).await?;
        let created = match refused {
            Some(why) => tx
                .cancel_scan(created.id, &format!("not run: {why}"), now)
                .await?
                .unwrap_or(created),
            None => created,
        };
        tx.db
            .execute(
                "UPDATE schedules SET last_scan_id = ? WHERE id = ?",
                vec![created.id.into(), id.into()],
            )
            .await?;
        let mut audit = audit.clone();
        audit.target = Some(format!("scan:{}", created.id));
        tx.audit(&audit).await?;
        tx.commit().await?;
        Ok(Some(created))
    }
}
