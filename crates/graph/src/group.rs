//! Grouped views for large graphs: nodes bucketed by cluster, namespace,
//! cloud account/region or host, with counts and the best scores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::graph::NodeIx;
use crate::model::{Node, NodeKind};

/// What to group by. A node without the attribute inherits it from its pod,
/// namespace, host or parent process's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Cluster,
    /// `cluster/namespace`.
    Namespace,
    Account,
    /// `account/region`.
    Region,
    Host,
    /// Namespace when known, else account/region, else host.
    Auto,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The group's key (`-` for nodes without one).
    pub key: String,
    pub nodes: usize,
    /// Nodes the internet reaches directly.
    pub exposed: usize,
    /// Nodes with any path from the internet.
    pub reachable: usize,
    pub findings: usize,
    /// The best findings in the group: (finding id, score).
    pub top: Vec<(String, f64)>,
}

impl Analysis {
    /// The nodes whose attributes a node inherits, nearest first.
    fn owners(&self, i: NodeIx) -> [Option<NodeIx>; 2] {
        let g = &self.graph;
        let u = i as usize;
        match g.node(i).kind {
            NodeKind::Process => [g.parent_of[u], None],
            NodeKind::Container => [g.pod_of[u], g.host_of[u]],
            NodeKind::Pod => [
                g.pod_of[u],
                g.children[u].first().and_then(|c| g.host_of[*c as usize]),
            ],
            _ => [None, None],
        }
    }

    fn inherited(&self, i: NodeIx, get: fn(&Node) -> Option<&String>) -> Option<&str> {
        let mut stack = vec![(i, 0u8)];
        while let Some((n, depth)) = stack.pop() {
            if let Some(v) = get(self.graph.node(n)) {
                return Some(v.as_str());
            }
            if depth < 4 {
                for o in self.owners(n).into_iter().flatten().rev() {
                    stack.push((o, depth + 1));
                }
            }
        }
        None
    }

    fn host_key(&self, i: NodeIx) -> Option<String> {
        let mut n = i;
        for _ in 0..4 {
            match self.graph.node(n).kind {
                NodeKind::Host => return Some(self.graph.node(n).id.clone()),
                NodeKind::Process => n = self.graph.parent_of[n as usize]?,
                NodeKind::Container => n = self.graph.host_of[n as usize]?,
                _ => return None,
            }
        }
        None
    }

    /// The group key of one node.
    fn group_key(&self, i: NodeIx, by: GroupBy) -> Option<String> {
        let pair = |a: Option<&str>, b: Option<&str>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(format!("{}/{}", a.unwrap_or("-"), b.unwrap_or("-"))),
        };
        match by {
            GroupBy::Cluster => self
                .inherited(i, |n| n.cluster.as_ref())
                .map(str::to_string),
            GroupBy::Namespace => {
                let ns = self.inherited(i, |n| n.namespace.as_ref())?;
                pair(self.inherited(i, |n| n.cluster.as_ref()), Some(ns))
            }
            GroupBy::Account => self
                .inherited(i, |n| n.account.as_ref())
                .map(str::to_string),
            GroupBy::Region => pair(
                self.inherited(i, |n| n.account.as_ref()),
                self.inherited(i, |n| n.region.as_ref()),
            ),
            GroupBy::Host => self.host_key(i),
            GroupBy::Auto => self
                .group_key(i, GroupBy::Namespace)
                .or_else(|| self.group_key(i, GroupBy::Region))
                .or_else(|| self.group_key(i, GroupBy::Host)),
        }
    }

    /// Every group, largest first, each with its `top` best findings.
    #[must_use]
    pub fn groups(&self, by: GroupBy, top: usize) -> Vec<GroupSummary> {
        let mut exposed = vec![false; self.graph.node_count()];
        for e in &self.exposures {
            exposed[e.node as usize] = true;
        }
        let mut acc: BTreeMap<String, (GroupSummary, Vec<u32>)> = BTreeMap::new();
        for (i, &is_exposed) in exposed.iter().enumerate() {
            let ix = NodeIx::try_from(i).unwrap_or(NodeIx::MAX);
            if ix == self.graph.internet {
                continue;
            }
            let key = self.group_key(ix, by).unwrap_or_else(|| "-".to_string());
            let (g, best) = acc.entry(key.clone()).or_insert_with(|| {
                (
                    GroupSummary {
                        key,
                        nodes: 0,
                        exposed: 0,
                        reachable: 0,
                        findings: 0,
                        top: Vec::new(),
                    },
                    Vec::new(),
                )
            });
            g.nodes += 1;
            g.exposed += usize::from(is_exposed);
            g.reachable += usize::from(self.parent[i].is_some());
            let list = &self.graph.node_findings[i];
            g.findings += list.len();
            // Node lists are sorted best first: the group's best are among
            // each node's first `top`.
            best.extend(list.iter().take(top));
        }
        let mut out: Vec<GroupSummary> = acc
            .into_values()
            .map(|(mut g, mut best)| {
                best.sort_unstable_by(|a, b| {
                    self.scores[*b as usize]
                        .total_cmp(&self.scores[*a as usize])
                        .then(a.cmp(b))
                });
                g.top = best
                    .into_iter()
                    .take(top)
                    .map(|f| {
                        (
                            self.graph.input.findings[f as usize].id.clone(),
                            self.stored_score(f),
                        )
                    })
                    .collect();
                g
            })
            .collect();
        out.sort_by(|a, b| b.nodes.cmp(&a.nodes).then_with(|| a.key.cmp(&b.key)));
        out
    }
}
