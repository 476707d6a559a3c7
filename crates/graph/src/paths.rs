//! Attack paths: the shortest route from the internet to a node, step by
//! step, with the findings along it.

use serde::{Deserialize, Serialize};

use crate::GraphError;
use crate::analysis::{Analysis, Via};
use crate::graph::NodeIx;
use crate::model::{Edge, NodeKind};

/// What one step of a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The internet reaches the node (see the evidence).
    Exposure,
    /// A host runs a container.
    Runs,
    /// A pod holds a container.
    Holds,
    /// A host or container runs a process.
    ProcessIn,
    /// A compromised process gives its host or container.
    RunsIn,
    /// A container runs its image's code.
    FromImage,
    /// An observed connection, client to server.
    Connects,
    /// A credential found on one node opens the other.
    Credential,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub from: String,
    pub to: String,
    pub kind: StepKind,
    /// Why the step exists, in words.
    pub evidence: String,
}

/// A finding on a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathFinding {
    pub node: String,
    pub id: String,
    pub score: f64,
}

/// The shortest path from the internet to `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackPath {
    pub target: String,
    /// The number of steps.
    pub hops: u32,
    pub steps: Vec<Step>,
    /// The best findings of each node on the path (at most
    /// [`FINDINGS_PER_NODE`] each), in path order.
    pub findings: Vec<PathFinding>,
    /// The best finding score at the target (0 when it has none).
    pub score: f64,
}

/// How many findings of each node a path lists.
pub const FINDINGS_PER_NODE: usize = 3;

impl Analysis {
    fn step(&self, from: NodeIx, to: NodeIx, via: Via) -> Step {
        let g = &self.graph;
        let (kind, evidence) = match via {
            Via::Exposure(i) => (
                StepKind::Exposure,
                self.exposures[i as usize].evidence.to_string(),
            ),
            Via::Contains => match (g.node(from).kind, g.node(to).kind) {
                (NodeKind::Pod, _) => (StepKind::Holds, "pod holds container".to_string()),
                (_, NodeKind::Process) => (StepKind::ProcessIn, "process runs here".to_string()),
                (_, NodeKind::Image) => {
                    (StepKind::FromImage, "container runs this image".to_string())
                }
                _ => (StepKind::Runs, "host runs container".to_string()),
            },
            Via::RunsIn => (
                StepKind::RunsIn,
                "a compromised process gives the place it runs in".to_string(),
            ),
            Via::Connection(e) => {
                let text = match g.input.edges.get(e as usize) {
                    Some(Edge::Connects {
                        direction,
                        peer_address,
                        peer_port,
                        local_port,
                        ..
                    }) => format!(
                        "observed {direction:?} connection, peer {peer_address}{}{}",
                        peer_port.map(|p| format!(":{p}")).unwrap_or_default(),
                        local_port
                            .map(|p| format!(", local port {p}"))
                            .unwrap_or_default()
                    )
                    .to_lowercase(),
                    _ => "observed connection".to_string(),
                };
                (StepKind::Connects, text)
            }
            Via::Credential(f) => {
                let matched = self
                    .laterals
                    .iter()
                    .find(|l| l.2 == f && l.1 == to)
                    .map_or("", |l| l.3.as_str());
                (
                    StepKind::Credential,
                    format!("secret {} names {matched}", g.input.findings[f as usize].id),
                )
            }
        };
        Step {
            from: g.node(from).id.clone(),
            to: g.node(to).id.clone(),
            kind,
            evidence,
        }
    }

    fn path_of(&self, target: NodeIx) -> Option<AttackPath> {
        let mut chain = Vec::new();
        let mut cur = target;
        while let Some((p, via)) = self.parent[cur as usize] {
            chain.push((p, cur, via));
            cur = p;
        }
        if cur != self.graph.internet || target == self.graph.internet {
            return None;
        }
        chain.reverse();
        let mut findings = Vec::new();
        for &(_, node, _) in &chain {
            for &fi in self.graph.node_findings[node as usize]
                .iter()
                .take(FINDINGS_PER_NODE)
            {
                let s = self.stored_score(fi);
                findings.push(PathFinding {
                    node: self.graph.node(node).id.clone(),
                    id: self.graph.input.findings[fi as usize].id.clone(),
                    score: s,
                });
            }
        }
        Some(AttackPath {
            target: self.graph.node(target).id.clone(),
            hops: u32::try_from(chain.len()).unwrap_or(u32::MAX),
            steps: chain
                .iter()
                .map(|&(a, b, via)| self.step(a, b, via))
                .collect(),
            findings,
            score: self.graph.node_findings[target as usize]
                .first()
                .map_or(0.0, |&fi| self.stored_score(fi)),
        })
    }

    /// The shortest path from the internet to a node; `None` when it has none.
    ///
    /// # Errors
    ///
    /// [`GraphError::UnknownNode`] when no node has this id.
    pub fn path_to(&self, node_id: &str) -> Result<Option<AttackPath>, GraphError> {
        let n = self.graph.lookup("the query", node_id)?;
        Ok(self.path_of(n))
    }

    /// The `limit` paths that end at the reachable nodes with the best
    /// findings, best first (ties: fewer hops, then input order).
    #[must_use]
    pub fn top_paths(&self, limit: usize) -> Vec<AttackPath> {
        let mut targets: Vec<NodeIx> = (0..self.graph.node_count())
            .filter(|&i| !self.graph.node_findings[i].is_empty() && self.parent[i].is_some())
            .map(|i| NodeIx::try_from(i).unwrap_or(NodeIx::MAX))
            .collect();
        let cmp = |a: &NodeIx, b: &NodeIx| {
            self.node_best[*b as usize]
                .total_cmp(&self.node_best[*a as usize])
                .then(self.dist[*a as usize].cmp(&self.dist[*b as usize]))
                .then(a.cmp(b))
        };
        if targets.len() > limit && limit > 0 {
            targets.select_nth_unstable_by(limit - 1, cmp);
            targets.truncate(limit);
        }
        targets.sort_unstable_by(cmp);
        targets
            .into_iter()
            .take(limit)
            .filter_map(|t| self.path_of(t))
            .collect()
    }
}
