//! Nodes and findings: what scans and sensors report, deduplicated per node.

use std::collections::{BTreeMap, HashSet};

use rampart_model::Severity;

use super::{Filter, Paging, Row, Sort, Store};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{Finding, FindingsSummary, Node, Page, Suppression};

/// The node types.
pub const NODE_KINDS: &[&str] = &[
    "host",
    "container",
    "image",
    "pod",
    "namespace",
    "process",
    "internet",
    "service",
    "ingress",
];

/// The finding kinds.
pub const FINDING_KINDS: &[&str] = &["vulnerability", "secret", "malware", "posture"];

/// A node as reported.
#[derive(Debug, Clone)]
pub struct NodeReport {
    pub kind: String,
    pub key: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub attributes: Option<serde_json::Value>,
}

/// A finding as reported by one scan of one node.
#[derive(Debug, Clone)]
pub struct FindingReport {
    pub kind: String,
    pub rule_id: String,
    /// Identifies the same finding across scans (e.g. advisory + package).
    pub fingerprint: String,
    pub severity: Severity,
    pub title: String,
    pub evidence: Option<serde_json::Value>,
}

pub(crate) const NODE_COLS: &str = "id, kind, node_key, name, parent_id, attributes, active, first_seen, \
    last_seen";

fn json_at(row: &Row, i: usize) -> Result<Option<serde_json::Value>, StoreError> {
    Ok(row
        .opt_text(i)?
        .map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))))
}

pub(crate) fn node_from(row: &Row) -> Result<Node, StoreError> {
    Ok(Node {
        id: row.int(0)?,
        kind: row.text(1)?,
        key: row.text(2)?,
        name: row.text(3)?,
        parent_id: row.opt_int(4)?,
        attributes: json_at(row, 5)?,
        active: row.flag(6)?,
        first_seen: rfc3339(row.int(7)?),
        last_seen: rfc3339(row.int(8)?),
    })
}

macro_rules! suppressed_sql {
    () => {
        "EXISTS (SELECT 1 FROM suppressions s WHERE s.rule_id = findings.rule_id \
         AND (s.node_id IS NULL OR s.node_id = findings.node_id))"
    };
}

/// Whether a suppression masks the finding of the current row.
pub const SUPPRESSED: &str = suppressed_sql!();
/// The opposite.
pub const NOT_SUPPRESSED: &str = concat!("NOT ", suppressed_sql!());

const FINDING_COLS: &str = "id, node_id, kind, rule_id, fingerprint, severity, title, evidence, \
    status, first_seen, last_seen, first_scan_id, last_scan_id";

fn finding_from(row: &Row) -> Result<Finding, StoreError> {
    Ok(Finding {
        id: row.int(0)?,
        node_id: row.int(1)?,
        kind: row.text(2)?,
        rule_id: row.text(3)?,
        fingerprint: row.text(4)?,
        severity: row.text(5)?,
        title: row.text(6)?,
        evidence: json_at(row, 7)?,
        status: row.text(8)?,
        first_seen: rfc3339(row.int(9)?),
        last_seen: rfc3339(row.int(10)?),
        first_scan_id: row.opt_int(11)?,
        last_scan_id: row.opt_int(12)?,
        suppressed: row.flag(13)?,
    })
}

const SUPPRESSION_COLS: &str = "id, rule_id, node_id, reason, created_by_name, created_at";

fn suppression_from(row: &Row) -> Result<Suppression, StoreError> {
    Ok(Suppression {
        id: row.int(0)?,
        rule_id: row.text(1)?,
        node_id: row.opt_int(2)?,
        reason: row.text(3)?,
        created_by: row.text(4)?,
        created_at: rfc3339(row.int(5)?),
    })
}

/// What changed between two scans.
#[derive(Debug, Clone, Default)]
pub struct ScanDiff {
    pub added: Vec<Finding>,
    pub added_total: i64,
    pub removed: Vec<Finding>,
    pub removed_total: i64,
    pub unchanged_total: i64,
}

/// The rank stored next to a severity, so that lists sort by it.
pub fn severity_rank(s: Severity) -> i64 {
    Severity::ALL
        .iter()
        .position(|x| *x == s)
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(0)
}

impl Store {
    /// Creates or refreshes a node (by type and key); its id.
    pub async fn upsert_node(&self, n: &NodeReport, now: i64) -> Result<i64, StoreError> {
        let rows = self
            .db
            .query(
                "INSERT INTO nodes (kind, node_key, name, parent_id, attributes, first_seen, \
                 last_seen, active) VALUES (?, ?, ?, ?, ?, ?, ?, 1) \
                 ON CONFLICT (kind, node_key) DO UPDATE SET name = excluded.name, \
                 parent_id = excluded.parent_id, attributes = excluded.attributes, \
                 last_seen = excluded.last_seen, active = 1, removed_at = NULL RETURNING id",
                vec![
                    n.kind.clone().into(),
                    n.key.clone().into(),
                    n.name.clone().into(),
                    n.parent_id.into(),
                    n.attributes.as_ref().map(ToString::to_string).into(),
                    now.into(),
                    now.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Decode("upsert returned no id".into()))?
            .int(0)
    }

    /// A node by id.
    pub async fn node(&self, id: i64) -> Result<Option<Node>, StoreError> {
        let sql = format!("SELECT {NODE_COLS} FROM nodes WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(node_from).transpose()
    }

    /// A page of nodes.
    pub async fn list_nodes(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Node>, StoreError> {
        self.page(NODE_COLS, "nodes", filter, sort, paging, node_from)
            .await
    }

    /// Open findings of a node by kind and severity.
    pub async fn findings_summary(&self, node_id: i64) -> Result<FindingsSummary, StoreError> {
        let sql = format!(
            "SELECT kind, severity, COUNT(*) FROM findings WHERE node_id = ? \
             AND status = 'open' AND NOT {SUPPRESSED} GROUP BY kind, severity"
        );
        let rows = self.db.query(&sql, vec![node_id.into()]).await?;
        let mut summary = FindingsSummary::default();
        for r in &rows {
            let n = r.int(2)?;
            summary.total += n;
            *summary
                .by_kind
                .entry(r.text(0)?)
                .or_insert_with(BTreeMap::new)
                .entry(r.text(1)?)
                .or_default() += n;
        }
        let sql = format!(
            "SELECT COUNT(*) FROM findings WHERE node_id = ? AND status = 'open' AND {SUPPRESSED}"
        );
        let rows = self.db.query(&sql, vec![node_id.into()]).await?;
        summary.suppressed = rows.first().map_or(Ok(0), |r| r.int(0))?;
        Ok(summary)
    }

    /// Adds a suppression.
    pub async fn create_suppression(
        &self,
        rule_id: &str,
        node_id: Option<i64>,
        reason: &str,
        by: (Option<i64>, &str),
        now: i64,
    ) -> Result<Suppression, StoreError> {
        let sql = format!(
            "INSERT INTO suppressions (rule_id, node_id, reason, created_by, created_by_name, \
             created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {SUPPRESSION_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    rule_id.into(),
                    node_id.into(),
                    reason.into(),
                    by.0.into(),
                    by.1.into(),
                    now.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Decode("insert returned no suppression".into()))
            .and_then(suppression_from)
    }

    /// A suppression by id.
    pub async fn suppression(&self, id: i64) -> Result<Option<Suppression>, StoreError> {
        let sql = format!("SELECT {SUPPRESSION_COLS} FROM suppressions WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(suppression_from).transpose()
    }

    /// Deletes a suppression; `true` if it existed.
    pub async fn delete_suppression(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute("DELETE FROM suppressions WHERE id = ?", vec![id.into()])
            .await?
            == 1)
    }

    /// A page of suppressions.
    pub async fn list_suppressions(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Suppression>, StoreError> {
        self.page(
            SUPPRESSION_COLS,
            "suppressions",
            filter,
            sort,
            paging,
            suppression_from,
        )
        .await
    }

    /// Records what scan `scan_id` found on a node for the `kinds` it
    /// scanned: new findings are added, known ones refreshed (reopened if
    /// they were fixed), and open ones of those kinds it no longer reports
    /// are marked fixed (their history stays). Returns (new or reopened,
    /// fixed).
    pub async fn record_findings(
        &self,
        node_id: i64,
        scan_id: Option<i64>,
        kinds: &[&str],
        findings: &[FindingReport],
        now: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut open_before: HashSet<(String, String)> = HashSet::new();
        for kind in kinds {
            let rows = self
                .db
                .query(
                    "SELECT fingerprint FROM findings WHERE node_id = ? AND kind = ? \
                     AND status = 'open'",
                    vec![node_id.into(), (*kind).into()],
                )
                .await?;
            for r in &rows {
                open_before.insert(((*kind).to_string(), r.text(0)?));
            }
        }
        let mut added = 0;
        let mut reported: HashSet<(String, String)> = HashSet::new();
        for f in findings {
            let key = (f.kind.clone(), f.fingerprint.clone());
            if !open_before.contains(&key) && !reported.contains(&key) {
                added += 1;
            }
            reported.insert(key);
            let rows = self
                .db
                .query(
                    "INSERT INTO findings (node_id, kind, rule_id, fingerprint, severity, \
                     severity_rank, title, evidence, status, first_seen, last_seen, \
                     first_scan_id, last_scan_id) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) \
                     ON CONFLICT (node_id, kind, fingerprint) DO UPDATE SET \
                     severity = excluded.severity, severity_rank = excluded.severity_rank, \
                     title = excluded.title, evidence = excluded.evidence, status = 'open', \
                     last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id \
                     RETURNING id",
                    vec![
                        node_id.into(),
                        f.kind.clone().into(),
                        f.rule_id.clone().into(),
                        f.fingerprint.clone().into(),
                        f.severity.as_str().into(),
                        severity_rank(f.severity).into(),
                        f.title.clone().into(),
                        f.evidence.as_ref().map(ToString::to_string).into(),
                        now.into(),
                        now.into(),
                        scan_id.into(),
                        scan_id.into(),
                    ],
                )
                .await?;
            if let Some(scan) = scan_id {
                let id = rows
                    .first()
                    .ok_or_else(|| StoreError::Decode("upsert returned no id".into()))?
                    .int(0)?;
                self.db
                    .execute(
                        "INSERT INTO scan_findings (scan_id, finding_id) VALUES (?, ?) \
                         ON CONFLICT (scan_id, finding_id) DO NOTHING",
                        vec![scan.into(), id.into()],
                    )
                    .await?;
            }
        }
        let mut fixed = 0;
        for (kind, fingerprint) in open_before.difference(&reported) {
            fixed += self
                .db
                .execute(
                    "UPDATE findings SET status = 'fixed', last_scan_id = ? WHERE node_id = ? \
                     AND kind = ? AND fingerprint = ? AND status = 'open'",
                    vec![
                        scan_id.into(),
                        node_id.into(),
                        kind.clone().into(),
                        fingerprint.clone().into(),
                    ],
                )
                .await?;
        }
        Ok((added, fixed))
    }

    /// Findings scan `b` reported that scan `a` did not (`added`), and
    /// those `a` reported that `b` did not (`removed`), at most `limit` of
    /// each, worst first, with their totals and the count of common ones.
    pub async fn diff_scans(&self, a: i64, b: i64, limit: i64) -> Result<ScanDiff, StoreError> {
        let only = |x: i64, y: i64| -> (String, Vec<super::Value>) {
            (
                "FROM findings WHERE id IN (SELECT finding_id FROM scan_findings WHERE scan_id = ?) \
                 AND id NOT IN (SELECT finding_id FROM scan_findings WHERE scan_id = ?)"
                    .to_string(),
                vec![x.into(), y.into()],
            )
        };
        let mut out = ScanDiff::default();
        for (x, y, added) in [(b, a, true), (a, b, false)] {
            let (from, params) = only(x, y);
            let count = self
                .db
                .query(&format!("SELECT COUNT(*) {from}"), params.clone())
                .await?
                .first()
                .map_or(Ok(0), |r| r.int(0))?;
            let mut p = params;
            p.push(limit.into());
            let rows = self
                .db
                .query(
                    &format!(
                        "SELECT {FINDING_COLS}, CASE WHEN {SUPPRESSED} THEN 1 ELSE 0 END {from} \
                         ORDER BY severity_rank DESC, id ASC LIMIT ?"
                    ),
                    p,
                )
                .await?;
            let items = rows
                .iter()
                .map(finding_from)
                .collect::<Result<Vec<_>, _>>()?;
            if added {
                (out.added, out.added_total) = (items, count);
            } else {
                (out.removed, out.removed_total) = (items, count);
            }
        }
        out.unchanged_total = self
            .db
            .query(
                "SELECT COUNT(*) FROM scan_findings x JOIN scan_findings y \
                 ON x.finding_id = y.finding_id WHERE x.scan_id = ? AND y.scan_id = ?",
                vec![a.into(), b.into()],
            )
            .await?
            .first()
            .map_or(Ok(0), |r| r.int(0))?;
        Ok(out)
    }

    /// A page of findings.
    pub async fn list_findings(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Finding>, StoreError> {
        let select = format!("{FINDING_COLS}, CASE WHEN {SUPPRESSED} THEN 1 ELSE 0 END");
        self.page(&select, "findings", filter, sort, paging, finding_from)
            .await
    }
}
