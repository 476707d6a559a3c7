//! Agent reports applied to the graph, inactivity and retention, and the
//! topology read.
//!
//! Each agent's last acknowledged state (its entities and host facts) is
//! kept in `agent_reports`; a report is merged into it, the agent's part of
//! the graph is derived again ([`crate::topology::derive`]) and compared
//! with the nodes and edges the agent owns (`agent_id`), and only the
//! differences are written, with the refresh of `last_seen`, in one
//! transaction guarded by the acknowledged sequence number. What the agent
//! no longer reports is released (`agent_id` NULL) and inactive at once
//! (images and namespaces, which several hosts may share, age out
//! instead); the reaper removes it later.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use rampart_model::agent::{Entity, EntityRef, HostFacts, Proto, Report};
use serde_json::Value as Json;

use super::inventory::{NODE_COLS, node_from};
use super::{Row, Stmt, Store, Value};
use crate::TopologyConfig;
use crate::addr::{self, AddrClass};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::Node;
use crate::topology::{
    Desired, DesiredEdge, DesiredNode, Edge, NodeRef, RemoteHost, RemoteListen, derive,
    host_addresses, remote_candidates,
};

/// Placeholders per `IN (...)` chunk.
const CHUNK: usize = 500;

/// How stale the `last_seen` of what a reporting agent owns may get before
/// a report refreshes it (the reaper keeps a reporting agent's nodes and
/// edges active whatever their `last_seen`).
pub const LAST_SEEN_REFRESH_SECS: i64 = 60;

/// The reaper's condition for a node: its agent (if any) has not reported
/// since the one bound time (`?`).
const NODE_OWNER_QUIET: &str =
    "NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = nodes.agent_id AND a.last_seen_at >= ?)";

/// [`NODE_OWNER_QUIET`] for an edge.
const EDGE_OWNER_QUIET: &str =
    "NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = edges.agent_id AND a.last_seen_at >= ?)";

/// What applying a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored; `seq` is now acknowledged.
    Acked {
        nodes_written: usize,
        edges_written: usize,
    },
    /// The delta's base is not the acknowledged report: send a snapshot.
    Resync,
}

/// An agent's acknowledged state.
#[derive(Debug, Clone)]
pub struct AgentState {
    pub acked_seq: u64,
    pub host: HostFacts,
    pub entities: BTreeMap<EntityRef, Entity>,
}

/// What one inactivity pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopologyReaped {
    pub inactive_nodes: u64,
    pub inactive_edges: u64,
    pub removed_nodes: u64,
    pub removed_edges: u64,
    pub purged_nodes: u64,
}

/// A topology read.
#[derive(Debug, Clone, Default)]
pub struct GraphQuery {
    /// Only these node types (empty: all).
    pub kinds: Vec<String>,
    pub active: Option<bool>,
    /// The neighbourhood of this node, `depth` edges away.
    pub root: Option<i64>,
    pub depth: u32,
    /// Only what belongs to this host node (its containers, processes,
    /// images, pods, namespaces) and the edges between those.
    pub host: Option<i64>,
    /// The most nodes returned.
    pub limit: usize,
}

/// The nodes and edges a [`GraphQuery`] selected.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub truncated: bool,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn json_text(v: &Json) -> String {
    v.to_string()
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

const NODE_UPSERT: &str = "INSERT INTO nodes (kind, node_key, name, parent_id, attributes, \
    first_seen, last_seen, active, agent_id, reported, removed_at) \
    VALUES (?, ?, ?, (SELECT id FROM nodes WHERE kind = ? AND node_key = ?), ?, ?, ?, 1, ?, 1, NULL) \
    ON CONFLICT (kind, node_key) DO UPDATE SET name = excluded.name, \
    parent_id = excluded.parent_id, attributes = excluded.attributes, \
    last_seen = excluded.last_seen, active = 1, agent_id = excluded.agent_id, reported = 1, \
    removed_at = NULL";

const EDGE_UPSERT: &str = "INSERT INTO edges (kind, source_id, target_id, edge_key, attributes, \
    agent_id, first_seen, last_seen, active) \
    VALUES (?, (SELECT id FROM nodes WHERE kind = ? AND node_key = ?), \
    (SELECT id FROM nodes WHERE kind = ? AND node_key = ?), ?, ?, ?, ?, ?, 1) \
    ON CONFLICT (kind, source_id, edge_key) DO UPDATE SET target_id = excluded.target_id, \
    attributes = excluded.attributes, agent_id = excluded.agent_id, \
    last_seen = excluded.last_seen, active = 1";

const EDGE_COLS: &str = "id, kind, source_id, target_id, attributes, active, first_seen, last_seen";

fn edge_from(row: &Row) -> Result<Edge, StoreError> {
    Ok(Edge {
        id: row.int(0)?,
        kind: row.text(1)?,
        source: row.int(2)?,
        target: row.opt_int(3)?,
        attributes: row
            .opt_text(4)?
            .map(|s| serde_json::from_str(&s).unwrap_or(Json::String(s))),
        active: row.flag(5)?,
        first_seen: rfc3339(row.int(6)?),
        last_seen: rfc3339(row.int(7)?),
    })
}

/// A node as the agent owns it now: (name, parent, attributes).
type OwnedNode = (String, Option<(String, String)>, Option<String>);
/// An edge as the agent owns it now: (target, attributes).
type OwnedEdge = (Option<(String, String)>, Option<String>);

fn ref_pair(r: Option<&NodeRef>) -> Option<(String, String)> {
    r.map(|n| (n.kind.to_string(), n.key.clone()))
}

impl Store {
    /// An agent's acknowledged report state.
    pub async fn agent_state(&self, agent_id: i64) -> Result<Option<AgentState>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT acked_seq, host_facts, entities FROM agent_reports WHERE agent_id = ?",
                vec![agent_id.into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let host: HostFacts = serde_json::from_str(&row.text(1)?)
            .map_err(|e| StoreError::Decode(format!("agent_reports.host_facts: {e}")))?;
        let list: Vec<Entity> = serde_json::from_str(&row.text(2)?)
            .map_err(|e| StoreError::Decode(format!("agent_reports.entities: {e}")))?;
        Ok(Some(AgentState {
            acked_seq: u64::try_from(row.int(0)?).unwrap_or(0),
            host,
            entities: list.into_iter().map(|e| (e.entity_ref(), e)).collect(),
        }))
    }

    /// Applies a validated report (a snapshot has `host`) of agent
    /// `agent_id` in one transaction.
    pub async fn apply_report(
        &self,
        agent_id: i64,
        report: &Report,
        now: i64,
    ) -> Result<Applied, StoreError> {
        let prior = self.agent_state(agent_id).await?;
        let (host, mut entities, host_changed) = match (report.base, prior) {
            (None, _) => {
                let host = report
                    .host
                    .clone()
                    .ok_or_else(|| StoreError::Decode("a snapshot without host facts".into()))?;
                (host, BTreeMap::new(), true)
            }
            (Some(base), Some(p)) if p.acked_seq == base => {
                let changed = report.host.as_ref().is_some_and(|h| *h != p.host);
                (report.host.clone().unwrap_or(p.host), p.entities, changed)
            }
            (Some(_), _) => return Ok(Applied::Resync),
        };
        for r in &report.remove {
            entities.remove(r);
        }
        for e in &report.upsert {
            entities.insert(e.entity_ref(), e.clone());
        }
        let list: Vec<&Entity> = entities.values().collect();
        let peers = self
            .remote_hosts(agent_id, &remote_candidates(&host, &list))
            .await?;
        let mut desired = derive(&host, &list, &peers);
        let selected = desired.selected_pods();
        if !selected.is_empty() {
            let known = self.known_pods(&selected).await?;
            desired.retain_known_targets(&known);
        }

        let host_json = serde_json::to_string(&host)
            .map_err(|e| StoreError::Decode(format!("host facts: {e}")))?;
        let entities_json = serde_json::to_string(&list)
            .map_err(|e| StoreError::Decode(format!("entities: {e}")))?;
        let seq = to_i64(report.seq);
        let mut stmts = Vec::new();
        match report.base {
            None => stmts.push(Stmt::new(
                "INSERT INTO agent_reports (agent_id, acked_seq, machine_id, host_facts, \
                 entities, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO \
                 UPDATE SET acked_seq = excluded.acked_seq, machine_id = excluded.machine_id, \
                 host_facts = excluded.host_facts, entities = excluded.entities, \
                 updated_at = excluded.updated_at",
                vec![
                    agent_id.into(),
                    seq.into(),
                    host.machine_id.clone().into(),
                    host_json.into(),
                    entities_json.into(),
                    now.into(),
                ],
            )),
            // Nothing changed: only the sequence number moves.
            Some(base) if report.upsert.is_empty() && report.remove.is_empty() && !host_changed => {
                stmts.push(Stmt::guard(
                    "UPDATE agent_reports SET acked_seq = ?, updated_at = ? \
                     WHERE agent_id = ? AND acked_seq = ?",
                    vec![seq.into(), now.into(), agent_id.into(), to_i64(base).into()],
                ));
            }
            Some(base) => stmts.push(Stmt::guard(
                "UPDATE agent_reports SET acked_seq = ?, machine_id = ?, host_facts = ?, \
                 entities = ?, updated_at = ? WHERE agent_id = ? AND acked_seq = ?",
                vec![
                    seq.into(),
                    host.machine_id.clone().into(),
                    host_json.into(),
                    entities_json.into(),
                    now.into(),
                    agent_id.into(),
                    to_i64(base).into(),
                ],
            )),
        }
        stmts.push(Stmt::new(
            "UPDATE agents SET last_seen_at = ? WHERE id = ?",
            vec![now.into(), agent_id.into()],
        ));
        if host_changed {
            stmts.push(Stmt::new(
                "DELETE FROM host_addresses WHERE agent_id = ?",
                vec![agent_id.into()],
            ));
            for ip in host_addresses(&host) {
                if matches!(
                    addr::classify(ip),
                    AddrClass::Loopback | AddrClass::LinkLocal | AddrClass::Unspecified
                ) {
                    continue;
                }
                stmts.push(Stmt::new(
                    "INSERT INTO host_addresses (address, agent_id, machine_id) VALUES (?, ?, ?) \
                     ON CONFLICT (address, agent_id) DO NOTHING",
                    vec![
                        ip.to_string().into(),
                        agent_id.into(),
                        host.machine_id.clone().into(),
                    ],
                ));
            }
        }
        match (&report.runtime, report.base) {
            (Some(rt), _) => {
                let json = serde_json::to_string(rt)
                    .map_err(|e| StoreError::Decode(format!("runtime: {e}")))?;
                stmts.push(Stmt::new(
                    "INSERT INTO agent_runtime (agent_id, machine_id, runtime, updated_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET \
                     machine_id = excluded.machine_id, runtime = excluded.runtime, \
                     updated_at = excluded.updated_at",
                    vec![
                        agent_id.into(),
                        host.machine_id.clone().into(),
                        json.into(),
                        now.into(),
                    ],
                ));
            }
            // A snapshot without runtime evidence: the sensor no longer
            // collects it, what was known is stale.
            (None, None) => stmts.push(Stmt::new(
                "DELETE FROM agent_runtime WHERE agent_id = ?",
                vec![agent_id.into()],
            )),
            (None, Some(_)) => {}
        }
        let (nodes_written, edges_written) = self
            .graph_changes(agent_id, &desired, now, &mut stmts)
            .await?;
        if self.db.transaction(stmts).await? {
            Ok(Applied::Acked {
                nodes_written,
                edges_written,
            })
        } else {
            Ok(Applied::Resync)
        }
    }

    /// Appends the writes that make the agent's owned nodes and edges what
    /// `desired` says; returns how many nodes and edges are written.
    async fn graph_changes(
        &self,
        agent_id: i64,
        desired: &Desired,
        now: i64,
        stmts: &mut Vec<Stmt>,
    ) -> Result<(usize, usize), StoreError> {
        let mut owned: HashMap<(String, String), OwnedNode> = HashMap::new();
        for r in self
            .db
            .query(
                "SELECT n.kind, n.node_key, n.name, p.kind, p.node_key, n.attributes \
                 FROM nodes n LEFT JOIN nodes p ON p.id = n.parent_id WHERE n.agent_id = ?",
                vec![agent_id.into()],
            )
            .await?
        {
            let parent = match (r.opt_text(3)?, r.opt_text(4)?) {
                (Some(k), Some(key)) => Some((k, key)),
                _ => None,
            };
            owned.insert(
                (r.text(0)?, r.text(1)?),
                (r.text(2)?, parent, r.opt_text(5)?),
            );
        }
        let mut nodes_written = 0;
        let mut wanted: HashSet<(String, String)> = HashSet::new();
        for n in &desired.nodes {
            let id = (n.node.kind.to_string(), n.node.key.clone());
            let attrs = json_text(&n.attributes);
            let same = owned.get(&id).is_some_and(|(name, parent, a)| {
                *name == n.name
                    && *parent == ref_pair(n.parent.as_ref())
                    && a.as_ref() == Some(&attrs)
            });
            wanted.insert(id);
            if same {
                continue;
            }
            nodes_written += 1;
            let owner: Value = if n.node.kind == "internet" {
                Value::Int(None)
            } else {
                agent_id.into()
            };
            stmts.push(node_upsert(n, attrs, owner, now));
        }
        for (kind, key) in owned.keys().filter(|k| !wanted.contains(*k)) {
            // Gone from the agent's report: inactive now, unless other
            // hosts may share it (images, namespaces), which age out.
            stmts.push(Stmt::new(
                "UPDATE nodes SET agent_id = NULL, active = CASE WHEN kind IN \
                 ('image', 'namespace') THEN active ELSE 0 END \
                 WHERE agent_id = ? AND kind = ? AND node_key = ?",
                vec![agent_id.into(), kind.clone().into(), key.clone().into()],
            ));
        }
        // Refreshing `last_seen` rewrites every row the agent owns (a new
        // row version on PostgreSQL): done once a minute, not per report.
        // The reaper does not rely on it while the agent reports.
        stmts.push(Stmt::new(
            "UPDATE nodes SET last_seen = ?, active = 1 WHERE agent_id = ? \
             AND (last_seen < ? OR active = 0)",
            vec![
                now.into(),
                agent_id.into(),
                (now - LAST_SEEN_REFRESH_SECS).into(),
            ],
        ));

        let mut owned_edges: HashMap<(String, String, String, String), OwnedEdge> = HashMap::new();
        for r in self
            .db
            .query(
                "SELECT e.kind, s.kind, s.node_key, e.edge_key, t.kind, t.node_key, e.attributes \
                 FROM edges e JOIN nodes s ON s.id = e.source_id \
                 LEFT JOIN nodes t ON t.id = e.target_id WHERE e.agent_id = ?",
                vec![agent_id.into()],
            )
            .await?
        {
            let target = match (r.opt_text(4)?, r.opt_text(5)?) {
                (Some(k), Some(key)) => Some((k, key)),
                _ => None,
            };
            owned_edges.insert(
                (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?),
                (target, r.opt_text(6)?),
            );
        }
        let mut edges_written = 0;
        let mut wanted_edges = HashSet::new();
        for e in &desired.edges {
            let id = (
                e.kind.to_string(),
                e.source.kind.to_string(),
                e.source.key.clone(),
                e.key.clone(),
            );
            let attrs = json_text(&e.attributes);
            let same = owned_edges.get(&id).is_some_and(|(target, a)| {
                *target == ref_pair(e.target.as_ref()) && a.as_ref() == Some(&attrs)
            });
            wanted_edges.insert(id);
            if same {
                continue;
            }
            edges_written += 1;
            stmts.push(edge_upsert(e, attrs, agent_id, now));
        }
        for (kind, skind, skey, key) in owned_edges.keys().filter(|k| !wanted_edges.contains(*k)) {
            stmts.push(Stmt::new(
                "UPDATE edges SET agent_id = NULL, active = 0 WHERE agent_id = ? AND kind = ? \
                 AND edge_key = ? \
                 AND source_id = (SELECT id FROM nodes WHERE kind = ? AND node_key = ?)",
                vec![
                    agent_id.into(),
                    kind.clone().into(),
                    key.clone().into(),
                    skind.clone().into(),
                    skey.clone().into(),
                ],
            ));
        }
        stmts.push(Stmt::new(
            "UPDATE edges SET last_seen = ?, active = 1 WHERE agent_id = ? \
             AND (last_seen < ? OR active = 0)",
            vec![
                now.into(),
                agent_id.into(),
                (now - LAST_SEEN_REFRESH_SECS).into(),
            ],
        ));
        Ok((nodes_written, edges_written))
    }

    /// Which of these pod UIDs a (not removed) pod node stands for.
    async fn known_pods(&self, uids: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in uids.chunks(CHUNK) {
            let sql = format!(
                "SELECT node_key FROM nodes WHERE kind = 'pod' AND removed_at IS NULL \
                 AND node_key IN ({})",
                placeholders(chunk.len())
            );
            let params = chunk.iter().map(|u| Value::from(u.clone())).collect();
            for r in self.db.query(&sql, params).await? {
                out.insert(r.text(0)?);
            }
        }
        Ok(out)
    }

    /// Other agents' hosts that own one of `candidates` (an address on
    /// several hosts is ambiguous and left out), with what they listen on.
    async fn remote_hosts(
        &self,
        agent_id: i64,
        candidates: &[IpAddr],
    ) -> Result<HashMap<IpAddr, RemoteHost>, StoreError> {
        let mut owners: HashMap<IpAddr, HashSet<String>> = HashMap::new();
        for chunk in candidates.chunks(CHUNK) {
            let sql = format!(
                "SELECT address, machine_id FROM host_addresses WHERE agent_id <> ? \
                 AND address IN ({})",
                placeholders(chunk.len())
            );
            let mut params: Vec<Value> = vec![agent_id.into()];
            params.extend(chunk.iter().map(|ip| Value::from(ip.to_string())));
            for r in self.db.query(&sql, params).await? {
                if let Some(ip) = addr::parse(&r.text(0)?) {
                    owners.entry(ip).or_default().insert(r.text(1)?);
                }
            }
        }
        let hosts: BTreeMap<IpAddr, String> = owners
            .into_iter()
            .filter(|(_, m)| m.len() == 1)
            .filter_map(|(ip, m)| m.into_iter().next().map(|id| (ip, id)))
            .collect();
        let machines: Vec<String> = {
            let mut v: Vec<String> = hosts.values().cloned().collect();
            v.sort();
            v.dedup();
            v
        };
        // Two steps, each led by an index whatever the planner's statistics
        // say (one join led PostgreSQL, with statistics not yet gathered on a
        // fast-growing fleet, to read every listening edge for each report):
        // the hosts' node ids by key, then the listening edges by target.
        let mut host_keys: HashMap<i64, String> = HashMap::new();
        for chunk in machines.chunks(CHUNK) {
            let sql = format!(
                "SELECT id, node_key FROM nodes WHERE kind = 'host' AND node_key IN ({})",
                placeholders(chunk.len())
            );
            let params = chunk.iter().map(|m| Value::from(m.clone())).collect();
            for r in self.db.query(&sql, params).await? {
                host_keys.insert(r.int(0)?, r.text(1)?);
            }
        }
        let ids: Vec<i64> = host_keys.keys().copied().collect();
        let mut listens: HashMap<String, Vec<RemoteListen>> = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT e.target_id, s.node_key, e.attributes FROM edges e \
                 JOIN nodes s ON s.id = e.source_id \
                 WHERE e.target_id IN ({}) AND e.kind = 'listens' AND e.active = 1 \
                 AND s.kind = 'process'",
                placeholders(chunk.len())
            );
            let params = chunk.iter().map(|id| Value::from(*id)).collect();
            for r in self.db.query(&sql, params).await? {
                let Some(machine) = host_keys.get(&r.int(0)?) else {
                    continue;
                };
                let attrs: Json = r
                    .opt_text(2)?
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(Json::Null);
                let proto = match attrs["proto"].as_str() {
                    Some("tcp") => Proto::Tcp,
                    Some("udp") => Proto::Udp,
                    _ => continue,
                };
                let Some(port) = attrs["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
                    continue;
                };
                listens
                    .entry(machine.clone())
                    .or_default()
                    .push(RemoteListen {
                        proto,
                        address: attrs["address"].as_str().and_then(addr::parse),
                        port,
                        process_key: r.text(1)?,
                    });
            }
        }
        Ok(hosts
            .into_iter()
            .map(|(ip, machine_id)| {
                let l = listens.get(&machine_id).cloned().unwrap_or_default();
                (
                    ip,
                    RemoteHost {
                        machine_id,
                        listens: l,
                    },
                )
            })
            .collect())
    }

    /// One inactivity pass: what agents have not reported for
    /// `node_inactive_secs` becomes inactive; after `node_remove_secs`,
    /// edges are deleted and nodes too, except nodes with findings, which
    /// are marked removed and deleted (findings with them) after
    /// `finding_retention_days`. Nodes not from agents (`reported = 0`) are
    /// left alone.
    pub async fn reap_topology(
        &self,
        cfg: &TopologyConfig,
        now: i64,
    ) -> Result<TopologyReaped, StoreError> {
        let inactive = now - cfg.node_inactive_secs;
        let remove = now - cfg.node_remove_secs;
        let purge = now - cfg.finding_retention_days.saturating_mul(86_400);
        let db = &self.db;
        let mut r = TopologyReaped {
            // What an agent that reported since `inactive` owns stays active
            // (its `last_seen` is refreshed only once a minute).
            inactive_nodes: db
                .execute(
                    &format!(
                        "UPDATE nodes SET active = 0 WHERE reported = 1 AND active = 1 \
                         AND last_seen < ? AND {NODE_OWNER_QUIET}"
                    ),
                    vec![inactive.into(), inactive.into()],
                )
                .await?,
            inactive_edges: db
                .execute(
                    &format!(
                        "UPDATE edges SET active = 0 WHERE active = 1 AND last_seen < ? \
                         AND {EDGE_OWNER_QUIET}"
                    ),
                    vec![inactive.into(), inactive.into()],
                )
                .await?,
            // Removal spares what a reporting agent owns too: with a
            // `node_remove_secs` under a minute its `last_seen` may be older.
            removed_edges: db
                .execute(
                    &format!("DELETE FROM edges WHERE last_seen < ? AND {EDGE_OWNER_QUIET}"),
                    vec![remove.into(), inactive.into()],
                )
                .await?,
            ..TopologyReaped::default()
        };
        r.removed_nodes = db
            .execute(
                &format!(
                    "UPDATE nodes SET removed_at = ?, agent_id = NULL, active = 0 \
                     WHERE reported = 1 AND removed_at IS NULL AND last_seen < ? \
                     AND EXISTS (SELECT 1 FROM findings f WHERE f.node_id = nodes.id) \
                     AND {NODE_OWNER_QUIET}"
                ),
                vec![now.into(), remove.into(), inactive.into()],
            )
            .await?;
        r.removed_nodes += db
            .execute(
                &format!(
                    "DELETE FROM nodes WHERE reported = 1 AND last_seen < ? \
                     AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.node_id = nodes.id) \
                     AND {NODE_OWNER_QUIET}"
                ),
                vec![remove.into(), inactive.into()],
            )
            .await?;
        r.purged_nodes = db
            .execute(
                "DELETE FROM nodes WHERE removed_at IS NOT NULL AND removed_at < ?",
                vec![purge.into()],
            )
            .await?;
        Ok(r)
    }

    /// PostgreSQL: gathers planner statistics (`ANALYZE`) for the topology
    /// and findings tables that have at least doubled in changes since their
    /// last analysis (or never had one), when more than 1,000 rows changed.
    /// Autovacuum does this too, but at most once a minute per database and
    /// behind its other work; until then a fleet that grows from nothing has
    /// plans made for empty tables. Returns the tables analyzed; SQLite:
    /// nothing to do.
    pub async fn refresh_planner_statistics(&self) -> Result<Vec<String>, StoreError> {
        if self.db.kind() != super::BackendKind::Postgres {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(
                "SELECT relname::TEXT FROM pg_stat_user_tables WHERE relname IN \
                 ('nodes', 'edges', 'findings', 'host_addresses', 'agent_reports') \
                 AND n_mod_since_analyze > 1000 AND (n_mod_since_analyze > n_live_tup \
                 OR (last_analyze IS NULL AND last_autoanalyze IS NULL))",
                vec![],
            )
            .await?;
        let mut done = Vec::new();
        for r in rows {
            let table = r.text(0)?;
            // Only the names listed above reach the statement.
            if !matches!(
                table.as_str(),
                "nodes" | "edges" | "findings" | "host_addresses" | "agent_reports"
            ) {
                continue;
            }
            self.db.execute(&format!("ANALYZE {table}"), vec![]).await?;
            done.push(table);
        }
        Ok(done)
    }

    /// How many edges touch a node.
    pub async fn edge_count(&self, node_id: i64) -> Result<i64, StoreError> {
        self.db
            .query(
                "SELECT COUNT(*) FROM edges WHERE source_id = ? OR target_id = ?",
                vec![node_id.into(), node_id.into()],
            )
            .await?
            .first()
            .map_or(Ok(0), |r| r.int(0))
    }

    /// The nodes and edges a query selects (at most `limit` nodes, and
    /// `4 * limit` edges; `truncated` says when more matched).
    pub async fn topology(&self, q: &GraphQuery) -> Result<Graph, StoreError> {
        let limit = q.limit.max(1);
        let (ids, mut truncated) = if let Some(root) = q.root {
            self.neighbourhood(root, q.depth, false, limit).await?
        } else if let Some(host) = q.host {
            self.neighbourhood(host, 8, true, limit).await?
        } else {
            let mut sql = String::from("SELECT id FROM nodes WHERE removed_at IS NULL");
            let mut params: Vec<Value> = Vec::new();
            if !q.kinds.is_empty() {
                sql.push_str(&format!(" AND kind IN ({})", placeholders(q.kinds.len())));
                params.extend(q.kinds.iter().map(|k| Value::from(k.clone())));
            }
            if let Some(a) = q.active {
                sql.push_str(" AND active = ?");
                params.push(a.into());
            }
            sql.push_str(" ORDER BY id LIMIT ?");
            params.push(to_i64(limit as u64 + 1).into());
            let mut ids: Vec<i64> = self
                .db
                .query(&sql, params)
                .await?
                .iter()
                .map(|r| r.int(0))
                .collect::<Result<_, _>>()?;
            let truncated = ids.len() > limit;
            ids.truncate(limit);
            (ids, truncated)
        };
        let mut nodes = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT {NODE_COLS} FROM nodes WHERE removed_at IS NULL AND id IN ({}) ORDER BY id",
                placeholders(chunk.len())
            );
            let params = chunk.iter().map(|i| Value::from(*i)).collect();
            for r in self.db.query(&sql, params).await? {
                let n = node_from(&r)?;
                if (q.kinds.is_empty() || q.kinds.contains(&n.kind))
                    && q.active.is_none_or(|a| a == n.active)
                {
                    nodes.push(n);
                }
            }
        }
        nodes.sort_by_key(|n| n.id);
        let selected: HashSet<i64> = nodes.iter().map(|n| n.id).collect();
        let kept: Vec<i64> = nodes.iter().map(|n| n.id).collect();
        let max_edges = limit.saturating_mul(4);
        let mut edges = Vec::new();
        'chunks: for chunk in kept.chunks(CHUNK) {
            let mut sql = format!(
                "SELECT {EDGE_COLS} FROM edges WHERE source_id IN ({})",
                placeholders(chunk.len())
            );
            let mut params: Vec<Value> = chunk.iter().map(|i| Value::from(*i)).collect();
            if let Some(a) = q.active {
                sql.push_str(" AND active = ?");
                params.push(a.into());
            }
            sql.push_str(" ORDER BY id");
            for r in self.db.query(&sql, params).await? {
                let e = edge_from(&r)?;
                if e.target.is_none_or(|t| selected.contains(&t)) {
                    if edges.len() == max_edges {
                        truncated = true;
                        break 'chunks;
                    }
                    edges.push(e);
                }
            }
        }
        Ok(Graph {
            nodes,
            edges,
            truncated,
        })
    }

    /// Node ids within `depth` edges of `root` (either direction);
    /// `structural` follows only what places things on a host (not
    /// connections) and does not go on from images and namespaces (which
    /// other hosts share) nor into other hosts. Whether it stopped at
    /// `limit`.
    async fn neighbourhood(
        &self,
        root: i64,
        depth: u32,
        structural: bool,
        limit: usize,
    ) -> Result<(Vec<i64>, bool), StoreError> {
        let mut seen: Vec<i64> = vec![root];
        let mut seen_set: HashSet<i64> = seen.iter().copied().collect();
        let mut frontier = vec![root];
        let kinds = if structural {
            " AND e.kind IN ('runs', 'instance_of', 'holds', 'listens')"
        } else {
            ""
        };
        for _ in 0..depth {
            let mut next = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                let ph = placeholders(chunk.len());
                let sql = format!(
                    "SELECT e.source_id, s.kind, e.target_id, t.kind FROM edges e \
                     JOIN nodes s ON s.id = e.source_id LEFT JOIN nodes t ON t.id = e.target_id \
                     WHERE (e.source_id IN ({ph}) OR e.target_id IN ({ph})){kinds} ORDER BY e.id"
                );
                let mut params: Vec<Value> = chunk.iter().map(|i| Value::from(*i)).collect();
                params.extend(chunk.iter().map(|i| Value::from(*i)));
                for r in self.db.query(&sql, params).await? {
                    let ends = [
                        Some((r.int(0)?, r.text(1)?)),
                        r.opt_int(2)?.zip(r.opt_text(3)?),
                    ];
                    for (id, kind) in ends.into_iter().flatten() {
                        if structural && kind == "host" {
                            continue;
                        }
                        if seen_set.insert(id) {
                            if seen.len() == limit {
                                return Ok((seen, true));
                            }
                            seen.push(id);
                            if !(structural && (kind == "image" || kind == "namespace")) {
                                next.push(id);
                            }
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok((seen, false))
    }
}

fn node_upsert(n: &DesiredNode, attrs: String, owner: Value, now: i64) -> Stmt {
    let (pk, pkey) = match &n.parent {
        Some(p) => (Value::from(p.kind), Value::from(p.key.clone())),
        None => (Value::Text(None), Value::Text(None)),
    };
    Stmt::new(
        NODE_UPSERT,
        vec![
            n.node.kind.into(),
            n.node.key.clone().into(),
            n.name.clone().into(),
            pk,
            pkey,
            attrs.into(),
            now.into(),
            now.into(),
            owner,
        ],
    )
}

fn edge_upsert(e: &DesiredEdge, attrs: String, agent_id: i64, now: i64) -> Stmt {
    let (tk, tkey) = match &e.target {
        Some(t) => (Value::from(t.kind), Value::from(t.key.clone())),
        None => (Value::Text(None), Value::Text(None)),
    };
    Stmt::new(
        EDGE_UPSERT,
        vec![
            e.kind.into(),
            e.source.kind.into(),
            e.source.key.clone().into(),
            tk,
            tkey,
            e.key.clone().into(),
            attrs.into(),
            agent_id.into(),
            now.into(),
            now.into(),
        ],
    )
}
