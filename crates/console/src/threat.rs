//! ThreatGraph in the console: the graph input built from the store, the
//! analysis computed in a background task and cached, so the API answers
//! from memory.
//!
//! The task checks a fingerprint of the data (counts and latest change
//! times of nodes, edges, open findings, suppressions, runtime evidence and
//! agents) every refresh interval (5 s by default) and recomputes only when
//! it moved (waiting at least ten times as long as the last analysis
//! took, so a large fleet's analysis stays under about a tenth of a core);
//! a change made in the same second as the last computation is
//! caught by recomputing once more on the next tick. Until the first
//! analysis exists, the API answers `503`.
//!
//! Mapping (console -> graph): node ids are the console's node ids as
//! strings, finding ids the console's finding ids. `runs` edges from a host
//! to a container are `runs`, from a host or container to a process
//! `process_in`; `instance_of` is `from_image`; `holds` stays `holds`;
//! `listens` is a `listens` edge of its source (the process, or the host when
//! the owner is unknown); `connects` edges become one graph edge per peer
//! address: an inbound connection from the internet node is an inbound
//! connection of its target to the internet with the public peer, an edge
//! to an unmonitored private peer (`external-private`) is a connection to
//! the internet node with that private peer (which never exposes anything).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use rampart_graph::{
    Analysis, Direction, Edge, Finding, FindingKind, GraphInput, GroupBy, GroupSummary, Node,
    NodeKind, PackageFiles, PackageRef, Proto, RuntimeEvidence, VulnerabilityFacts,
};
use rampart_graph::{Ingress as GraphIngress, Service as GraphService, ServiceType};
use rampart_model::Severity;
use serde_json::Value;
use tokio::sync::watch;

use crate::store::Store;
use crate::store::threat::{KubeObjects, ThreatData, ThreatEdge, ThreatFinding, ThreatNode};

/// The default time between fingerprint checks.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(5);

/// One computed analysis and when.
#[derive(Debug)]
pub struct Computed {
    pub analysis: Analysis,
    /// Unix seconds.
    pub computed_at: i64,
    /// How long building the input and the analysis took.
    pub took: Duration,
    /// Grouped views, computed on first use per grouping (with the most
    /// findings per group the API allows) and kept with the analysis.
    groups: [OnceLock<Vec<GroupSummary>>; 6],
}

/// The most findings per group the API lists.
pub const MAX_GROUP_TOP: usize = 20;

impl Computed {
    /// The grouped view by `by` with at most `top` (up to [`MAX_GROUP_TOP`])
    /// findings per group; the first call per grouping walks every node.
    pub fn groups(&self, by: GroupBy, top: usize) -> Vec<GroupSummary> {
        let slot = match by {
            GroupBy::Auto => 0,
            GroupBy::Cluster => 1,
            GroupBy::Namespace => 2,
            GroupBy::Account => 3,
            GroupBy::Region => 4,
            GroupBy::Host => 5,
        };
        let all = self.groups[slot].get_or_init(|| self.analysis.groups(by, MAX_GROUP_TOP));
        all.iter()
            .map(|g| {
                let mut g = g.clone();
                g.top.truncate(top);
                g
            })
            .collect()
    }
}

/// The cached analysis, shared by the API handlers.
#[derive(Debug, Default)]
pub struct ThreatCache {
    current: RwLock<Option<Arc<Computed>>>,
    last_error: RwLock<Option<String>>,
}

impl ThreatCache {
    /// The latest analysis, if one was computed.
    pub fn current(&self) -> Option<Arc<Computed>> {
        self.current.read().map_or(None, |g| g.clone())
    }

    /// Replaces the analysis (the background task; benchmarks load a
    /// synthetic fleet this way).
    pub fn install(&self, analysis: Analysis, computed_at: i64, took: Duration) {
        if let Ok(mut g) = self.current.write() {
            *g = Some(Arc::new(Computed {
                analysis,
                computed_at,
                took,
                groups: Default::default(),
            }));
        }
    }

    /// Why the last computation failed, if it did.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.read().map_or(None, |g| g.clone())
    }

    fn set_error(&self, e: Option<String>) {
        if let Ok(mut g) = self.last_error.write() {
            *g = e;
        }
    }
}

/// Recomputes the analysis whenever the store's data changed, until
/// `shutdown`.
pub async fn run(
    store: Store,
    cache: Arc<ThreatCache>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last: Option<Vec<i64>> = None;
    let mut again = true;
    // A large fleet's analysis costs seconds: the next one waits at least
    // ten times as long as the last took, so it never takes more than about
    // a tenth of a core however often agents report.
    let mut pause = every;
    loop {
        match store.threat_fingerprint().await {
            Ok(fp) => {
                if again || last.as_ref() != Some(&fp) {
                    let started = Instant::now();
                    let now = crate::clock::now();
                    match compute(&store).await {
                        Ok(analysis) => {
                            let took = started.elapsed();
                            tracing::debug!(
                                findings = analysis.summary().findings,
                                ms = took.as_millis(),
                                "threat analysis computed"
                            );
                            cache.install(analysis, now, took);
                            pause = every.max(took.saturating_mul(10)).min(MAX_PAUSE);
                            cache.set_error(None);
                            // A change in this same second may not have
                            // moved the fingerprint: look once more.
                            again = fp.iter().any(|v| *v >= now) && !again;
                            last = Some(fp);
                        }
                        Err(e) => {
                            tracing::warn!("threat analysis: {e}");
                            cache.set_error(Some(e));
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("threat analysis: reading the store: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The longest wait between two analyses, whatever the last one cost.
const MAX_PAUSE: Duration = Duration::from_secs(600);

async fn compute(store: &Store) -> Result<Analysis, String> {
    let data = store.threat_data().await.map_err(|e| format!("{e:#}"))?;
    tracing::debug!(
        nodes = data.nodes.len(),
        edges = data.edges.len(),
        findings = data.findings.len(),
        processes_left_out = data.processes_left_out,
        "threat input read"
    );
    tokio::task::spawn_blocking(move || Analysis::run(build_input(&data)))
        .await
        .map_err(|e| format!("analysis task: {e}"))?
        .map_err(|e| e.to_string())
}

fn node_kind(k: &str) -> Option<NodeKind> {
    Some(match k {
        "host" => NodeKind::Host,
        "container" => NodeKind::Container,
        "image" => NodeKind::Image,
        "pod" => NodeKind::Pod,
        "namespace" => NodeKind::Namespace,
        "process" => NodeKind::Process,
        "internet" => NodeKind::Internet,
        _ => return None,
    })
}

fn ip_of(s: &str) -> Option<IpAddr> {
    s.split('/').next()?.trim().parse().ok()
}

fn str_at<'a>(v: Option<&'a Value>, path: &[&str]) -> Option<&'a str> {
    let mut cur = v?;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn graph_node(n: &ThreatNode, kind: NodeKind) -> Node {
    let attrs = n.attributes.as_ref();
    let mut addresses = Vec::new();
    if kind == NodeKind::Host {
        for iface in attrs
            .and_then(|a| a.get("interfaces"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for a in iface
                .get("addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if ip_of(a).is_some() {
                    addresses.push(a.to_string());
                }
            }
        }
        if let Some(p) = str_at(attrs, &["cloud", "public_ipv4"]).filter(|a| ip_of(a).is_some()) {
            addresses.push(p.to_string());
        }
    }
    let hostnames = str_at(attrs, &["hostname"])
        .map(|h| vec![h.to_string()])
        .unwrap_or_default();
    Node {
        id: n.id.to_string(),
        kind,
        name: n.name.clone(),
        addresses,
        hostnames,
        cluster: None,
        namespace: match kind {
            NodeKind::Pod => str_at(attrs, &["namespace"]).map(str::to_string),
            NodeKind::Namespace => Some(n.key.clone()),
            _ => None,
        },
        account: str_at(attrs, &["cloud", "account_id"]).map(str::to_string),
        region: str_at(attrs, &["cloud", "region"]).map(str::to_string),
        host_network: false,
        observed: true,
    }
}

fn peers(attrs: Option<&Value>) -> Vec<String> {
    attrs
        .and_then(|a| a.get("peers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("address").and_then(Value::as_str))
        .filter(|a| ip_of(a).is_some())
        .map(str::to_string)
        .collect()
}

fn port_of(attrs: Option<&Value>) -> Option<u16> {
    attrs
        .and_then(|a| a.get("port"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
}

fn graph_edges(
    e: &ThreatEdge,
    kinds: &HashMap<i64, NodeKind>,
    internet: &str,
    out: &mut Vec<Edge>,
) {
    let Some(sk) = kinds.get(&e.source).copied() else {
        return;
    };
    let tk = e.target.and_then(|t| kinds.get(&t).copied());
    if e.target.is_some() && tk.is_none() {
        return; // the target is inactive
    }
    let s = e.source.to_string();
    let t = e.target.map(|t| t.to_string());
    let attrs = e.attributes.as_ref();
    match (e.kind.as_str(), sk, tk, t) {
        ("runs", NodeKind::Host, Some(NodeKind::Container), Some(t)) => out.push(Edge::Runs {
            host: s,
            container: t,
        }),
        ("runs", NodeKind::Host | NodeKind::Container, Some(NodeKind::Process), Some(t)) => {
            out.push(Edge::ProcessIn {
                parent: s,
                process: t,
            });
        }
        ("instance_of", NodeKind::Container, Some(NodeKind::Image), Some(t)) => {
            out.push(Edge::FromImage {
                container: s,
                image: t,
            });
        }
        ("holds", NodeKind::Namespace, Some(NodeKind::Pod), Some(t))
        | ("holds", NodeKind::Pod, Some(NodeKind::Container), Some(t)) => {
            out.push(Edge::Holds {
                parent: s,
                child: t,
            });
        }
        ("listens", NodeKind::Process | NodeKind::Host | NodeKind::Container, _, _) => {
            let proto = match str_at(attrs, &["proto"]) {
                Some("udp") => Proto::Udp,
                _ => Proto::Tcp,
            };
            let (Some(address), Some(port)) = (
                str_at(attrs, &["address"]).filter(|a| ip_of(a).is_some()),
                port_of(attrs),
            ) else {
                return;
            };
            out.push(Edge::Listens {
                node: s,
                proto,
                address: address.to_string(),
                port,
            });
        }
        ("connects", _, _, t) => {
            let direction = match str_at(attrs, &["direction"]) {
                Some("inbound") => Direction::Inbound,
                _ => Direction::Outbound,
            };
            let port = port_of(attrs);
            // (the monitored side, the other side)
            let (source, target) = match (sk, t) {
                (NodeKind::Internet, Some(t)) => (t, internet.to_string()),
                (NodeKind::Internet, None) => return,
                (_, Some(_)) if tk == Some(NodeKind::Internet) => (s, internet.to_string()),
                (_, Some(t)) => (s, t),
                (_, None) => (s, internet.to_string()),
            };
            let (local_port, peer_port) = match direction {
                Direction::Inbound => (port, None),
                Direction::Outbound => (None, port),
            };
            let list = peers(attrs);
            // Between two monitored nodes one edge is enough; the peer
            // address only labels it.
            let take = if target == internet { list.len() } else { 1 };
            for peer in list.into_iter().take(take) {
                out.push(Edge::Connects {
                    source: source.clone(),
                    target: target.clone(),
                    direction,
                    peer_address: peer,
                    peer_port,
                    local_port,
                });
            }
        }
        _ => {}
    }
}

fn finite_in(v: Option<&Value>, max: f64) -> Option<f64> {
    v.and_then(Value::as_f64)
        .filter(|x| x.is_finite() && (0.0..=max).contains(x))
}

/// The vulnerability facts in a scanner record (`rampart scan --format json`).
#[must_use]
pub fn vulnerability_facts(ev: &Value) -> VulnerabilityFacts {
    let best = ev
        .get("cvss")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| finite_in(c.get("base_score"), 10.0).is_some())
        .max_by(|a, b| {
            let sa = a.get("base_score").and_then(Value::as_f64).unwrap_or(0.0);
            let sb = b.get("base_score").and_then(Value::as_f64).unwrap_or(0.0);
            sa.total_cmp(&sb)
        });
    let kev = ev.get("kev").filter(|k| k.is_object());
    let package = match (
        ev.get("package_name").and_then(Value::as_str),
        ev.get("package_version").and_then(Value::as_str),
    ) {
        (Some(name), Some(version)) => Some(PackageRef {
            name: name.to_string(),
            version: version.to_string(),
            purl: ev.get("purl").and_then(Value::as_str).map(str::to_string),
        }),
        _ => None,
    };
    VulnerabilityFacts {
        cvss_score: best.and_then(|c| finite_in(c.get("base_score"), 10.0)),
        cvss_vector: best
            .and_then(|c| c.get("vector"))
            .and_then(Value::as_str)
            .map(str::to_string),
        epss: finite_in(ev.get("epss").and_then(|e| e.get("score")), 1.0),
        epss_percentile: finite_in(ev.get("epss").and_then(|e| e.get("percentile")), 1.0),
        kev: kev.is_some(),
        ransomware: kev
            .and_then(|k| k.get("ransomware"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        fixed_versions: ev
            .get("fixed_versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        package,
    }
}

fn graph_finding(f: &ThreatFinding) -> Option<Finding> {
    let kind = match f.kind.as_str() {
        "vulnerability" => FindingKind::Vulnerability,
        "secret" => FindingKind::Secret,
        "malware" => FindingKind::Malware,
        "posture" => FindingKind::Posture,
        _ => return None,
    };
    let severity: Severity =
        serde_json::from_value(Value::String(f.severity.clone())).unwrap_or(Severity::Unknown);
    Some(Finding {
        id: f.id.to_string(),
        node: f.node_id.to_string(),
        kind,
        severity,
        rule_id: f.rule_id.clone(),
        vulnerability: (kind == FindingKind::Vulnerability)
            .then(|| f.evidence.as_ref().map(vulnerability_facts))
            .flatten(),
        targets: if kind == FindingKind::Secret {
            f.evidence.as_ref().map(secret_targets).unwrap_or_default()
        } else {
            Vec::new()
        },
    })
}

/// The hosts a secret is for, from the scanner's record (`targets`, see
/// docs/secrets.md): at most 8, each at most 300 characters.
fn secret_targets(ev: &Value) -> Vec<String> {
    ev.get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 300)
        .take(8)
        .map(str::to_string)
        .collect()
}

/// The package URL type (`pkg:deb/...` -> `deb`).
fn purl_type(purl: &str) -> Option<&str> {
    purl.strip_prefix("pkg:")?.split('/').next()
}

/// Builds the graph input from the store's data.
#[must_use]
pub fn build_input(data: &ThreatData) -> GraphInput {
    let mut kinds = HashMap::new();
    let mut nodes = Vec::with_capacity(data.nodes.len());
    let mut internet = None;
    for n in &data.nodes {
        let Some(kind) = node_kind(&n.kind) else {
            continue;
        };
        if kind == NodeKind::Internet {
            if internet.is_some() {
                continue;
            }
            internet = Some(n.id.to_string());
        }
        kinds.insert(n.id, kind);
        nodes.push(graph_node(n, kind));
    }
    let internet = internet.unwrap_or_else(|| "internet".to_string());
    let mut edges = Vec::with_capacity(data.edges.len());
    for e in &data.edges {
        graph_edges(e, &kinds, &internet, &mut edges);
    }
    let findings: Vec<Finding> = data
        .findings
        .iter()
        .filter(|f| kinds.contains_key(&f.node_id))
        .filter_map(graph_finding)
        .collect();

    let (runtime, ownership) = runtime_input(data, &edges, &findings);
    let (services, ingresses) = kube_input(&data.kube);
    GraphInput {
        nodes,
        edges,
        findings,
        runtime,
        ownership,
        services,
        ingresses,
        ..GraphInput::default()
    }
}

/// Files in use per package (`(ecosystem, name)`) on one node.
type InUse<'a> = HashMap<(&'a str, &'a str), &'a [String]>;

/// Runtime evidence and package files from the sensors' reports: each
/// host's files in use on its host node, each container's on its
/// container node (paths as seen inside the container), and for each
/// vulnerable package what it owns of them; a package of an ecosystem
/// whose database the sensor read and that is not in use gets an empty
/// file list (not in use). A finding on an image reads what the
/// containers started from it reported.
fn runtime_input(
    data: &ThreatData,
    edges: &[Edge],
    findings: &[Finding],
) -> (Vec<RuntimeEvidence>, Vec<PackageFiles>) {
    let mut hosts: HashMap<&str, String> = HashMap::new();
    let mut containers: HashMap<&str, String> = HashMap::new();
    for n in &data.nodes {
        match node_kind(&n.kind) {
            Some(NodeKind::Host) => {
                hosts.insert(n.key.as_str(), n.id.to_string());
            }
            Some(NodeKind::Container) => {
                containers.insert(n.key.as_str(), n.id.to_string());
            }
            _ => {}
        }
    }
    let mut runtime = Vec::new();
    let mut in_use: HashMap<&str, InUse<'_>> = HashMap::new();
    let mut databases: HashMap<&str, HashSet<&str>> = HashMap::new();
    for hr in &data.runtime {
        let places = std::iter::once((
            hosts.get(hr.machine_id.as_str()),
            &hr.runtime.language_files,
            &hr.runtime.packages,
            &hr.runtime.databases,
        ))
        .chain(hr.runtime.containers.iter().map(|c| {
            (
                containers.get(c.container.as_str()),
                &c.language_files,
                &c.packages,
                &c.databases,
            )
        }));
        for (node, language_files, packages, dbs) in places {
            let Some(node) = node.map(String::as_str) else {
                continue;
            };
            let mut files: BTreeSet<&str> = language_files.iter().map(String::as_str).collect();
            let per = in_use.entry(node).or_default();
            for p in packages {
                files.extend(p.files.iter().map(String::as_str));
                per.insert((p.ecosystem.as_str(), p.name.as_str()), p.files.as_slice());
            }
            databases
                .entry(node)
                .or_default()
                .extend(dbs.iter().map(String::as_str));
            runtime.push(RuntimeEvidence {
                node: node.to_string(),
                files: files.into_iter().map(str::to_string).collect(),
            });
        }
    }
    // Images: a package is in use when a container started from the image
    // uses it; it is *not* in use only when every active container of the
    // image read that ecosystem's database (one container the sensor could
    // not index, or on a host without evidence, leaves it unknown).
    let mut of_image: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in edges {
        if let Edge::FromImage { container, image } = e {
            of_image
                .entry(image.as_str())
                .or_default()
                .push(container.as_str());
        }
    }
    for (image, containers_of) in of_image {
        let mut from: Vec<((&str, &str), &[String])> = Vec::new();
        let mut common: Option<HashSet<&str>> = None;
        for c in &containers_of {
            if let Some(m) = in_use.get(c) {
                from.extend(m.iter().map(|(k, v)| (*k, *v)));
            }
            let d: HashSet<&str> = databases.get(c).cloned().unwrap_or_default();
            common = Some(match common {
                None => d,
                Some(x) => x.intersection(&d).copied().collect(),
            });
        }
        if !containers_of.iter().any(|c| in_use.contains_key(c)) {
            continue;
        }
        let per = in_use.entry(image).or_default();
        for (k, v) in from {
            per.entry(k).or_insert(v);
        }
        databases
            .entry(image)
            .or_default()
            .extend(common.unwrap_or_default());
    }
    let mut ownership = Vec::new();
    let mut owned_done = HashSet::new();
    for f in findings {
        let Some(pkg) = f.vulnerability.as_ref().and_then(|v| v.package.as_ref()) else {
            continue;
        };
        let Some(eco) = pkg.purl.as_deref().and_then(purl_type) else {
            continue;
        };
        let Some(per) = in_use.get(f.node.as_str()) else {
            continue;
        };
        let files = match per.get(&(eco, pkg.name.as_str())) {
            Some(files) => files.to_vec(),
            None if databases
                .get(f.node.as_str())
                .is_some_and(|d| d.contains(eco)) =>
            {
                Vec::new()
            }
            None => continue,
        };
        if owned_done.insert((f.node.clone(), pkg.name.clone(), pkg.version.clone())) {
            ownership.push(PackageFiles {
                node: f.node.clone(),
                name: pkg.name.clone(),
                version: pkg.version.clone(),
                files,
            });
        }
    }
    (runtime, ownership)
}

fn service_type(t: Option<&str>) -> Option<ServiceType> {
    Some(match t? {
        "ClusterIP" => ServiceType::ClusterIP,
        "NodePort" => ServiceType::NodePort,
        "LoadBalancer" => ServiceType::LoadBalancer,
        "ExternalName" => ServiceType::ExternalName,
        _ => return None,
    })
}

/// The graph's Services and Ingress rules from the store's Service and
/// Ingress nodes: a Service's targets are the pod nodes it selects, its
/// ports the Service ports (`LoadBalancer`) or node ports (`NodePort`), its
/// external addresses the load balancer's IP addresses (a host name is not
/// classified: it says nothing about being internal); an Ingress rule's
/// targets are its backend Service's pods.
fn kube_input(k: &KubeObjects) -> (Vec<GraphService>, Vec<GraphIngress>) {
    let mut pods_of: HashMap<&str, Vec<String>> = HashMap::new();
    let mut services = Vec::new();
    for s in &k.services {
        let attrs = s.attributes.as_ref();
        let targets: Vec<String> = s.pods.iter().map(i64::to_string).collect();
        pods_of.insert(s.key.as_str(), targets.clone());
        let Some(kind) = service_type(str_at(attrs, &["type"])) else {
            continue;
        };
        let ports = attrs
            .and_then(|a| a.get("ports"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let key = if kind == ServiceType::NodePort {
                    "node_port"
                } else {
                    "port"
                };
                p.get(key)?.as_u64().and_then(|v| u16::try_from(v).ok())
            })
            .collect();
        let external_addresses = attrs
            .and_then(|a| a.get("load_balancer"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|a| ip_of(a).is_some())
            .map(str::to_string)
            .collect();
        services.push(GraphService {
            name: s.name.clone(),
            namespace: str_at(attrs, &["namespace"]).map(str::to_string),
            kind,
            ports,
            targets,
            external_addresses,
        });
    }
    let mut ingresses = Vec::new();
    for i in &k.ingresses {
        let attrs = i.attributes.as_ref();
        for r in attrs
            .and_then(|a| a.get("rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(targets) = r
                .get("service_uid")
                .and_then(Value::as_str)
                .and_then(|u| pods_of.get(u))
                .filter(|t| !t.is_empty())
            else {
                continue;
            };
            ingresses.push(GraphIngress {
                name: i.name.clone(),
                namespace: str_at(attrs, &["namespace"]).map(str::to_string),
                host: r.get("host").and_then(Value::as_str).map(str::to_string),
                path: r.get("path").and_then(Value::as_str).map(str::to_string),
                targets: targets.clone(),
            });
        }
    }
    (services, ingresses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::threat::{HostRuntime, KubeObject};
    use rampart_model::agent::{ContainerRuntime, PackageInUse, RuntimeUse};
    use serde_json::json;

    fn node(id: i64, kind: &str, key: &str, attributes: Value) -> ThreatNode {
        ThreatNode {
            id,
            kind: kind.into(),
            key: key.into(),
            name: format!("n{id}"),
            attributes: Some(attributes),
        }
    }

    fn edge(kind: &str, source: i64, target: Option<i64>, attributes: Value) -> ThreatEdge {
        ThreatEdge {
            kind: kind.into(),
            source,
            target,
            attributes: Some(attributes),
        }
    }

    fn data() -> ThreatData {
        ThreatData {
            nodes: vec![
                node(1, "internet", "internet", json!({})),
                node(
                    2,
                    "host",
                    "m1",
                    json!({"hostname": "web", "interfaces": [
                        {"addresses": ["34.1.2.3/24", "not-an-address", "fe80::1/64"]}],
                        "cloud": {"public_ipv4": "52.0.0.1", "account_id": "123", "region": "eu"}}),
                ),
                node(3, "process", "m1/10:1", json!({})),
                node(4, "container", "c1", json!({})),
                node(5, "image", "sha256:i", json!({})),
            ],
            edges: vec![
                edge("runs", 2, Some(3), json!({})),
                edge("runs", 2, Some(4), json!({})),
                edge("instance_of", 4, Some(5), json!({})),
                edge(
                    "listens",
                    3,
                    Some(2),
                    json!({"proto": "tcp", "address": "0.0.0.0", "port": 443}),
                ),
                edge(
                    "listens",
                    3,
                    Some(2),
                    json!({"proto": "tcp", "address": "bogus", "port": 80}),
                ),
                edge(
                    "connects",
                    1,
                    Some(3),
                    json!({"direction": "inbound", "port": 443,
                    "peers": [{"address": "81.2.3.4"}, {"address": "82.2.3.4"}]}),
                ),
                edge(
                    "connects",
                    3,
                    None,
                    json!({"direction": "outbound", "port": 5432,
                    "peers": [{"address": "10.9.9.9"}]}),
                ),
                // An edge to a node that is no longer active is left out.
                edge("runs", 2, Some(99), json!({})),
            ],
            findings: vec![
                ThreatFinding {
                    id: 7,
                    node_id: 2,
                    kind: "vulnerability".into(),
                    rule_id: "CVE-1".into(),
                    severity: "high".into(),
                    evidence: Some(json!({
                        "package_name": "libssl3", "package_version": "3.0",
                        "purl": "pkg:deb/debian/libssl3@3.0",
                        "cvss": [{"base_score": 11.0, "vector": "x"},
                                 {"base_score": 7.5, "vector": "CVSS:3.1/AV:N"}],
                        "epss": {"score": 1.5, "percentile": 0.5},
                        "kev": {"ransomware": true}, "fixed_versions": ["3.1"],
                    })),
                },
                ThreatFinding {
                    id: 8,
                    node_id: 2,
                    kind: "vulnerability".into(),
                    rule_id: "CVE-2".into(),
                    severity: "nonsense".into(),
                    evidence: Some(json!({
                        "package_name": "zlib1g", "package_version": "1",
                        "purl": "pkg:deb/debian/zlib1g@1",
                    })),
                },
                ThreatFinding {
                    id: 9,
                    node_id: 2,
                    kind: "vulnerability".into(),
                    rule_id: "CVE-3".into(),
                    severity: "low".into(),
                    evidence: Some(json!({
                        "package_name": "bash", "package_version": "5",
                        "purl": "pkg:rpm/redhat/bash@5",
                    })),
                },
            ],
            runtime: vec![HostRuntime {
                machine_id: "m1".into(),
                runtime: RuntimeUse {
                    databases: vec!["deb".into()],
                    processes: 1,
                    files_in_use: 1,
                    packages: vec![PackageInUse {
                        ecosystem: "deb".into(),
                        name: "libssl3".into(),
                        version: "3.0-other".into(),
                        files: vec!["/usr/lib/libssl.so.3".into()],
                    }],
                    language_files: vec![],
                    ..RuntimeUse::default()
                },
            }],
            processes_left_out: 0,
            kube: KubeObjects::default(),
        }
    }

    #[test]
    fn kube_objects_map_to_services_and_ingress_rules() {
        let obj = |id: i64, key: &str, attributes: Value, pods: &[i64]| KubeObject {
            id,
            key: key.into(),
            name: format!("n{id}"),
            attributes: Some(attributes),
            pods: pods.to_vec(),
        };
        let ports = json!([{"protocol": "TCP", "port": 443, "node_port": 31443},
                           {"protocol": "TCP", "port": 80}]);
        let k = KubeObjects {
            services: vec![
                obj(
                    10,
                    "lb",
                    json!({"type": "LoadBalancer", "namespace": "shop", "ports": ports,
                    "load_balancer": ["10.0.0.7", "a.elb.example.com"]}),
                    &[4],
                ),
                obj(
                    11,
                    "np",
                    json!({"type": "NodePort", "ports": ports}),
                    &[4, 5],
                ),
                obj(12, "odd", json!({"type": "Weird"}), &[4]),
                obj(13, "cip", json!({"type": "ClusterIP"}), &[]),
            ],
            ingresses: vec![obj(
                20,
                "ing",
                json!({"namespace": "shop", "rules": [
                {"host": "a.example.com", "path": "/", "service_uid": "np"},
                {"host": "b.example.com", "service_uid": "cip"},
                {"service_uid": null}, {"service_uid": "odd"}, 5]}),
                &[],
            )],
        };
        let (services, ingresses) = kube_input(&k);
        assert_eq!(services.len(), 3, "the unknown type is left out");
        let lb = &services[0];
        assert_eq!(
            (lb.kind, lb.ports.as_slice()),
            (ServiceType::LoadBalancer, &[443, 80][..])
        );
        assert_eq!(
            lb.external_addresses,
            ["10.0.0.7"],
            "host names are not classified"
        );
        assert_eq!(lb.targets, ["4"]);
        assert_eq!(lb.namespace.as_deref(), Some("shop"));
        let np = &services[1];
        assert_eq!(
            (np.kind, np.ports.as_slice()),
            (ServiceType::NodePort, &[31443][..])
        );
        assert_eq!(np.targets, ["4", "5"]);
        // Rules whose Service has pods: np's, and odd's (its pods are known
        // even if its type is not).
        let hosts: Vec<Option<&str>> = ingresses.iter().map(|i| i.host.as_deref()).collect();
        assert_eq!(hosts, [Some("a.example.com"), None]);
        assert_eq!(ingresses[0].targets, ["4", "5"]);
        assert_eq!(ingresses[0].path.as_deref(), Some("/"));
    }

    #[test]
    fn store_data_maps_to_a_valid_graph_input() {
        let input = build_input(&data());
        let host = input.nodes.iter().find(|n| n.id == "2").unwrap();
        assert_eq!(
            host.addresses,
            vec!["34.1.2.3/24", "fe80::1/64", "52.0.0.1"]
        );
        assert_eq!(host.account.as_deref(), Some("123"));
        assert_eq!(host.hostnames, vec!["web"]);
        let kinds: Vec<&str> = input
            .edges
            .iter()
            .map(|e| match e {
                Edge::Runs { .. } => "runs",
                Edge::ProcessIn { .. } => "process_in",
                Edge::FromImage { .. } => "from_image",
                Edge::Holds { .. } => "holds",
                Edge::Listens { .. } => "listens",
                Edge::Connects { .. } => "connects",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "process_in",
                "runs",
                "from_image",
                "listens",
                "connects",
                "connects",
                "connects"
            ]
        );
        // Inbound from the internet: one edge per peer, from the local node.
        assert!(input.edges.contains(&Edge::Connects {
            source: "3".into(),
            target: "1".into(),
            direction: Direction::Inbound,
            peer_address: "82.2.3.4".into(),
            peer_port: None,
            local_port: Some(443),
        }));
        // An unmonitored private peer: to the internet node, never exposing.
        assert!(input.edges.contains(&Edge::Connects {
            source: "3".into(),
            target: "1".into(),
            direction: Direction::Outbound,
            peer_address: "10.9.9.9".into(),
            peer_port: Some(5432),
            local_port: None,
        }));
        let f = &input.findings[0];
        let v = f.vulnerability.as_ref().unwrap();
        assert_eq!(v.cvss_score, Some(7.5), "out-of-range scores are dropped");
        assert_eq!(v.epss, None);
        assert_eq!(v.epss_percentile, Some(0.5));
        assert!(v.kev && v.ransomware);
        assert_eq!(input.findings[1].severity, Severity::Unknown);
        // Runtime: in use by ecosystem and name; not reported with a read
        // database: an empty list; an rpm package on a dpkg host: nothing.
        assert_eq!(input.runtime[0].files, vec!["/usr/lib/libssl.so.3"]);
        let owned: Vec<(&str, usize)> = input
            .ownership
            .iter()
            .map(|o| (o.name.as_str(), o.files.len()))
            .collect();
        assert_eq!(owned, [("libssl3", 1), ("zlib1g", 0)]);
        let a = Analysis::run(input).unwrap();
        let top = a.top(3);
        assert_eq!(top[0].rule_id, "CVE-1");
        assert_eq!(a.reach("3"), Some(rampart_graph::Reach::Hops { hops: 1 }));
        let rt = |rule: &str| {
            top.iter()
                .find(|r| r.rule_id == rule)
                .unwrap()
                .runtime
                .clone()
        };
        assert!(matches!(
            rt("CVE-1"),
            rampart_graph::RuntimeUse::InUse { .. }
        ));
        assert_eq!(rt("CVE-2"), rampart_graph::RuntimeUse::NotInUse);
        assert!(matches!(
            rt("CVE-3"),
            rampart_graph::RuntimeUse::Unknown { .. }
        ));
    }

    fn vuln_on(id: i64, node: i64, cve: &str, package: &str) -> ThreatFinding {
        ThreatFinding {
            id,
            node_id: node,
            kind: "vulnerability".into(),
            rule_id: cve.into(),
            severity: "high".into(),
            evidence: Some(json!({
                "package_name": package, "package_version": "1",
                "purl": format!("pkg:deb/debian/{package}@1"),
                "cvss": [{"base_score": 7.5, "vector": "CVSS:3.1/AV:N"}],
            })),
        }
    }

    #[test]
    fn an_image_is_not_in_use_only_when_every_container_says_so() {
        let mut d = data();
        // c2 (node 6) also runs image 5, and its sensor read nothing.
        d.nodes.push(node(6, "container", "c2", json!({})));
        d.edges.push(edge("runs", 2, Some(6), json!({})));
        d.edges.push(edge("instance_of", 6, Some(5), json!({})));
        d.findings = vec![
            vuln_on(20, 5, "CVE-IMG-SSL", "libssl3"),
            vuln_on(21, 5, "CVE-IMG-ZLIB", "zlib1g"),
        ];
        d.runtime[0].runtime.containers = vec![ContainerRuntime {
            container: "c1".into(),
            databases: vec!["deb".into()],
            processes: 1,
            files_in_use: 1,
            packages: vec![PackageInUse {
                ecosystem: "deb".into(),
                name: "libssl3".into(),
                version: "3.0.11-1".into(),
                files: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
            }],
            language_files: vec![],
            skipped: vec![],
        }];
        let rt = |d: &ThreatData, rule: &str| {
            Analysis::run(build_input(d))
                .unwrap()
                .top(10)
                .iter()
                .find(|r| r.rule_id == rule)
                .unwrap_or_else(|| panic!("{rule}"))
                .runtime
                .clone()
        };
        // In use in one container: in use.
        assert!(matches!(
            rt(&d, "CVE-IMG-SSL"),
            rampart_graph::RuntimeUse::InUse { .. }
        ));
        // Unused where read, unread in c2: unknown, not "not in use".
        assert!(matches!(
            rt(&d, "CVE-IMG-ZLIB"),
            rampart_graph::RuntimeUse::Unknown { .. }
        ));
        // Once c2 reports its database too, it is not in use.
        d.runtime[0].runtime.containers.push(ContainerRuntime {
            container: "c2".into(),
            databases: vec!["deb".into()],
            ..ContainerRuntime::default()
        });
        assert_eq!(rt(&d, "CVE-IMG-ZLIB"), rampart_graph::RuntimeUse::NotInUse);
    }

    #[test]
    fn container_runtime_evidence_goes_to_the_container_and_its_image() {
        let mut d = data();
        d.nodes.push(node(6, "container", "c2", json!({})));
        d.findings = vec![
            vuln_on(20, 5, "CVE-IMG-SSL", "libssl3"),
            vuln_on(21, 5, "CVE-IMG-ZLIB", "zlib1g"),
            vuln_on(22, 4, "CVE-CT-SSL", "libssl3"),
            vuln_on(23, 6, "CVE-CT2-SSL", "libssl3"),
            // The host runs no libssl3 in this test: the container's use
            // is not the host's.
            vuln_on(24, 2, "CVE-HOST-CURL", "curl"),
        ];
        d.runtime[0].runtime.packages.clear();
        d.runtime[0].runtime.containers = vec![
            ContainerRuntime {
                container: "c1".into(),
                databases: vec!["deb".into()],
                processes: 1,
                files_in_use: 1,
                packages: vec![PackageInUse {
                    ecosystem: "deb".into(),
                    name: "libssl3".into(),
                    version: "3.0.11-1".into(),
                    files: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
                }],
                language_files: vec![],
                skipped: vec![],
            },
            // A container the console does not know: ignored.
            ContainerRuntime {
                container: "gone".into(),
                ..ContainerRuntime::default()
            },
        ];
        let input = build_input(&d);
        let ev: Vec<(&str, &[String])> = input
            .runtime
            .iter()
            .map(|r| (r.node.as_str(), r.files.as_slice()))
            .collect();
        assert_eq!(
            ev,
            [
                ("2", &[][..]),
                (
                    "4",
                    &["/usr/lib/x86_64-linux-gnu/libssl.so.3".to_string()][..]
                )
            ]
        );
        let a = Analysis::run(input).unwrap();
        let top = a.top(10);
        let rt = |rule: &str| {
            top.iter()
                .find(|r| r.rule_id == rule)
                .unwrap_or_else(|| panic!("{rule}"))
                .runtime
                .clone()
        };
        assert!(
            matches!(rt("CVE-IMG-SSL"), rampart_graph::RuntimeUse::InUse { .. }),
            "{:?}",
            rt("CVE-IMG-SSL")
        );
        assert!(matches!(
            rt("CVE-CT-SSL"),
            rampart_graph::RuntimeUse::InUse { .. }
        ));
        assert_eq!(rt("CVE-IMG-ZLIB"), rampart_graph::RuntimeUse::NotInUse);
        assert_eq!(rt("CVE-HOST-CURL"), rampart_graph::RuntimeUse::NotInUse);
        // A container that reported nothing: unknown, whatever its sibling does.
        assert!(matches!(
            rt("CVE-CT2-SSL"),
            rampart_graph::RuntimeUse::Unknown { .. }
        ));
    }

    #[test]
    fn a_secret_naming_another_host_is_a_lateral_edge() {
        let mut d = data();
        d.nodes.push(node(
            10,
            "host",
            "m-db",
            json!({"hostname": "db.internal", "interfaces": [{"addresses": ["10.0.0.9/24"]}]}),
        ));
        d.findings.push(ThreatFinding {
            id: 30,
            node_id: 2,
            kind: "secret".into(),
            rule_id: "RMP-SECRET-DB-001".into(),
            severity: "high".into(),
            evidence: Some(json!({
                "kind": "secret", "rule_id": "RMP-SECRET-DB-001", "path": "/app/.env",
                "redacted": "FA********e9", "targets": ["db.internal:5432", 7, ""],
            })),
        });
        // The same credential by address, on a container (node 4).
        d.findings.push(ThreatFinding {
            id: 31,
            node_id: 4,
            kind: "secret".into(),
            rule_id: "RMP-SECRET-DB-007".into(),
            severity: "high".into(),
            evidence: Some(json!({"targets": ["10.0.0.9:5432"]})),
        });
        let input = build_input(&d);
        let f = input.findings.iter().find(|f| f.id == "30").unwrap();
        assert_eq!(f.targets, ["db.internal:5432"]);
        let a = Analysis::run(input).unwrap();
        let mut lat: Vec<(String, String, String)> = a
            .laterals()
            .into_iter()
            .map(|l| (l.from, l.to, l.finding))
            .collect();
        lat.sort();
        assert_eq!(
            lat,
            [
                ("2".to_string(), "10".to_string(), "30".to_string()),
                ("4".to_string(), "10".to_string(), "31".to_string())
            ]
        );
        // The database host is reached from the internet through the
        // credential on the exposed web host.
        assert!(
            matches!(a.reach("10"), Some(rampart_graph::Reach::Hops { .. })),
            "{:?}",
            a.reach("10")
        );
    }
}
