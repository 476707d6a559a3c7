//! Derives an agent's part of the topology graph (nodes and edges) from the
//! entities it reports. Pure: what other hosts listen on is given to it, so
//! it can be tested without a store.
//!
//! Node keys (unique per type): a host is its `machine_id`; a process
//! `MACHINE_ID/PID:START_TICKS`; a container its id; an image its id
//! (`sha256:...`) or `ref:REFERENCE` when the runtime gave none; a pod its
//! UID; a namespace its name; a Kubernetes Service or Ingress its UID; the
//! internet node `internet`.
//!
//! Edge keys make an edge unique per (kind, source, key) and name the
//! target: `runs`, `instance_of` and `holds` edges use `TYPE:KEY` of their
//! target; `listens` the socket (`tcp:ADDRESS:PORT`); `connects`
//! `PROTO:PORT>TYPE:KEY` (or `PROTO:PORT>external-private`); `selects`
//! (Service -> pod) and `routes` (Ingress -> Service) `TYPE:KEY` of their
//! target.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use rampart_model::agent::{
    Connection, Direction, Entity, HostFacts, Ingress as KubeIngress, ListenSocket, Proto,
    Service as KubeService,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::addr::{self, AddrClass};

/// The edge kinds.
pub const EDGE_KINDS: &[&str] = &[
    "runs",
    "instance_of",
    "holds",
    "listens",
    "connects",
    "selects",
    "routes",
];

/// A relation between two nodes (see `docs/console.md` for each kind).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Edge {
    pub id: i64,
    /// `runs`, `instance_of`, `holds`, `listens`, `connects`, `selects`
    /// (a Kubernetes Service to a pod it sends traffic to) or `routes` (an
    /// Ingress to a Service).
    pub kind: String,
    /// The source node's id.
    pub source: i64,
    /// The target node's id; `null` for a connection to an unmonitored
    /// private peer (`attributes.endpoint` is `external-private`).
    pub target: Option<i64>,
    #[schema(value_type = Object)]
    pub attributes: Option<Value>,
    pub active: bool,
    pub first_seen: String,
    pub last_seen: String,
}

/// The key of the one internet node.
pub const INTERNET_KEY: &str = "internet";

/// At most this many peer addresses are kept on a connection edge.
pub const MAX_PEERS: usize = 16;

/// A node by type and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeRef {
    pub kind: &'static str,
    pub key: String,
}

impl NodeRef {
    fn new(kind: &'static str, key: impl Into<String>) -> Self {
        NodeRef {
            kind,
            key: key.into(),
        }
    }

    /// `TYPE:KEY`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind, self.key)
    }

    /// The internet node.
    pub fn internet() -> Self {
        NodeRef::new("internet", INTERNET_KEY)
    }
}

/// A node an agent's report implies.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredNode {
    pub node: NodeRef,
    pub name: String,
    pub parent: Option<NodeRef>,
    pub attributes: Value,
}

/// An edge an agent's report implies.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredEdge {
    pub kind: &'static str,
    pub source: NodeRef,
    pub target: Option<NodeRef>,
    pub key: String,
    pub attributes: Value,
}

/// A socket another monitored host listens on (from its `listens` edges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteListen {
    pub proto: Proto,
    pub address: Option<IpAddr>,
    pub port: u16,
    /// The listening process node's key.
    pub process_key: String,
}

/// Another monitored host, found by one of its interface addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHost {
    pub machine_id: String,
    pub listens: Vec<RemoteListen>,
}

/// What an agent's report implies, in insertion order (parents first).
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub nodes: Vec<DesiredNode>,
    pub edges: Vec<DesiredEdge>,
}

/// The node type order in which nodes are written (parents before children).
const NODE_ORDER: &[&str] = &[
    "internet",
    "host",
    "namespace",
    "image",
    "pod",
    "service",
    "ingress",
    "container",
    "process",
];

fn order(kind: &str) -> usize {
    NODE_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(NODE_ORDER.len())
}

/// The addresses of a host's interfaces.
pub fn host_addresses(host: &HostFacts) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = host
        .interfaces
        .iter()
        .flat_map(|i| i.addresses.iter())
        .filter_map(|a| addr::parse(a))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Remote addresses of outbound connections that may be other monitored
/// hosts (not loopback, not this host's own): what the caller looks up.
pub fn remote_candidates(host: &HostFacts, entities: &[&Entity]) -> Vec<IpAddr> {
    let own: HashSet<IpAddr> = host_addresses(host).into_iter().collect();
    let mut out: Vec<IpAddr> = entities
        .iter()
        .filter_map(|e| match e {
            Entity::Connection(c) => addr::parse(&c.remote_address),
            _ => None,
        })
        .filter(|ip| !own.contains(ip) && addr::classify(*ip) != AddrClass::Loopback)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

/// Whether a socket bound to `bound` accepts connections to `to`.
fn accepts(bound: Option<IpAddr>, to: IpAddr) -> bool {
    match bound {
        None => true,
        Some(b) if b.is_unspecified() => true,
        Some(b) => b == to,
    }
}

struct Builder<'a> {
    machine_id: &'a str,
    nodes: BTreeMap<NodeRef, DesiredNode>,
    edges: BTreeMap<(&'static str, NodeRef, String), DesiredEdge>,
}

impl Builder<'_> {
    fn node(&mut self, n: DesiredNode) {
        self.nodes.insert(n.node.clone(), n);
    }

    fn edge(&mut self, e: DesiredEdge) {
        self.edges
            .insert((e.kind, e.source.clone(), e.key.clone()), e);
    }

    fn process_ref(&self, process_key: &str) -> NodeRef {
        NodeRef::new("process", format!("{}/{process_key}", self.machine_id))
    }

    /// Adds `peer` to the aggregated connection edge, creating it if needed.
    fn connection(
        &mut self,
        source: NodeRef,
        target: Option<NodeRef>,
        proto: Proto,
        port: u16,
        direction: Direction,
        peer: IpAddr,
    ) {
        let target_label = target
            .as_ref()
            .map_or_else(|| "external-private".to_string(), NodeRef::label);
        let key = format!("{}:{port}>{target_label}", proto_name(proto));
        let peer_json = json!({
            "address": peer.to_string(),
            "class": addr::classify(peer).as_str(),
        });
        let entry = self
            .edges
            .entry(("connects", source.clone(), key.clone()))
            .or_insert_with(|| DesiredEdge {
                kind: "connects",
                source,
                target: target.clone(),
                key,
                attributes: json!({
                    "proto": proto_name(proto),
                    "port": port,
                    "direction": match direction {
                        Direction::Inbound => "inbound",
                        Direction::Outbound => "outbound",
                    },
                    "endpoint": if target.is_some() { "node" } else { "external-private" },
                    "peers": [],
                }),
            });
        if let Some(peers) = entry
            .attributes
            .get_mut("peers")
            .and_then(Value::as_array_mut)
            && peers.len() < MAX_PEERS
            && !peers.contains(&peer_json)
        {
            peers.push(peer_json);
            peers.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
        }
    }
}

/// The namespace node of a cluster object (created when absent).
fn namespace_of(b: &mut Builder<'_>, ns: &str) -> NodeRef {
    let ns_ref = NodeRef::new("namespace", ns);
    b.node(DesiredNode {
        node: ns_ref.clone(),
        name: ns.to_string(),
        parent: None,
        attributes: json!({}),
    });
    ns_ref
}

/// A Service node and a `selects` edge to each pod its EndpointSlices name
/// (the pods may be reported by other agents: see
/// [`Desired::retain_known_targets`]).
fn kube_service(b: &mut Builder<'_>, s: &KubeService) {
    let node = NodeRef::new("service", s.key.clone());
    let parent = namespace_of(b, &s.namespace);
    b.node(DesiredNode {
        node: node.clone(),
        name: s.name.clone(),
        parent: Some(parent),
        attributes: json!({
            "cluster": s.cluster,
            "namespace": s.namespace,
            "type": s.service_type,
            "ports": s.ports,
            "load_balancer": s.load_balancer,
            "pods": s.pod_uids,
        }),
    });
    for uid in &s.pod_uids {
        let pod = NodeRef::new("pod", uid.clone());
        b.edge(DesiredEdge {
            kind: "selects",
            source: node.clone(),
            key: pod.label(),
            target: Some(pod),
            attributes: json!({}),
        });
    }
}

/// An Ingress node and a `routes` edge to each backend Service that exists
/// (its rules, by host and path, on the edge).
fn kube_ingress(b: &mut Builder<'_>, i: &KubeIngress) {
    let node = NodeRef::new("ingress", i.key.clone());
    let parent = namespace_of(b, &i.namespace);
    b.node(DesiredNode {
        node: node.clone(),
        name: i.name.clone(),
        parent: Some(parent),
        attributes: json!({
            "cluster": i.cluster,
            "namespace": i.namespace,
            "class": i.class,
            "rules": i.rules,
            "load_balancer": i.load_balancer,
        }),
    });
    let mut by_service: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in &i.rules {
        if let Some(uid) = &r.service_uid {
            by_service.entry(uid.as_str()).or_default().push(json!({
                "host": r.host, "path": r.path, "port": r.port, "port_name": r.port_name,
            }));
        }
    }
    for (uid, rules) in by_service {
        let svc = NodeRef::new("service", uid);
        b.edge(DesiredEdge {
            kind: "routes",
            source: node.clone(),
            key: svc.label(),
            target: Some(svc),
            attributes: json!({ "rules": rules }),
        });
    }
}

impl Desired {
    /// The pods `selects` edges point to (what [`Self::retain_known_targets`] needs).
    pub fn selected_pods(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .edges
            .iter()
            .filter(|e| e.kind == "selects")
            .filter_map(|e| e.target.as_ref().map(|t| t.key.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Drops the `selects` edges to pods that no node stands for (yet): a
    /// Service lists pods of every node, reported by other agents; the
    /// edge appears with the report after the pod's.
    pub fn retain_known_targets(&mut self, known_pods: &HashSet<String>) {
        let own: HashSet<NodeRef> = self.nodes.iter().map(|n| n.node.clone()).collect();
        self.edges.retain(|e| match (&e.target, e.kind) {
            (Some(t), "selects") => own.contains(t) || known_pods.contains(&t.key),
            _ => true,
        });
    }
}

/// Derives the nodes and edges of one agent's host from its entities.
/// `peers` maps addresses of other monitored hosts (see
/// [`remote_candidates`]) to what they listen on.
pub fn derive(
    host: &HostFacts,
    entities: &[&Entity],
    peers: &HashMap<IpAddr, RemoteHost>,
) -> Desired {
    let machine = host.machine_id.as_str();
    let host_ref = NodeRef::new("host", machine);
    let mut b = Builder {
        machine_id: machine,
        nodes: BTreeMap::new(),
        edges: BTreeMap::new(),
    };
    b.node(DesiredNode {
        node: host_ref.clone(),
        name: host.hostname.clone(),
        parent: None,
        attributes: json!({
            "hostname": host.hostname,
            "os": host.os,
            "kernel": host.kernel,
            "arch": host.arch,
            "cpus": host.cpus,
            "memory_bytes": host.memory_bytes,
            "boot_time": host.boot_time,
            "interfaces": host.interfaces,
            "cloud": host.cloud,
        }),
    });
    let own: HashSet<IpAddr> = host_addresses(host).into_iter().collect();
    let mut processes: HashMap<&str, Option<&str>> = HashMap::new();
    let mut pods: HashMap<&str, NodeRef> = HashMap::new();
    let mut listens: Vec<&ListenSocket> = Vec::new();
    let mut connections: Vec<&Connection> = Vec::new();
    let mut containers: HashSet<&str> = HashSet::new();
    for e in entities {
        match e {
            Entity::Process(p) => {
                processes.insert(p.key.as_str(), p.container_id.as_deref());
            }
            Entity::Container(c) => {
                containers.insert(c.key.as_str());
            }
            Entity::Pod(p) => {
                pods.insert(p.key.as_str(), NodeRef::new("pod", p.key.clone()));
            }
            Entity::Listen(l) => listens.push(l),
            Entity::Connection(c) => connections.push(c),
            Entity::Service(_) | Entity::Ingress(_) => {}
        }
    }
    // Where a process runs: its container when the agent reported it, else the host.
    let place = |container: Option<&str>| -> NodeRef {
        match container {
            Some(id) if containers.contains(id) => NodeRef::new("container", id),
            _ => host_ref.clone(),
        }
    };
    for e in entities {
        match e {
            Entity::Pod(p) => {
                let pod = NodeRef::new("pod", p.key.clone());
                let namespace = p.namespace.as_ref().map(|ns| {
                    let ns_ref = NodeRef::new("namespace", ns.clone());
                    b.node(DesiredNode {
                        node: ns_ref.clone(),
                        name: ns.clone(),
                        parent: None,
                        attributes: json!({}),
                    });
                    b.edge(DesiredEdge {
                        kind: "holds",
                        source: ns_ref.clone(),
                        target: Some(pod.clone()),
                        key: pod.label(),
                        attributes: json!({}),
                    });
                    ns_ref
                });
                b.node(DesiredNode {
                    node: pod,
                    name: p.name.clone().unwrap_or_else(|| p.key.clone()),
                    parent: namespace,
                    attributes: json!({
                        "namespace": p.namespace,
                        "labels": p.labels,
                        "host": machine,
                    }),
                });
            }
            Entity::Container(c) => {
                let cref = NodeRef::new("container", c.key.clone());
                b.node(DesiredNode {
                    node: cref.clone(),
                    name: c.name.clone().unwrap_or_else(|| c.key.clone()),
                    parent: Some(host_ref.clone()),
                    attributes: json!({
                        "runtime": c.runtime,
                        "image": c.image,
                        "image_id": c.image_id,
                        "state": c.state,
                        "labels": c.labels,
                        "pod_uid": c.pod_uid,
                    }),
                });
                b.edge(DesiredEdge {
                    kind: "runs",
                    source: host_ref.clone(),
                    target: Some(cref.clone()),
                    key: cref.label(),
                    attributes: json!({}),
                });
                let image_key = c
                    .image_id
                    .clone()
                    .or_else(|| c.image.as_ref().map(|r| format!("ref:{r}")));
                if let Some(key) = image_key {
                    let iref = NodeRef::new("image", key.clone());
                    b.node(DesiredNode {
                        node: iref.clone(),
                        name: c.image.clone().unwrap_or(key),
                        parent: None,
                        attributes: json!({ "reference": c.image, "id": c.image_id }),
                    });
                    b.edge(DesiredEdge {
                        kind: "instance_of",
                        source: cref.clone(),
                        target: Some(iref.clone()),
                        key: iref.label(),
                        attributes: json!({}),
                    });
                }
                if let Some(pod) = c.pod_uid.as_deref().and_then(|u| pods.get(u)) {
                    b.edge(DesiredEdge {
                        kind: "holds",
                        source: pod.clone(),
                        target: Some(cref.clone()),
                        key: cref.label(),
                        attributes: json!({}),
                    });
                }
            }
            Entity::Process(p) => {
                let pref = b.process_ref(&p.key);
                let parent = place(p.container_id.as_deref());
                b.node(DesiredNode {
                    node: pref.clone(),
                    name: p.name.clone(),
                    parent: Some(parent.clone()),
                    attributes: json!({
                        "pid": p.pid,
                        "ppid": p.ppid,
                        "exe": p.exe,
                        "cmdline": p.cmdline,
                        "uid": p.uid,
                        "user": p.user,
                        "start_time": p.start_time,
                        "container_id": p.container_id,
                        "host": machine,
                    }),
                });
                b.edge(DesiredEdge {
                    kind: "runs",
                    source: parent,
                    target: Some(pref.clone()),
                    key: pref.label(),
                    attributes: json!({}),
                });
            }
            Entity::Service(svc) => kube_service(&mut b, svc),
            Entity::Ingress(ing) => kube_ingress(&mut b, ing),
            Entity::Listen(_) | Entity::Connection(_) => {}
        }
    }
    // Listening sockets: an edge from the owning process (or the host when
    // no process was found) to where the socket lives (container or host).
    for l in &listens {
        let owner = l
            .process_key
            .as_deref()
            .filter(|k| processes.contains_key(k));
        let source = owner.map_or_else(|| host_ref.clone(), |k| b.process_ref(k));
        let target = place(owner.and_then(|k| processes.get(k).copied().flatten()));
        b.edge(DesiredEdge {
            kind: "listens",
            source,
            target: Some(target),
            key: l.key.clone(),
            attributes: json!({
                "proto": proto_name(l.proto),
                "address": l.address,
                "port": l.port,
            }),
        });
    }
    for c in &connections {
        let Some(remote) = addr::parse(&c.remote_address) else {
            continue;
        };
        if remote.is_unspecified() {
            continue;
        }
        let client_key = c
            .process_key
            .as_deref()
            .filter(|k| processes.contains_key(k));
        let local = client_key.map_or_else(|| host_ref.clone(), |k| b.process_ref(k));
        let class = addr::classify(remote);
        let on_this_host = class == AddrClass::Loopback || own.contains(&remote);
        match c.direction {
            Direction::Inbound => {
                // A peer on this host or on another monitored host reports
                // the outbound side, which names both ends.
                if on_this_host || peers.contains_key(&remote) {
                    continue;
                }
                if class == AddrClass::Public {
                    b.connection(
                        NodeRef::internet(),
                        Some(local),
                        c.proto,
                        c.local_port,
                        Direction::Inbound,
                        remote,
                    );
                } else {
                    b.connection(
                        local,
                        None,
                        c.proto,
                        c.local_port,
                        Direction::Inbound,
                        remote,
                    );
                }
            }
            Direction::Outbound => {
                let target = if on_this_host {
                    // The listener in the same network namespace (the same
                    // container, or both on the host).
                    let client_ns = client_key.and_then(|k| processes.get(k).copied().flatten());
                    let server = listens.iter().find(|l| {
                        l.proto == c.proto
                            && l.port == c.remote_port
                            && accepts(addr::parse(&l.address), remote)
                            && l.process_key
                                .as_deref()
                                .and_then(|k| processes.get(k))
                                .is_some_and(|ns| *ns == client_ns)
                    });
                    Some(
                        server
                            .and_then(|l| l.process_key.as_deref())
                            .map_or_else(|| host_ref.clone(), |k| b.process_ref(k)),
                    )
                } else if let Some(h) = peers.get(&remote) {
                    let server = h.listens.iter().find(|l| {
                        l.proto == c.proto && l.port == c.remote_port && accepts(l.address, remote)
                    });
                    Some(server.map_or_else(
                        || NodeRef::new("host", h.machine_id.clone()),
                        |l| NodeRef::new("process", l.process_key.clone()),
                    ))
                } else if class == AddrClass::Public {
                    Some(NodeRef::internet())
                } else {
                    None
                };
                b.connection(
                    local,
                    target,
                    c.proto,
                    c.remote_port,
                    Direction::Outbound,
                    remote,
                );
            }
        }
    }
    let mut nodes: Vec<DesiredNode> = b.nodes.into_values().collect();
    nodes.sort_by(|a, b| (order(a.node.kind), &a.node.key).cmp(&(order(b.node.kind), &b.node.key)));
    if b.edges.values().any(|e| {
        e.source.kind == "internet" || e.target.as_ref().is_some_and(|t| t.kind == "internet")
    }) {
        nodes.insert(
            0,
            DesiredNode {
                node: NodeRef::internet(),
                name: "internet".into(),
                parent: None,
                attributes: json!({}),
            },
        );
    }
    Desired {
        nodes,
        edges: b.edges.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_model::agent::{Interface, OsInfo, Process};

    fn host() -> HostFacts {
        HostFacts {
            machine_id: "m1".into(),
            hostname: "h1".into(),
            os: OsInfo::default(),
            kernel: "6.1".into(),
            arch: "x86_64".into(),
            cpus: 1,
            memory_bytes: 1,
            boot_time: 0,
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: None,
                addresses: vec!["10.0.0.1/24".into()],
            }],
            cloud: None,
        }
    }

    fn process(key: &str, container: Option<&str>) -> Entity {
        Entity::Process(Process {
            key: key.into(),
            pid: 1,
            ppid: 0,
            name: "p".into(),
            exe: None,
            cmdline: vec![],
            uid: 0,
            user: None,
            start_time: 0,
            container_id: container.map(str::to_string),
        })
    }

    fn listen(address: &str, port: u16, owner: &str) -> Entity {
        Entity::Listen(ListenSocket {
            key: format!("tcp:{address}:{port}"),
            proto: Proto::Tcp,
            address: address.into(),
            port,
            process_key: Some(owner.into()),
            pid: None,
        })
    }

    fn outbound(remote: &str, port: u16, owner: &str) -> Entity {
        Entity::Connection(Connection {
            key: format!("tcp:x->{remote}:{port}"),
            proto: Proto::Tcp,
            local_address: "127.0.0.1".into(),
            local_port: 40000,
            remote_address: remote.into(),
            remote_port: port,
            state: "ESTABLISHED".into(),
            direction: Direction::Outbound,
            process_key: Some(owner.into()),
            pid: None,
        })
    }

    fn container(id: &str) -> Entity {
        Entity::Container(rampart_model::agent::Container {
            key: id.into(),
            runtime: "docker".into(),
            name: None,
            image: Some("nginx".into()),
            image_id: None,
            state: "running".into(),
            labels: BTreeMap::new(),
            pod_uid: None,
        })
    }

    fn target_of<'a>(d: &'a Desired, source: &str) -> Vec<Option<&'a NodeRef>> {
        d.edges
            .iter()
            .filter(|e| e.kind == "connects" && e.source.key == source)
            .map(|e| e.target.as_ref())
            .collect()
    }

    #[test]
    fn loopback_stays_in_its_network_namespace() {
        // A process in a container listens on 80; a host process connecting
        // to 127.0.0.1:80 does not reach it (different namespaces).
        let entities = [
            container("c1"),
            process("1:1", Some("c1")),
            listen("0.0.0.0", 80, "1:1"),
            process("2:1", None),
            outbound("127.0.0.1", 80, "2:1"),
            process("3:1", Some("c1")),
            outbound("127.0.0.1", 80, "3:1"),
        ];
        let refs: Vec<&Entity> = entities.iter().collect();
        let d = derive(&host(), &refs, &HashMap::new());
        let host_ref = NodeRef::new("host", "m1");
        assert_eq!(target_of(&d, "m1/2:1"), [Some(&host_ref)]);
        let server = NodeRef::new("process", "m1/1:1");
        assert_eq!(target_of(&d, "m1/3:1"), [Some(&server)]);
        // The image has no id: keyed by its reference.
        assert!(d.nodes.iter().any(|n| n.node.key == "ref:nginx"));
        // Parents come before children.
        let pos = |k: &str| d.nodes.iter().position(|n| n.node.key == k).unwrap();
        assert!(pos("m1") < pos("c1") && pos("c1") < pos("m1/1:1"));
    }

    #[test]
    fn remote_listeners_must_accept_the_address() {
        let entities = [process("2:1", None), outbound("10.0.0.2", 5432, "2:1")];
        let refs: Vec<&Entity> = entities.iter().collect();
        let peer = |bound: &str| {
            HashMap::from([(
                addr::parse("10.0.0.2").unwrap(),
                RemoteHost {
                    machine_id: "m2".into(),
                    listens: vec![RemoteListen {
                        proto: Proto::Tcp,
                        address: addr::parse(bound),
                        port: 5432,
                        process_key: "m2/9:9".into(),
                    }],
                },
            )])
        };
        let d = derive(&host(), &refs, &peer("127.0.0.1"));
        assert_eq!(target_of(&d, "m1/2:1"), [Some(&NodeRef::new("host", "m2"))]);
        let d = derive(&host(), &refs, &peer("::"));
        assert_eq!(
            target_of(&d, "m1/2:1"),
            [Some(&NodeRef::new("process", "m2/9:9"))]
        );
        assert_eq!(
            remote_candidates(&host(), &refs),
            vec![addr::parse("10.0.0.2").unwrap()]
        );
    }
}
