//! The analysis: exposure, the attack graph, hop distances, lateral
//! movement, and every finding's score, computed once; queries read it.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::GraphError;
use crate::exposure::{Exposure, ExposureEvidence, exposures};
use crate::graph::{Graph, NodeIx};
use crate::lateral::{Lateral, credentials};
use crate::model::{FindingKind, GraphInput, NodeKind};
use crate::runtime::{UnknownUse, Use};
use crate::score::{Context, Reach, score};

/// How an attack step moves from one node to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// internet -> node, by `Analysis::exposures[i]`.
    Exposure(u32),
    /// Parent -> child containment (runs, holds, process_in, from_image).
    Contains,
    /// A process -> the host or container it runs in.
    RunsIn,
    /// Client -> server, by input edge `i`.
    Connection(u32),
    /// A secret on the source names the target (finding `i`).
    Credential(u32),
}

/// Counts over the whole graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Nodes, the internet node not counted.
    pub nodes: usize,
    /// Nodes the internet reaches directly.
    pub exposed: usize,
    /// Nodes with a path from the internet (the exposed ones included).
    pub reachable: usize,
    pub findings: usize,
    /// Lateral-movement edges from credentials.
    pub credentials: usize,
    /// Findings whose score is 100.
    pub at_maximum: usize,
}

/// The computed result.
#[derive(Debug)]
pub struct Analysis {
    pub(crate) graph: Graph,
    pub(crate) exposures: Vec<Exposure>,
    pub(crate) dist: Vec<u32>,
    pub(crate) parent: Vec<Option<(NodeIx, Via)>>,
    /// Raw (unclamped) scores, the ranking key.
    pub(crate) scores: Vec<f32>,
    /// Every finding, best first by raw score (ties: input order).
    pub(crate) order: Vec<u32>,
    /// Best raw finding score per node (negative infinity: none).
    pub(crate) node_best: Vec<f32>,
    pub(crate) laterals: Vec<(NodeIx, NodeIx, u32, String)>,
    pub(crate) malware_here: Vec<u32>,
    pub(crate) secret_here: Vec<u32>,
    pub(crate) credential_targets: HashMap<u32, u32>,
}

const UNREACHED: u32 = u32::MAX;

impl Analysis {
    /// Builds the graph and computes everything.
    ///
    /// # Errors
    ///
    /// What [`Graph::build`] refuses.
    pub fn run(input: GraphInput) -> Result<Analysis, GraphError> {
        Ok(Analysis::from_graph(Graph::build(input)?))
    }

    /// Computes everything over a built graph.
    #[must_use]
    pub fn from_graph(graph: Graph) -> Analysis {
        let n = graph.node_count();
        let exposures = exposures(&graph);
        let laterals = credentials(&graph);
        let mut credential_targets: HashMap<u32, u32> = HashMap::new();
        for (_, _, f, _) in &laterals {
            *credential_targets.entry(*f).or_default() += 1;
        }
        let (dist, parent) = bfs(&graph, &exposures, &laterals);
        let mut malware_here = vec![0u32; n];
        let mut secret_here = vec![0u32; n];
        for (f, &node) in graph.input.findings.iter().zip(&graph.finding_node) {
            match f.kind {
                FindingKind::Malware => malware_here[node as usize] += 1,
                FindingKind::Secret => secret_here[node as usize] += 1,
                _ => {}
            }
        }
        let mut a = Analysis {
            graph,
            exposures,
            dist,
            parent,
            scores: Vec::new(),
            order: Vec::new(),
            node_best: vec![f32::NEG_INFINITY; n],
            laterals,
            malware_here,
            secret_here,
            credential_targets,
        };
        a.scores = a.score_all();
        let scores = &a.scores;
        let by_score = |x: &u32, y: &u32| {
            scores[*y as usize]
                .total_cmp(&scores[*x as usize])
                .then(x.cmp(y))
        };
        let mut order: Vec<u32> = (0..u32::try_from(scores.len()).unwrap_or(u32::MAX)).collect();
        order.sort_unstable_by(by_score);
        for list in &mut a.graph.node_findings {
            list.sort_unstable_by(by_score);
        }
        for (node, list) in a.graph.node_findings.iter().enumerate() {
            if let Some(best) = list.first() {
                a.node_best[node] = scores[*best as usize];
            }
        }
        a.order = order;
        a
    }

    fn score_all(&self) -> Vec<f32> {
        let total = self.graph.input.findings.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, 8);
        let chunk = total.div_ceil(threads).max(1);
        let mut out = vec![0.0f32; total];
        std::thread::scope(|s| {
            for (ci, slot) in out.chunks_mut(chunk).enumerate() {
                s.spawn(move || {
                    for (j, v) in slot.iter_mut().enumerate() {
                        let fi = ci * chunk + j;
                        #[allow(clippy::cast_possible_truncation)]
                        {
                            *v = score(&self.graph.input.findings[fi], &self.context(fi), None)
                                as f32;
                        }
                    }
                });
            }
        });
        out
    }

    /// The facts the score of finding `fi` reads.
    pub(crate) fn context(&self, fi: usize) -> Context<'_> {
        let f = &self.graph.input.findings[fi];
        let node = self.graph.finding_node[fi];
        let runtime = f
            .vulnerability
            .as_ref()
            .and_then(|v| v.package.as_ref())
            .map(|p| match &self.graph.runtime[node as usize] {
                None => Use::Unknown(UnknownUse::NoEvidence),
                Some(files) => {
                    files.package_use(p, self.graph.owned_files(node, &p.name, &p.version))
                }
            });
        Context {
            reach: self.reach_of(node),
            runtime,
            malware_here: self.malware_here[node as usize],
            secret_here: self.secret_here[node as usize],
            credential_targets: self
                .credential_targets
                .get(&u32::try_from(fi).unwrap_or(u32::MAX))
                .copied()
                .unwrap_or(0),
        }
    }

    pub(crate) fn reach_of(&self, node: NodeIx) -> Reach {
        match self.dist[node as usize] {
            UNREACHED if self.graph.node(node).observed => Reach::Isolated,
            UNREACHED => Reach::Unknown,
            hops => Reach::Hops { hops },
        }
    }

    /// The graph.
    #[must_use]
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Every node (the internet node excepted) with its distance from the
    /// internet.
    pub fn reaches(&self) -> impl Iterator<Item = (&str, Reach)> {
        (0..self.graph.node_count())
            .map(|i| NodeIx::try_from(i).unwrap_or(NodeIx::MAX))
            .filter(|&i| i != self.graph.internet)
            .map(|i| (self.graph.node(i).id.as_str(), self.reach_of(i)))
    }

    /// Counts over the whole graph.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut exposed: Vec<NodeIx> = self.exposures.iter().map(|e| e.node).collect();
        exposed.sort_unstable();
        exposed.dedup();
        Summary {
            nodes: self.graph.node_count().saturating_sub(1),
            exposed: exposed.len(),
            reachable: self.parent.iter().filter(|p| p.is_some()).count(),
            findings: self.scores.len(),
            credentials: self.laterals.len(),
            at_maximum: self.at_maximum(),
        }
    }

    /// How far the internet is from a node.
    #[must_use]
    pub fn reach(&self, node_id: &str) -> Option<Reach> {
        self.graph.node_index(node_id).map(|i| self.reach_of(i))
    }

    /// Every exposure: the node's id and the evidence.
    pub fn exposures(&self) -> impl Iterator<Item = (&str, &ExposureEvidence)> {
        self.exposures
            .iter()
            .map(|e| (self.graph.node(e.node).id.as_str(), &e.evidence))
    }

    /// Why a node is exposed to the internet (empty when it is not exposed
    /// directly).
    ///
    /// # Errors
    ///
    /// [`GraphError::UnknownNode`] when no node has this id.
    pub fn exposures_of(&self, node_id: &str) -> Result<Vec<&ExposureEvidence>, GraphError> {
        let n = self.graph.lookup("the query", node_id)?;
        Ok(self
            .exposures
            .iter()
            .filter(|e| e.node == n)
            .map(|e| &e.evidence)
            .collect())
    }

    /// The lateral-movement edges credentials created.
    #[must_use]
    pub fn laterals(&self) -> Vec<Lateral> {
        self.laterals
            .iter()
            .map(|(a, b, f, m)| Lateral {
                from: self.graph.node(*a).id.clone(),
                to: self.graph.node(*b).id.clone(),
                finding: self.graph.input.findings[*f as usize].id.clone(),
                matched: m.clone(),
            })
            .collect()
    }

    /// A finding's score, without reasons.
    #[must_use]
    pub fn score_of(&self, finding_id: &str) -> Option<f64> {
        let i = *self.graph.finding_index.get(finding_id)?;
        Some(self.stored_score(i))
    }

    /// A stored score as the f64 the reasons produce (one decimal).
    pub(crate) fn stored_score(&self, fi: u32) -> f64 {
        // The stored key is single precision (51.35 is kept as 51.349998):
        // rounding it can show 0.1 less or more than `explain`, which
        // scores in double precision. Score again the same way instead
        // (a few lookups; used for the handful of findings an answer lists).
        let i = fi as usize;
        crate::score::shown(crate::score::score(
            &self.graph.input.findings[i],
            &self.context(i),
            None,
        ))
    }
}

/// Builds the attack adjacency (CSR) and runs a breadth-first search from
/// the internet node. Returns hop counts and the parent step of each node.
fn bfs(
    g: &Graph,
    exposures: &[Exposure],
    laterals: &[(NodeIx, NodeIx, u32, String)],
) -> (Vec<u32>, Vec<Option<(NodeIx, Via)>>) {
    let n = g.node_count();
    let mut edges: Vec<(NodeIx, NodeIx, Via)> = Vec::new();
    for (i, e) in exposures.iter().enumerate() {
        edges.push((
            g.internet,
            e.node,
            Via::Exposure(u32::try_from(i).unwrap_or(u32::MAX)),
        ));
    }
    for (p, kids) in g.children.iter().enumerate() {
        let p = NodeIx::try_from(p).unwrap_or(NodeIx::MAX);
        for &c in kids {
            edges.push((p, c, Via::Contains));
            if g.node(c).kind == NodeKind::Process {
                edges.push((c, p, Via::RunsIn));
            }
        }
    }
    for l in &g.links {
        edges.push((l.client, l.server, Via::Connection(l.edge)));
    }
    for (a, b, f, _) in laterals {
        edges.push((*a, *b, Via::Credential(*f)));
    }
    // Stable sort keeps the insertion order within a node: deterministic paths.
    edges.sort_by_key(|e| e.0);
    let mut offsets = vec![0usize; n + 1];
    for e in &edges {
        offsets[e.0 as usize + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut dist = vec![UNREACHED; n];
    let mut parent = vec![None; n];
    let mut queue = VecDeque::new();
    dist[g.internet as usize] = 0;
    queue.push_back(g.internet);
    while let Some(u) = queue.pop_front() {
        let d = dist[u as usize] + 1;
        for &(_, v, via) in &edges[offsets[u as usize]..offsets[u as usize + 1]] {
            if dist[v as usize] == UNREACHED {
                dist[v as usize] = d;
                parent[v as usize] = Some((u, via));
                queue.push_back(v);
            }
        }
    }
    (dist, parent)
}
