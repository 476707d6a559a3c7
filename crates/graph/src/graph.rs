//! The validated, interned graph: node ids become indices, edges are checked
//! against the kinds they may join, addresses are parsed once.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::GraphError;
use crate::addr::{classify, parse_address};
use crate::model::{Direction, Edge, GraphInput, Node, NodeKind, Proto};
use crate::runtime::FilesInUse;

/// Index of a node in [`Graph::nodes`].
pub type NodeIx = u32;

/// A listening socket, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Listener {
    pub node: NodeIx,
    pub proto: Proto,
    pub address: IpAddr,
    pub port: u16,
}

/// A connection between two monitored nodes, oriented client -> server.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub client: NodeIx,
    pub server: NodeIx,
    pub edge: u32,
}

/// The input, checked and indexed.
#[derive(Debug)]
pub struct Graph {
    pub(crate) input: GraphInput,
    pub(crate) index: HashMap<String, NodeIx>,
    pub(crate) internet: NodeIx,
    /// Containers: the host that runs them.
    pub(crate) host_of: Vec<Option<NodeIx>>,
    /// Containers: their pod. Pods: their namespace node.
    pub(crate) pod_of: Vec<Option<NodeIx>>,
    /// Containers: their image.
    pub(crate) image_of: Vec<Option<NodeIx>>,
    /// Processes: the host or container they run in.
    pub(crate) parent_of: Vec<Option<NodeIx>>,
    /// Containment steps, parent -> children (runs, holds pod->container,
    /// process_in, from_image).
    pub(crate) children: Vec<Vec<NodeIx>>,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) links: Vec<Link>,
    /// Per node, whether any of its own addresses is public.
    pub(crate) public_address: Vec<Option<IpAddr>>,
    /// Files in use per node; images and pods get the union of their
    /// containers'.
    pub(crate) runtime: Vec<Option<FilesInUse>>,
    /// node -> package name -> version -> owned files.
    pub(crate) ownership: HashMap<NodeIx, HashMap<String, HashMap<String, Vec<String>>>>,
    /// The finding's node, per finding.
    pub(crate) finding_node: Vec<NodeIx>,
    /// Findings per node (indices into `input.findings`).
    pub(crate) node_findings: Vec<Vec<u32>>,
    /// Finding id -> index.
    pub(crate) finding_index: HashMap<String, u32>,
}

fn kind_err(edge: &'static str, a: &Node, b: &Node) -> GraphError {
    GraphError::EdgeKinds {
        edge,
        from: a.kind.as_str(),
        to: b.kind.as_str(),
        from_id: a.id.clone(),
        to_id: b.id.clone(),
    }
}

fn wrong_kind(what: &str, node: &Node, expected: &'static str) -> GraphError {
    GraphError::NodeKind {
        what: what.to_string(),
        id: node.id.clone(),
        kind: node.kind.as_str(),
        expected,
    }
}

fn ix(n: usize) -> NodeIx {
    NodeIx::try_from(n).unwrap_or(NodeIx::MAX)
}

impl Graph {
    /// Checks and indexes the input.
    ///
    /// # Errors
    ///
    /// A [`GraphError`] naming the first problem: a duplicate or unknown id,
    /// an edge between kinds it cannot join, an unreadable address, a score
    /// out of range.
    pub fn build(mut input: GraphInput) -> Result<Graph, GraphError> {
        // Indices are u32 (half the memory of usize); u32::MAX marks "none".
        let limit = u32::MAX as usize - 1;
        for (what, count) in [
            ("nodes", input.nodes.len()),
            ("findings", input.findings.len()),
            ("edges", input.edges.len()),
        ] {
            if count >= limit {
                return Err(GraphError::TooLarge { what, count });
            }
        }
        let mut index = HashMap::with_capacity(input.nodes.len() + 1);
        let mut internet = None;
        for (i, n) in input.nodes.iter().enumerate() {
            if n.id.is_empty() {
                return Err(GraphError::EmptyId { what: "node" });
            }
            if index.insert(n.id.clone(), ix(i)).is_some() {
                return Err(GraphError::DuplicateNode { id: n.id.clone() });
            }
            if n.kind == NodeKind::Internet {
                if let Some(first) = internet {
                    let first: &Node = &input.nodes[first as usize];
                    return Err(GraphError::TwoInternets {
                        first: first.id.clone(),
                        second: n.id.clone(),
                    });
                }
                internet = Some(ix(i));
            }
        }
        let internet = if let Some(i) = internet {
            i
        } else {
            let id = "internet".to_string();
            if index.contains_key(&id) {
                return Err(GraphError::ReservedId { id });
            }
            let i = ix(input.nodes.len());
            input.nodes.push(Node {
                id: id.clone(),
                kind: NodeKind::Internet,
                name: "internet".into(),
                addresses: Vec::new(),
                hostnames: Vec::new(),
                cluster: None,
                namespace: None,
                account: None,
                region: None,
                host_network: false,
                observed: true,
            });
            index.insert(id, i);
            i
        };
        let n = input.nodes.len();
        let mut g = Graph {
            index,
            internet,
            host_of: vec![None; n],
            pod_of: vec![None; n],
            image_of: vec![None; n],
            parent_of: vec![None; n],
            children: vec![Vec::new(); n],
            listeners: Vec::new(),
            links: Vec::new(),
            public_address: vec![None; n],
            runtime: Vec::new(),
            ownership: HashMap::new(),
            finding_node: Vec::with_capacity(input.findings.len()),
            node_findings: vec![Vec::new(); n],
            finding_index: HashMap::new(),
            input: GraphInput::default(),
        };
        for (i, node) in input.nodes.iter().enumerate() {
            for a in &node.addresses {
                let ip = parse_address(a)?;
                if g.public_address[i].is_none() && classify(ip).is_public() {
                    g.public_address[i] = Some(ip);
                }
            }
        }
        g.add_edges(&input)?;
        g.add_findings(&input)?;
        g.add_runtime(&mut input)?;
        g.check_exposure_inputs(&input)?;
        g.input = input;
        Ok(g)
    }

    pub(crate) fn lookup(&self, what: &str, id: &str) -> Result<NodeIx, GraphError> {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| GraphError::UnknownNode {
                what: what.to_string(),
                id: id.to_string(),
            })
    }

    /// The node with this index.
    #[must_use]
    pub fn node(&self, i: NodeIx) -> &Node {
        &self.input.nodes[i as usize]
    }

    /// The index of a node id.
    #[must_use]
    pub fn node_index(&self, id: &str) -> Option<NodeIx> {
        self.index.get(id).copied()
    }

    /// How many nodes (the internet node included).
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.input.nodes.len()
    }

    /// The input the graph was built from, with the internet node added;
    /// `runtime` and `ownership` were moved into the graph's indexes and
    /// are empty here.
    #[must_use]
    pub fn input(&self) -> &GraphInput {
        &self.input
    }

    /// The internet node.
    #[must_use]
    pub fn internet(&self) -> NodeIx {
        self.internet
    }

    fn kind(&self, nodes: &[Node], i: NodeIx) -> NodeKind {
        nodes[i as usize].kind
    }

    fn add_edges(&mut self, input: &GraphInput) -> Result<(), GraphError> {
        let nodes = &input.nodes;
        for (ei, edge) in input.edges.iter().enumerate() {
            match edge {
                Edge::Runs { host, container } => {
                    let (h, c) = (
                        self.lookup("a runs edge", host)?,
                        self.lookup("a runs edge", container)?,
                    );
                    if self.kind(nodes, h) != NodeKind::Host
                        || self.kind(nodes, c) != NodeKind::Container
                    {
                        return Err(kind_err("runs", &nodes[h as usize], &nodes[c as usize]));
                    }
                    self.host_of[c as usize] = Some(h);
                    self.children[h as usize].push(c);
                }
                Edge::FromImage { container, image } => {
                    let (c, im) = (
                        self.lookup("a from_image edge", container)?,
                        self.lookup("a from_image edge", image)?,
                    );
                    if self.kind(nodes, c) != NodeKind::Container
                        || self.kind(nodes, im) != NodeKind::Image
                    {
                        return Err(kind_err(
                            "from_image",
                            &nodes[c as usize],
                            &nodes[im as usize],
                        ));
                    }
                    self.image_of[c as usize] = Some(im);
                    self.children[c as usize].push(im);
                }
                Edge::Holds { parent, child } => {
                    let (p, c) = (
                        self.lookup("a holds edge", parent)?,
                        self.lookup("a holds edge", child)?,
                    );
                    match (self.kind(nodes, p), self.kind(nodes, c)) {
                        (NodeKind::Pod, NodeKind::Container) => {
                            self.pod_of[c as usize] = Some(p);
                            self.children[p as usize].push(c);
                        }
                        // Grouping only: a namespace is not a place an attacker stands.
                        (NodeKind::Namespace, NodeKind::Pod) => self.pod_of[c as usize] = Some(p),
                        _ => return Err(kind_err("holds", &nodes[p as usize], &nodes[c as usize])),
                    }
                }
                Edge::ProcessIn { parent, process } => {
                    let (p, c) = (
                        self.lookup("a process_in edge", parent)?,
                        self.lookup("a process_in edge", process)?,
                    );
                    if !matches!(self.kind(nodes, p), NodeKind::Host | NodeKind::Container)
                        || self.kind(nodes, c) != NodeKind::Process
                    {
                        return Err(kind_err(
                            "process_in",
                            &nodes[p as usize],
                            &nodes[c as usize],
                        ));
                    }
                    self.parent_of[c as usize] = Some(p);
                    self.children[p as usize].push(c);
                }
                Edge::Listens {
                    node,
                    proto,
                    address,
                    port,
                } => {
                    let l = self.lookup("a listens edge", node)?;
                    let k = self.kind(nodes, l);
                    if !matches!(k, NodeKind::Process | NodeKind::Host | NodeKind::Container) {
                        return Err(wrong_kind(
                            "a listens edge",
                            &nodes[l as usize],
                            "process, host or container",
                        ));
                    }
                    self.listeners.push(Listener {
                        node: l,
                        proto: *proto,
                        address: parse_address(address)?,
                        port: *port,
                    });
                }
                Edge::Connects {
                    source,
                    target,
                    direction,
                    peer_address,
                    ..
                } => {
                    let s = self.lookup("a connects edge", source)?;
                    let t = self.lookup("a connects edge", target)?;
                    parse_address(peer_address)?;
                    if s == self.internet {
                        return Err(kind_err("connects", &nodes[s as usize], &nodes[t as usize]));
                    }
                    if t != self.internet && t != s {
                        let (client, server) = match direction {
                            Direction::Outbound => (s, t),
                            Direction::Inbound => (t, s),
                        };
                        self.links.push(Link {
                            client,
                            server,
                            edge: u32::try_from(ei).unwrap_or(u32::MAX),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn add_findings(&mut self, input: &GraphInput) -> Result<(), GraphError> {
        self.finding_index.reserve(input.findings.len());
        for (fi, f) in input.findings.iter().enumerate() {
            if f.id.is_empty() {
                return Err(GraphError::EmptyId { what: "finding" });
            }
            let fix = u32::try_from(fi).unwrap_or(u32::MAX);
            if self.finding_index.insert(f.id.clone(), fix).is_some() {
                return Err(GraphError::DuplicateFinding { id: f.id.clone() });
            }
            // The message is only built on error: this runs once per finding.
            let node = match self.index.get(&f.node) {
                Some(&n) => n,
                None => self.lookup(&format!("finding {:?}", f.id), &f.node)?,
            };
            if node == self.internet {
                return Err(GraphError::UnknownNode {
                    what: format!("finding {:?}", f.id),
                    id: f.node.clone(),
                });
            }
            if let Some(v) = &f.vulnerability {
                let checks = [
                    ("cvss_score", v.cvss_score, 10.0, "0-10"),
                    ("epss", v.epss, 1.0, "0-1"),
                    ("epss_percentile", v.epss_percentile, 1.0, "0-1"),
                ];
                for (field, value, max, range) in checks {
                    if let Some(x) = value
                        && !(0.0..=max).contains(&x)
                    {
                        return Err(GraphError::OutOfRange {
                            finding: f.id.clone(),
                            field,
                            value: x,
                            range,
                        });
                    }
                }
            }
            self.finding_node.push(node);
            self.node_findings[node as usize].push(fix);
        }
        Ok(())
    }

    fn add_runtime(&mut self, input: &mut GraphInput) -> Result<(), GraphError> {
        let n = input.nodes.len();
        let mut runtime: Vec<Option<FilesInUse>> = vec![None; n];
        // Moved into the index: the paths are kept once.
        for ev in std::mem::take(&mut input.runtime) {
            let i = self.lookup("runtime evidence", &ev.node)? as usize;
            runtime[i]
                .get_or_insert_with(FilesInUse::default)
                .extend(ev.files.iter().map(String::as_str));
        }
        // Images and pods with findings: the union of their containers' evidence.
        let wanted: Vec<bool> = (0..n)
            .map(|i| {
                matches!(input.nodes[i].kind, NodeKind::Image | NodeKind::Pod)
                    && !self.node_findings[i].is_empty()
            })
            .collect();
        for c in 0..n {
            if input.nodes[c].kind != NodeKind::Container {
                continue;
            }
            let Some(own) = runtime[c].take() else {
                continue;
            };
            for up in [self.image_of[c], self.pod_of[c]]
                .into_iter()
                .flatten()
                .filter(|u| wanted[*u as usize])
            {
                runtime[up as usize]
                    .get_or_insert_with(FilesInUse::default)
                    .merge(&own);
            }
            runtime[c] = Some(own);
        }
        // Only nodes with findings are ever asked; an empty index still
        // means "evidence exists".
        for (i, r) in runtime.iter_mut().enumerate() {
            if self.node_findings[i].is_empty() && r.is_some() {
                *r = Some(FilesInUse::default());
            }
        }
        self.runtime = runtime;
        for pf in std::mem::take(&mut input.ownership) {
            let i = self.lookup("package files", &pf.node)?;
            self.ownership
                .entry(i)
                .or_default()
                .entry(pf.name)
                .or_default()
                .entry(pf.version)
                .or_default()
                .extend(pf.files);
        }
        Ok(())
    }

    fn check_exposure_inputs(&self, input: &GraphInput) -> Result<(), GraphError> {
        for s in &input.services {
            for t in &s.targets {
                let what = format!("service {:?}", s.name);
                let i = self.lookup(&what, t)?;
                if !matches!(
                    self.kind(&input.nodes, i),
                    NodeKind::Pod | NodeKind::Container
                ) {
                    return Err(wrong_kind(
                        &what,
                        &input.nodes[i as usize],
                        "pod or container",
                    ));
                }
            }
            for a in &s.external_addresses {
                parse_address(a)?;
            }
        }
        for ing in &input.ingresses {
            for t in &ing.targets {
                let what = format!("ingress {:?}", ing.name);
                let i = self.lookup(&what, t)?;
                if !matches!(
                    self.kind(&input.nodes, i),
                    NodeKind::Pod | NodeKind::Container
                ) {
                    return Err(wrong_kind(
                        &what,
                        &input.nodes[i as usize],
                        "pod or container",
                    ));
                }
            }
        }
        for r in &input.open_ingress_rules {
            let i = self.lookup("an open ingress rule", &r.node)?;
            if self.kind(&input.nodes, i) != NodeKind::Host {
                return Err(wrong_kind(
                    "an open ingress rule",
                    &input.nodes[i as usize],
                    "host",
                ));
            }
            crate::addr::Cidr::parse(&r.cidr)?;
            if r.port_from > r.port_to {
                return Err(GraphError::BadPortRange {
                    from: r.port_from,
                    to: r.port_to,
                });
            }
        }
        Ok(())
    }

    /// The files `package` owns on `node`: the node's own list, else (for a
    /// container) its image's.
    pub(crate) fn owned_files(&self, node: NodeIx, name: &str, version: &str) -> Option<&[String]> {
        let get = |n: NodeIx| {
            self.ownership
                .get(&n)
                .and_then(|m| m.get(name))
                .and_then(|m| m.get(version))
                .map(Vec::as_slice)
        };
        get(node).or_else(|| self.image_of[node as usize].and_then(get))
    }

    /// The host whose network a listener's socket is on: the listening host,
    /// a host process's host, or a host-network container's host.
    pub(crate) fn network_host(&self, node: NodeIx) -> Option<NodeIx> {
        let mut n = node;
        for _ in 0..3 {
            match self.node(n).kind {
                NodeKind::Host => return Some(n),
                NodeKind::Process => n = self.parent_of[n as usize]?,
                NodeKind::Container if self.node(n).host_network => n = self.host_of[n as usize]?,
                _ => return None,
            }
        }
        None
    }
}
