//! ThreatGraph: of thousands of findings, the few an attacker can reach and
//! use, and why.
//!
//! Input: a [`GraphInput`] (nodes, edges, Kubernetes Services and Ingresses,
//! cloud security-group rules, findings, runtime evidence, package file
//! lists). [`Analysis::run`] validates it ([`GraphError`] on bad input,
//! never a panic), then computes once:
//!
//! 1. **exposure** ([`exposure`]): which nodes the internet reaches
//!    directly, each with its evidence;
//! 2. **the attack graph**: internet -> exposed node, containment (host runs
//!    container, pod holds container, host/container runs process, container
//!    runs image), a compromised process gives its container or host,
//!    observed connections (client -> server), and lateral movement where a
//!    secret found on one node names exactly one other monitored node
//!    (`credential`); hop distances from the internet by breadth-first search;
//! 3. **runtime use** ([`runtime`]): whether each vulnerable package is loaded;
//! 4. **the score** ([`score`]) of every finding, with its reasons.
//!
//! Queries then read the result: [`Analysis::top`], [`Analysis::top_for_node`],
//! [`Analysis::top_for_scan`], [`Analysis::explain`], [`Analysis::path_to`],
//! [`Analysis::top_paths`], [`Analysis::groups`].
//!
//! # Example
//!
//! ```
//! use rampart_graph::{Analysis, GraphInput, Reach};
//!
//! let input: GraphInput = serde_json::from_value(serde_json::json!({
//!     "nodes": [
//!         {"id": "web", "kind": "host", "addresses": ["10.0.0.2/24", "34.120.1.2"]},
//!         {"id": "web/nginx", "kind": "process"},
//!     ],
//!     "edges": [
//!         {"kind": "process_in", "parent": "web", "process": "web/nginx"},
//!         {"kind": "listens", "node": "web/nginx", "proto": "tcp", "address": "0.0.0.0", "port": 443},
//!     ],
//!     "findings": [{
//!         "id": "f1", "node": "web", "kind": "vulnerability", "severity": "high",
//!         "vulnerability": {"cvss_score": 7.5, "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "kev": true},
//!     }],
//! }))?;
//! let analysis = Analysis::run(input)?;
//! assert_eq!(analysis.reach("web/nginx"), Some(Reach::Hops { hops: 1 }));
//! let top = analysis.top(10);
//! // 30 (CVSS) + 8 (network) + 15 (KEV) + 17 (2 hops: nginx, then its host).
//! assert_eq!(top[0].score, 70.0);
//! for reason in &top[0].reasons {
//!     println!("{:+5.1}  {:?}: {}", reason.points, reason.factor, reason.detail);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The score
//!
//! 0-100, the sum of these contributions, clamped, one decimal:
//!
//! | factor | contribution |
//! |---|---|
//! | `cvss` | 4 x the CVSS base score (0-40) |
//! | `severity` | without a CVSS score: critical 36, high 28, medium 18, low 8, info 2, unknown 16 |
//! | `attack_vector` | network +8, adjacent +3, local 0, physical -4; unknown 0 (shown) |
//! | `epss` | +15 x the EPSS probability |
//! | `kev` / `ransomware` | in CISA KEV +15; known ransomware use +5 more |
//! | `fix` | a fixed version exists +2 |
//! | `runtime` | in use +10; not in use -15; unknown 0 (shown) |
//! | `exposure` | 1 hop +20, 2 +17, 3 +14, 4 +11, 5+ +8; isolated -10; unknown 0 (shown) |
//! | `malware_here` / `secret_here` | malware on the same node +8; a secret on the same node +4 (vulnerabilities) |
//! | `malware` | a malware finding +20 |
//! | `credential` | a secret naming other monitored nodes +5 each, at most +10 |
//!
//! "Unknown" is never assumed either way: a standalone scan (nodes with
//! `observed: false`, no runtime evidence) gets 0 for exposure and runtime,
//! and its reasons say both are unknown. The full rules are in
//! `docs/threatgraph.md`.

pub mod addr;
mod analysis;
pub mod cvss;
mod error;
pub mod exposure;
mod graph;
mod group;
mod lateral;
pub mod model;
mod paths;
mod rank;
pub mod runtime;
pub mod score;
pub mod synth;

pub use addr::{AddressClass, Cidr, classify, parse_address};
pub use analysis::{Analysis, Summary};
pub use error::GraphError;
pub use exposure::ExposureEvidence;
pub use graph::{Graph, NodeIx};
pub use group::{GroupBy, GroupSummary};
pub use lateral::{Lateral, target_host};
pub use model::*;
pub use paths::{AttackPath, FINDINGS_PER_NODE, PathFinding, Step, StepKind};
pub use rank::{RankedFinding, RuntimeUse};
pub use score::{Factor, Reach, Reason};
