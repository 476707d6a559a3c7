//! Scans of agents' hosts: which agent runs a scan, the targets as the
//! agent names them, claiming, and where uploaded results belong.
//!
//! A scan whose targets are nodes on one agent's host (the host itself, a
//! container on it, an image one of its containers runs) is that agent's
//! alone; a scan of target specifications, or of nodes no live agent
//! reports (registry images...), is left to a central runner
//! ([`Store::claim_scan`]). Targets on several agents, or mixing an
//! agent's nodes with central targets, are refused: queue one scan per
//! host.

use serde::{Deserialize, Serialize};

use super::scans::NewScan;
use super::{Row, Store};
use crate::error::StoreError;
use crate::model::Scan;

/// One target of an agent's job and the node its results belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTarget {
    /// As the agent scans it: `host`, `container:ID`, `image:REF`.
    pub target: String,
    pub node_id: i64,
}

/// Who runs a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// A central runner (target specifications, registry images).
    Central,
    /// This agent, with these targets.
    Agent {
        agent_id: i64,
        targets: Vec<JobTarget>,
    },
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub scan_id: i64,
    pub targets: Vec<JobTarget>,
    pub scanners: Vec<String>,
    pub timeout_secs: i64,
}

fn targets_at(row: &Row, i: usize) -> Result<Vec<JobTarget>, StoreError> {
    match row.opt_text(i)? {
        None => Ok(Vec::new()),
        Some(t) => {
            serde_json::from_str(&t).map_err(|_| StoreError::Decode(format!("#{i} (job targets)")))
        }
    }
}

impl Store {
    /// The live agent that last reported the host with this machine id.
    async fn agent_of_machine(&self, machine_id: &str) -> Result<Option<i64>, StoreError> {
        self.db
            .query(
                "SELECT r.agent_id FROM agent_reports r JOIN agents a ON a.id = r.agent_id \
                 WHERE r.machine_id = ? AND a.revoked_at IS NULL \
                 ORDER BY r.updated_at DESC, r.agent_id DESC LIMIT 1",
                vec![machine_id.into()],
            )
            .await?
            .first()
            .map(|r| r.int(0))
            .transpose()
    }

    /// Decides who runs a scan of `targets` (node ids or target
    /// specifications). `Ok(Err(message))` for targets that cannot be
    /// scanned together or at all.
    pub async fn assign_targets(
        &self,
        targets: &[String],
    ) -> Result<Result<Assignment, String>, StoreError> {
        let mut agent: Option<i64> = None;
        let mut central = false;
        let mut job = Vec::new();
        for t in targets {
            let Ok(id) = t.trim().parse::<i64>() else {
                central = true;
                continue;
            };
            let rows = self
                .db
                .query(
                    "SELECT n.kind, n.node_key, n.name, p.kind, p.node_key FROM nodes n \
                     LEFT JOIN nodes p ON p.id = n.parent_id \
                     WHERE n.id = ? AND n.removed_at IS NULL",
                    vec![id.into()],
                )
                .await?;
            let Some(r) = rows.first() else {
                return Ok(Err(format!("no node {id}")));
            };
            let (kind, key, name) = (r.text(0)?, r.text(1)?, r.text(2)?);
            let (on, target) = match kind.as_str() {
                "host" => (self.agent_of_machine(&key).await?, "host".to_string()),
                "container" => {
                    let host = match (r.opt_text(3)?, r.opt_text(4)?) {
                        (Some(k), Some(h)) if k == "host" => self.agent_of_machine(&h).await?,
                        _ => None,
                    };
                    (host, format!("container:{key}"))
                }
                "image" => {
                    let hosts = self
                        .db
                        .query(
                            "SELECT h.node_key FROM edges e JOIN nodes c ON c.id = e.source_id \
                             JOIN nodes h ON h.id = c.parent_id WHERE e.kind = 'instance_of' \
                             AND e.target_id = ? AND e.active = 1 AND h.kind = 'host' \
                             ORDER BY h.last_seen DESC, h.id",
                            vec![id.into()],
                        )
                        .await?;
                    let mut found = None;
                    for h in &hosts {
                        if let Some(a) = self.agent_of_machine(&h.text(0)?).await? {
                            found = Some(a);
                            break;
                        }
                    }
                    if found.is_none() {
                        // No agent runs it: a central runner pulls it.
                        central = true;
                        continue;
                    }
                    (found, format!("image:{name}"))
                }
                other => {
                    return Ok(Err(format!(
                        "node {id} is a {other}; scan a host, container or image node"
                    )));
                }
            };
            let Some(on) = on else {
                // No live agent reports it: left to a central runner.
                central = true;
                continue;
            };
            if agent.is_some_and(|a| a != on) {
                return Ok(Err(
                    "the targets are on several agents' hosts; queue one scan per host".into(),
                ));
            }
            agent = Some(on);
            if !job.iter().any(|j: &JobTarget| j.target == target) {
                job.push(JobTarget {
                    target,
                    node_id: id,
                });
            }
        }
        Ok(match (agent, central) {
            (None, _) => Ok(Assignment::Central),
            (Some(_), true) => Err(
                "the targets mix an agent's nodes with targets only a central runner scans; \
                 queue them separately"
                    .into(),
            ),
            (Some(agent_id), false) => Ok(Assignment::Agent {
                agent_id,
                targets: job,
            }),
        })
    }

    /// Queues a scan only `agent_id` may claim.
    pub async fn create_agent_scan(
        &self,
        s: &NewScan,
        agent_id: i64,
        targets: &[JobTarget],
        now: i64,
    ) -> Result<Scan, StoreError> {
        let job = serde_json::to_string(targets)
            .map_err(|e| StoreError::Decode(format!("job targets: {e}")))?;
        let rows = self
            .db
            .query(
                "INSERT INTO scans (state, targets, scanners, requested_by, requested_by_name, \
                 max_attempts, timeout_secs, created_at, agent_id, job_targets) \
                 VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    agent_id.into(),
                    job.into(),
                ],
            )
            .await?;
        let id = rows
            .first()
            .ok_or_else(|| StoreError::Decode("insert returned no scan".into()))?
            .int(0)?;
        self.scan(id)
            .await?
            .ok_or_else(|| StoreError::Decode("inserted scan not found".into()))
    }

    /// Gives the agent its oldest queued scan (queued -> running).
    pub async fn claim_agent_scan(
        &self,
        agent_id: i64,
        runner: &str,
        now: i64,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let rows = self
            .db
            .query(
                "UPDATE scans SET state = 'running', runner = ?, started_at = ?, \
                 heartbeat_at = ?, attempts = attempts + 1, reason = NULL \
                 WHERE id = (SELECT MIN(id) FROM scans WHERE state = 'queued' AND agent_id = ?) \
                 AND state = 'queued' RETURNING id, job_targets, scanners, timeout_secs",
                vec![runner.into(), now.into(), now.into(), agent_id.into()],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let scanners: Vec<String> = serde_json::from_str(&r.text(2)?)
            .map_err(|_| StoreError::Decode("scans.scanners".into()))?;
        Ok(Some(ClaimedJob {
            scan_id: r.int(0)?,
            targets: targets_at(r, 1)?,
            scanners,
            timeout_secs: r.int(3)?,
        }))
    }

    /// The targets and scanners of a scan running for `runner`; `None` if
    /// it is not running for it.
    pub async fn running_job(
        &self,
        scan_id: i64,
        runner: &str,
    ) -> Result<Option<(Vec<JobTarget>, Vec<String>)>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT job_targets, scanners FROM scans WHERE id = ? AND state = 'running' \
                 AND runner = ?",
                vec![scan_id.into(), runner.into()],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let scanners: Vec<String> = serde_json::from_str(&r.text(1)?)
            .map_err(|_| StoreError::Decode("scans.scanners".into()))?;
        Ok(Some((targets_at(r, 0)?, scanners)))
    }
}
