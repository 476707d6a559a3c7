//! What ThreatGraph reads from the store: active nodes and edges, open
//! findings no suppression masks, the runtime evidence of each agent's host,
//! and a cheap fingerprint that says when any of it changed.

use std::collections::{HashMap, HashSet};

use rampart_model::agent::RuntimeUse;

use super::inventory::NOT_SUPPRESSED;
use super::{Row, Store};
use crate::error::StoreError;

/// An active node as the graph needs it.
#[derive(Debug, Clone)]
pub struct ThreatNode {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub name: String,
    pub attributes: Option<serde_json::Value>,
}

/// An active edge.
#[derive(Debug, Clone)]
pub struct ThreatEdge {
    pub kind: String,
    pub source: i64,
    pub target: Option<i64>,
    pub attributes: Option<serde_json::Value>,
}

/// An open, unsuppressed finding.
#[derive(Debug, Clone)]
pub struct ThreatFinding {
    pub id: i64,
    pub node_id: i64,
    pub kind: String,
    pub rule_id: String,
    pub severity: String,
    pub evidence: Option<serde_json::Value>,
}

/// The runtime evidence an agent reported for its host.
#[derive(Debug, Clone)]
pub struct HostRuntime {
    pub machine_id: String,
    pub runtime: RuntimeUse,
}

/// Everything the threat input is built from.
#[derive(Debug, Clone, Default)]
pub struct ThreatData {
    pub nodes: Vec<ThreatNode>,
    pub edges: Vec<ThreatEdge>,
    pub findings: Vec<ThreatFinding>,
    pub runtime: Vec<HostRuntime>,
    /// Active processes left out: no socket edge, no open finding.
    pub processes_left_out: usize,
    /// Kubernetes Services and Ingresses (from `nodes` and `edges`, see
    /// [`kube_objects`]).
    pub kube: KubeObjects,
}

/// An active Kubernetes Service or Ingress node.
#[derive(Debug, Clone)]
pub struct KubeObject {
    pub id: i64,
    /// The object's UID.
    pub key: String,
    pub name: String,
    pub attributes: Option<serde_json::Value>,
    /// Services: the active pod nodes their active `selects` edges reach.
    pub pods: Vec<i64>,
}

/// The Kubernetes objects the threat input needs.
#[derive(Debug, Clone, Default)]
pub struct KubeObjects {
    pub services: Vec<KubeObject>,
    pub ingresses: Vec<KubeObject>,
}

/// Rows per page of the threat input's reads.
const PAGE: usize = 10_000;

fn json_opt(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

impl Store {
    /// Reads the threat input's data (several queries; not one snapshot:
    /// the next fingerprint check catches a change made in between).
    ///
    /// Only what the graph uses is read: attributes of hosts and pods
    /// (addresses, cloud facts, namespace) and of `listens` and `connects`
    /// edges, not of processes or containment edges; and a process is kept
    /// only when it has a socket edge or an open finding, since a process
    /// with neither can be on no path and exposes nothing. Large tables are
    /// read in pages of [`PAGE`] rows by id, so other statements (agent
    /// reports on SQLite's single connection) run in between.
    pub async fn threat_data(&self) -> Result<ThreatData, StoreError> {
        let mut edges = Vec::new();
        self.paged(
            "SELECT id, kind, source_id, target_id, CASE WHEN kind IN ('listens', 'connects') \
             THEN attributes END FROM edges WHERE active = 1",
            "edges.id",
            |r| {
                edges.push(ThreatEdge {
                    kind: r.text(1)?,
                    source: r.int(2)?,
                    target: r.opt_int(3)?,
                    attributes: json_opt(r.opt_text(4)?),
                });
                Ok(())
            },
        )
        .await?;
        let mut findings = Vec::new();
        self.paged(
            &format!(
                "SELECT findings.id, findings.node_id, findings.kind, findings.rule_id, \
                 findings.severity, findings.evidence FROM findings JOIN nodes n \
                 ON n.id = findings.node_id WHERE findings.status = 'open' AND n.active = 1 \
                 AND {NOT_SUPPRESSED}"
            ),
            "findings.id",
            |r| {
                findings.push(ThreatFinding {
                    id: r.int(0)?,
                    node_id: r.int(1)?,
                    kind: r.text(2)?,
                    rule_id: r.text(3)?,
                    severity: r.text(4)?,
                    evidence: json_opt(r.opt_text(5)?),
                });
                Ok(())
            },
        )
        .await?;
        // Processes that matter: with a socket edge or a finding.
        let mut wanted: HashSet<i64> = findings.iter().map(|f| f.node_id).collect();
        for e in &edges {
            if matches!(e.kind.as_str(), "listens" | "connects") {
                wanted.insert(e.source);
                wanted.extend(e.target);
            }
        }
        let mut nodes = Vec::new();
        let mut skipped = 0usize;
        self.paged(
            "SELECT id, kind, node_key, name, CASE WHEN kind IN ('host', 'pod', 'service', \
             'ingress') THEN attributes END FROM nodes WHERE active = 1",
            "nodes.id",
            |r| {
                let id = r.int(0)?;
                let kind = r.text(1)?;
                if kind == "process" && !wanted.contains(&id) {
                    skipped += 1;
                    return Ok(());
                }
                nodes.push(ThreatNode {
                    id,
                    kind,
                    key: r.text(2)?,
                    name: r.text(3)?,
                    attributes: json_opt(r.opt_text(4)?),
                });
                Ok(())
            },
        )
        .await?;
        let mut runtime = Vec::new();
        for r in self
            .db
            .query(
                "SELECT machine_id, runtime FROM agent_runtime r JOIN agents a \
                 ON a.id = r.agent_id WHERE a.revoked_at IS NULL ORDER BY r.agent_id",
                vec![],
            )
            .await?
        {
            let machine_id = r.text(0)?;
            let rt: RuntimeUse = serde_json::from_str(&r.text(1)?)
                .map_err(|e| StoreError::Decode(format!("agent_runtime.runtime: {e}")))?;
            runtime.push(HostRuntime {
                machine_id,
                runtime: rt,
            });
        }
        let kube = kube_objects(&nodes, &edges);
        Ok(ThreatData {
            nodes,
            edges,
            findings,
            runtime,
            processes_left_out: skipped,
            kube,
        })
    }

    /// Runs `select` (whose first column is `id_column`, and which has a
    /// `WHERE` clause) page by page in id order, giving each row to `each`.
    async fn paged(
        &self,
        select: &str,
        id_column: &str,
        mut each: impl FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let sql = format!("{select} AND {id_column} > ? ORDER BY {id_column} LIMIT {PAGE}");
        let mut after = 0i64;
        loop {
            let rows = self.db.query(&sql, vec![after.into()]).await?;
            for r in &rows {
                each(r)?;
            }
            match rows.last() {
                Some(last) if rows.len() == PAGE => after = last.int(0)?,
                _ => return Ok(()),
            }
        }
    }

    /// Counts and latest change times of what the threat input reads: when
    /// they are equal, nothing the analysis depends on changed (to the
    /// second; see `crate::threat` for how the same second is handled).
    pub async fn threat_fingerprint(&self) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT \
                 (SELECT COUNT(*) FROM nodes WHERE active = 1), \
                 (SELECT COALESCE(MAX(last_seen), 0) FROM nodes), \
                 (SELECT COUNT(*) FROM edges WHERE active = 1), \
                 (SELECT COALESCE(MAX(last_seen), 0) FROM edges), \
                 (SELECT COUNT(*) FROM findings WHERE status = 'open'), \
                 (SELECT COALESCE(MAX(last_seen), 0) FROM findings), \
                 (SELECT COUNT(*) FROM suppressions), \
                 (SELECT COALESCE(MAX(id), 0) FROM suppressions), \
                 (SELECT COUNT(*) FROM agent_runtime), \
                 (SELECT COALESCE(MAX(updated_at), 0) FROM agent_runtime), \
                 (SELECT COUNT(*) FROM agents WHERE revoked_at IS NULL)",
                vec![],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(Vec::new());
        };
        (0..11).map(|i| r.int(i)).collect()
    }

    /// The ids of the findings scan `scan_id` reported; `None` when there
    /// is no such scan.
    pub async fn scan_finding_ids(&self, scan_id: i64) -> Result<Option<Vec<i64>>, StoreError> {
        let exists = self
            .db
            .query("SELECT 1 FROM scans WHERE id = ?", vec![scan_id.into()])
            .await?;
        if exists.is_empty() {
            return Ok(None);
        }
        let rows = self
            .db
            .query(
                "SELECT finding_id FROM scan_findings WHERE scan_id = ? ORDER BY finding_id",
                vec![scan_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| r.int(0))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The active Service and Ingress nodes among `nodes`, each Service with
/// the active pods its active `selects` edges reach.
fn kube_objects(nodes: &[ThreatNode], edges: &[ThreatEdge]) -> KubeObjects {
    let mut out = KubeObjects::default();
    let mut at: HashMap<i64, usize> = HashMap::new();
    let mut pods: HashSet<i64> = HashSet::new();
    for n in nodes {
        let o = || KubeObject {
            id: n.id,
            key: n.key.clone(),
            name: n.name.clone(),
            attributes: n.attributes.clone(),
            pods: Vec::new(),
        };
        match n.kind.as_str() {
            "service" => {
                at.insert(n.id, out.services.len());
                out.services.push(o());
            }
            "ingress" => out.ingresses.push(o()),
            "pod" => {
                pods.insert(n.id);
            }
            _ => {}
        }
    }
    for e in edges.iter().filter(|e| e.kind == "selects") {
        if let (Some(i), Some(pod)) = (at.get(&e.source), e.target.filter(|t| pods.contains(t))) {
            out.services[*i].pods.push(pod);
        }
    }
    out
}
