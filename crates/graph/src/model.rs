//! The input model: what the graph is built from. Everything here is plain
//! data with serde support, so the console can store it and a test can write
//! it by hand. Identifiers are the caller's strings; the graph interns them.

use rampart_model::Severity;
use serde::{Deserialize, Serialize};

/// Everything the analysis reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphInput {
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Kubernetes Services (only `LoadBalancer` and `NodePort` expose).
    #[serde(default)]
    pub services: Vec<Service>,
    /// Kubernetes Ingress rules.
    #[serde(default)]
    pub ingresses: Vec<Ingress>,
    /// The cloud security-group hook: rules that let traffic in, filled by
    /// cloud inventory when it exists. Empty means "no cloud evidence".
    #[serde(default)]
    pub open_ingress_rules: Vec<OpenIngressRule>,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Files in use per node (see [`RuntimeEvidence`]).
    #[serde(default)]
    pub runtime: Vec<RuntimeEvidence>,
    /// Which files each package owns, per node (from the SBOM).
    #[serde(default)]
    pub ownership: Vec<PackageFiles>,
}

impl GraphInput {
    /// The input of a standalone scan (`rampart scan` without a console):
    /// one node, not observed, no runtime evidence, so exposure and runtime
    /// use come out *unknown* rather than assumed. Every finding is put on
    /// that node.
    #[must_use]
    pub fn standalone(id: &str, kind: NodeKind, mut findings: Vec<Finding>) -> GraphInput {
        for f in &mut findings {
            f.node = id.to_string();
        }
        GraphInput {
            nodes: vec![Node {
                id: id.to_string(),
                kind,
                name: id.to_string(),
                addresses: Vec::new(),
                hostnames: Vec::new(),
                cluster: None,
                namespace: None,
                account: None,
                region: None,
                host_network: false,
                observed: false,
            }],
            findings,
            ..GraphInput::default()
        }
    }
}

/// The kinds of node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Host,
    Container,
    Image,
    Pod,
    Namespace,
    Process,
    /// The one node that stands for every public address. Added by the graph
    /// when the input has none (its id is then `internet`).
    Internet,
}

impl NodeKind {
    /// The name used in JSON and messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Host => "host",
            NodeKind::Container => "container",
            NodeKind::Image => "image",
            NodeKind::Pod => "pod",
            NodeKind::Namespace => "namespace",
            NodeKind::Process => "process",
            NodeKind::Internet => "internet",
        }
    }
}

fn yes() -> bool {
    true
}

/// One thing in the topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique in the input.
    pub id: String,
    pub kind: NodeKind,
    /// A display name (hostname, container name, image reference...).
    #[serde(default)]
    pub name: String,
    /// The node's own addresses (hosts: every interface address, prefix
    /// lengths allowed; containers and pods: theirs). Classified with
    /// [`crate::classify`].
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Other names the node answers to (FQDNs, service names), used to match
    /// credentials to the node they open.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Grouping: the Kubernetes cluster, namespace, cloud account and region.
    /// A node without them inherits them from its host, pod or namespace.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Containers: shares the host's network namespace, so its listening
    /// sockets are the host's.
    #[serde(default)]
    pub host_network: bool,
    /// Whether the node's network was observed (a sensor reports it, cloud
    /// inventory describes it). A node that was not observed and has no path
    /// from the internet has an *unknown* exposure, not "isolated": a
    /// standalone scan sets this to `false`.
    #[serde(default = "yes")]
    pub observed: bool,
}

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Which side opened a connection, seen from its `source` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The peer connected to `source`.
    Inbound,
    /// `source` connected to the peer.
    Outbound,
}

/// A relation between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edge {
    /// A host runs a container.
    Runs { host: String, container: String },
    /// A container was started from an image.
    FromImage { container: String, image: String },
    /// A pod holds a container, or a namespace holds a pod.
    Holds { parent: String, child: String },
    /// A process runs on a host or in a container.
    ProcessIn { parent: String, process: String },
    /// A process (or a host or container, when the owner is unknown) listens.
    Listens {
        node: String,
        proto: Proto,
        /// The bound address: `0.0.0.0`/`::` for every interface.
        address: String,
        port: u16,
    },
    /// A connection observed on `source`. `target` is the monitored node
    /// that owns `peer_address`, or the `internet` node when no monitored
    /// node does.
    Connects {
        source: String,
        target: String,
        direction: Direction,
        peer_address: String,
        #[serde(default)]
        peer_port: Option<u16>,
        /// The port on `source` (the listening port for inbound).
        #[serde(default)]
        local_port: Option<u16>,
    },
}

/// Kubernetes Service types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
}

/// A Kubernetes Service and the workloads its selector picks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(rename = "type")]
    pub kind: ServiceType,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// The pods (or containers) behind it.
    pub targets: Vec<String>,
    /// `status.loadBalancer.ingress` addresses. When every one is known and
    /// none is public, the load balancer is internal and exposes nothing.
    #[serde(default)]
    pub external_addresses: Vec<String>,
}

/// One Ingress rule and the workloads its backend Service selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub targets: Vec<String>,
}

/// A cloud firewall / security-group rule letting traffic in to `node`.
/// Only rules open to the world (`0.0.0.0/0`, `::/0`) create exposure, and
/// only on a port something listens on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenIngressRule {
    /// The host (instance) the rule applies to.
    pub node: String,
    /// `None` for every protocol.
    #[serde(default)]
    pub proto: Option<Proto>,
    pub port_from: u16,
    pub port_to: u16,
    pub cidr: String,
    /// The provider's id for the rule or group (`sg-0123...`).
    #[serde(default)]
    pub rule_id: Option<String>,
}

/// The kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Vulnerability,
    Secret,
    Malware,
    Posture,
}

impl FindingKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vulnerability => "vulnerability",
            FindingKind::Secret => "secret",
            FindingKind::Malware => "malware",
            FindingKind::Posture => "posture",
        }
    }
}

/// A finding on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Unique in the input.
    pub id: String,
    pub node: String,
    pub kind: FindingKind,
    pub severity: Severity,
    /// The advisory, rule or check id (`CVE-2024-3094`, `RMP-SECRET-AWS-001`).
    #[serde(default)]
    pub rule_id: String,
    /// Vulnerabilities only.
    #[serde(default)]
    pub vulnerability: Option<VulnerabilityFacts>,
    /// Secrets only: the hosts, addresses or hostnames the credential's
    /// evidence names (a connection string's host, a URL's authority).
    #[serde(default)]
    pub targets: Vec<String>,
}

/// What the advisory data says about a vulnerability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityFacts {
    /// CVSS base score, 0-10.
    #[serde(default)]
    pub cvss_score: Option<f64>,
    /// CVSS 3.x or 4.0 vector (`CVSS:3.1/AV:N/...`); the attack vector is read from it.
    #[serde(default)]
    pub cvss_vector: Option<String>,
    /// EPSS probability, 0-1.
    #[serde(default)]
    pub epss: Option<f64>,
    /// EPSS percentile, 0-1.
    #[serde(default)]
    pub epss_percentile: Option<f64>,
    #[serde(default)]
    pub kev: bool,
    /// CISA KEV `knownRansomwareCampaignUse` is `Known`.
    #[serde(default)]
    pub ransomware: bool,
    #[serde(default)]
    pub fixed_versions: Vec<String>,
    #[serde(default)]
    pub package: Option<PackageRef>,
}

/// The package a vulnerability is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    /// The package URL; its type (`pkg:pypi/`, `pkg:npm/`, `pkg:maven/`)
    /// selects the path rules used when no file list is known.
    #[serde(default)]
    pub purl: Option<String>,
}

/// The files in use on a node: executables of running processes, shared
/// objects mapped into them (`/proc/PID/maps`), open files (`/proc/PID/fd`),
/// modules an interpreter loaded. Paths are as seen inside the node (a
/// container's own root). A node with no entry has *unknown* runtime use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEvidence {
    pub node: String,
    pub files: Vec<String>,
}

/// The files one package owns on a node (dpkg/rpm/apk file lists, Python
/// `RECORD` files: see [`crate::runtime::python_record_files`]). An image's
/// lists also serve the containers started from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFiles {
    pub node: String,
    pub name: String,
    pub version: String,
    pub files: Vec<String>,
}
