//! Queries that rank findings: top-N per fleet, node and scan, and one
//! finding explained.

use serde::{Deserialize, Serialize};

use crate::GraphError;
use crate::analysis::Analysis;
use crate::model::FindingKind;
use crate::runtime::{UnknownUse, Use};
use crate::score::{Reach, Reason, score, shown};

/// Whether the vulnerable package is in use, as shown with a ranked finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "use", rename_all = "snake_case")]
pub enum RuntimeUse {
    InUse {
        file: String,
    },
    NotInUse,
    Unknown {
        reason: UnknownUse,
    },
    /// Not a vulnerability.
    NotApplicable,
}

/// A finding with its score and the reasons for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedFinding {
    pub id: String,
    pub node: String,
    pub kind: FindingKind,
    pub rule_id: String,
    pub severity: rampart_model::Severity,
    pub score: f64,
    #[serde(flatten)]
    pub reach: Reach,
    pub runtime: RuntimeUse,
    pub reasons: Vec<Reason>,
}

impl Analysis {
    /// One finding ranked, with its reasons.
    #[must_use]
    pub fn explain(&self, finding_id: &str) -> Option<RankedFinding> {
        let i = *self.graph.finding_index.get(finding_id)?;
        Some(self.ranked(i as usize))
    }

    pub(crate) fn ranked(&self, fi: usize) -> RankedFinding {
        let f = &self.graph.input.findings[fi];
        let cx = self.context(fi);
        let mut reasons = Vec::new();
        let s = shown(score(f, &cx, Some(&mut reasons)));
        let runtime = match (f.kind, cx.runtime) {
            (FindingKind::Vulnerability, Some(Use::InUse(file))) => RuntimeUse::InUse {
                file: file.to_string(),
            },
            (FindingKind::Vulnerability, Some(Use::NotInUse)) => RuntimeUse::NotInUse,
            (FindingKind::Vulnerability, Some(Use::Unknown(reason))) => {
                RuntimeUse::Unknown { reason }
            }
            (FindingKind::Vulnerability, None) => RuntimeUse::Unknown {
                reason: UnknownUse::NoPackage,
            },
            _ => RuntimeUse::NotApplicable,
        };
        RankedFinding {
            id: f.id.clone(),
            node: f.node.clone(),
            kind: f.kind,
            rule_id: f.rule_id.clone(),
            severity: f.severity,
            score: s,
            reach: cx.reach,
            runtime,
            reasons,
        }
    }

    /// How many findings score in each ten-point band: `[0, 10)`, `[10,
    /// 20)`, ... `[90, 100]` (100 counts in the last band).
    #[must_use]
    pub fn score_distribution(&self) -> [usize; 10] {
        let mut bands = [0usize; 10];
        for &s in &self.scores {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let band = ((s.clamp(0.0, 100.0) / 10.0).floor() as usize).min(9);
            bands[band] += 1;
        }
        bands
    }

    /// How many findings have the maximum score, 100.
    #[must_use]
    pub fn at_maximum(&self) -> usize {
        self.scores.iter().filter(|&&s| s >= 100.0).count()
    }

    /// The fleet's `limit` most exploitable findings.
    #[must_use]
    pub fn top(&self, limit: usize) -> Vec<RankedFinding> {
        self.order
            .iter()
            .take(limit)
            .map(|&i| self.ranked(i as usize))
            .collect()
    }

    /// A node's `limit` most exploitable findings.
    ///
    /// # Errors
    ///
    /// [`GraphError::UnknownNode`] when no node has this id.
    pub fn top_for_node(
        &self,
        node_id: &str,
        limit: usize,
    ) -> Result<Vec<RankedFinding>, GraphError> {
        let n = self.graph.lookup("the query", node_id)?;
        Ok(self.graph.node_findings[n as usize]
            .iter()
            .take(limit)
            .map(|&i| self.ranked(i as usize))
            .collect())
    }

    /// The `limit` most exploitable of a set of findings (one scan's).
    ///
    /// # Errors
    ///
    /// [`GraphError::UnknownFinding`] for an id that is not in the input.
    pub fn top_for_scan<S: AsRef<str>>(
        &self,
        finding_ids: &[S],
        limit: usize,
    ) -> Result<Vec<RankedFinding>, GraphError> {
        let mut ix = finding_ids
            .iter()
            .map(|id| {
                self.graph
                    .finding_index
                    .get(id.as_ref())
                    .copied()
                    .ok_or_else(|| GraphError::UnknownFinding {
                        id: id.as_ref().to_string(),
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        ix.sort_unstable();
        ix.dedup();
        let by_score = |x: &u32, y: &u32| {
            self.scores[*y as usize]
                .total_cmp(&self.scores[*x as usize])
                .then(x.cmp(y))
        };
        if ix.len() > limit && limit > 0 {
            ix.select_nth_unstable_by(limit - 1, by_score);
            ix.truncate(limit);
        }
        ix.sort_unstable_by(by_score);
        Ok(ix
            .into_iter()
            .take(limit)
            .map(|i| self.ranked(i as usize))
            .collect())
    }
}
