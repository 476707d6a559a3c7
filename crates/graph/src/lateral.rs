//! Lateral movement: a secret found on one node that names another.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::graph::{Graph, NodeIx};
use crate::model::{FindingKind, NodeKind};

/// A lateral-movement edge created from a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lateral {
    pub from: String,
    pub to: String,
    /// The secret finding.
    pub finding: String,
    /// The name or address in its evidence that matched.
    pub matched: String,
}

/// The host part of a credential target: `postgres://u:p@db.internal:5432/x`
/// -> `db.internal`, `[fd00::1]:22` -> `fd00::1`, `10.0.0.5` -> `10.0.0.5`.
#[must_use]
pub fn target_host(t: &str) -> &str {
    let t = t.trim();
    let t = t.split_once("://").map_or(t, |(_, r)| r);
    let t = t.split(['/', '?', '#']).next().unwrap_or(t);
    let t = t.rsplit_once('@').map_or(t, |(_, h)| h);
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    if t.matches(':').count() == 1 {
        return t.split_once(':').map_or(t, |(h, _)| h);
    }
    t
}

/// Secret findings whose evidence names exactly one other monitored node.
pub(crate) fn credentials(g: &Graph) -> Vec<(NodeIx, NodeIx, u32, String)> {
    let secrets: Vec<usize> = g
        .input
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FindingKind::Secret && !f.targets.is_empty())
        .map(|(i, _)| i)
        .collect();
    if secrets.is_empty() {
        return Vec::new();
    }
    let mut names: HashMap<String, Vec<NodeIx>> = HashMap::new();
    for (i, node) in g.input.nodes.iter().enumerate() {
        if !matches!(
            node.kind,
            NodeKind::Host | NodeKind::Container | NodeKind::Pod
        ) {
            continue;
        }
        let i = NodeIx::try_from(i).unwrap_or(NodeIx::MAX);
        let mut keys: Vec<String> = node
            .hostnames
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if !node.name.is_empty() {
            keys.push(node.name.to_ascii_lowercase());
        }
        for a in &node.addresses {
            if let Ok(ip) = crate::addr::parse_address(a) {
                keys.push(ip.to_string());
            }
        }
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            names.entry(k).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for fi in secrets {
        let f = &g.input.findings[fi];
        let from = g.finding_node[fi];
        let mut seen = Vec::new();
        for t in &f.targets {
            let host = target_host(t);
            let key = crate::addr::parse_address(host)
                .map_or_else(|_| host.to_ascii_lowercase(), |ip| ip.to_string());
            // Only an unambiguous match: a private address reused in two
            // networks identifies nothing.
            if let Some([to]) = names.get(&key).map(Vec::as_slice)
                && *to != from
                && !seen.contains(to)
            {
                seen.push(*to);
                out.push((from, *to, u32::try_from(fi).unwrap_or(u32::MAX), t.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::target_host;

    #[test]
    fn credential_target_hosts() {
        for (t, want) in [
            ("postgres://app:pw@db.internal:5432/app", "db.internal"),
            ("db.internal:5432", "db.internal"),
            ("10.0.0.5", "10.0.0.5"),
            ("[fd00::1]:22", "fd00::1"),
            ("fd00::1", "fd00::1"),
            ("https://api.example.com/v1?x=1", "api.example.com"),
            ("", ""),
        ] {
            assert_eq!(target_host(t), want, "{t}");
        }
    }
}
