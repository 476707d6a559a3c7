//! Internet exposure: which nodes the internet reaches directly, each with
//! the evidence that says so.
//!
//! | rule | exposed node | evidence required |
//! |---|---|---|
//! | inbound connection | the connection's `source` | a `connects` edge, direction `inbound`, target the `internet` node, and a peer address that classifies as public |
//! | public listener | the listening node | the socket's host (the host itself, a host process, a `host_network` container's process) has a public address, and the socket is bound to every interface or to a public address |
//! | LoadBalancer Service | each target pod or container | not every known `external_addresses` entry is non-public (an internal load balancer exposes nothing) |
//! | NodePort Service | each target pod or container | a host running one of the targets has a public address |
//! | Ingress | each target pod or container | the rule exists |
//! | security group | the listening node | a rule open to `0.0.0.0/0` or `::/0` on a host, and a socket on that host's network bound to a non-loopback address with a port (and protocol) in the rule's range |
//!
//! A private, shared, loopback, link-local, documentation or otherwise
//! non-public peer never creates exposure, whatever the edge says.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::addr::{AddressClass, Cidr, classify, parse_address};
use crate::graph::{Graph, Listener, NodeIx};
use crate::model::{Direction, Edge, NodeKind, Proto, ServiceType};

/// Why a node is exposed to the internet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExposureEvidence {
    InboundConnection {
        peer: IpAddr,
        local_port: Option<u16>,
    },
    PublicListener {
        proto: Proto,
        address: IpAddr,
        port: u16,
        host_address: IpAddr,
    },
    LoadBalancer {
        service: String,
        ports: Vec<u16>,
    },
    NodePort {
        service: String,
        ports: Vec<u16>,
        host_address: IpAddr,
    },
    Ingress {
        ingress: String,
        host: Option<String>,
    },
    SecurityGroup {
        rule: Option<String>,
        cidr: String,
        port: u16,
    },
}

impl fmt::Display for ExposureEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExposureEvidence::InboundConnection { peer, local_port } => {
                write!(f, "inbound connection from public address {peer}")?;
                if let Some(p) = local_port {
                    write!(f, " to port {p}")?;
                }
                Ok(())
            }
            ExposureEvidence::PublicListener {
                proto,
                address,
                port,
                host_address,
            } => write!(
                f,
                "listens on {}:{address}:{port} on a host with public address {host_address}",
                match proto {
                    Proto::Tcp => "tcp",
                    Proto::Udp => "udp",
                }
            ),
            ExposureEvidence::LoadBalancer { service, ports } => {
                write!(f, "behind LoadBalancer Service {service} (ports {ports:?})")
            }
            ExposureEvidence::NodePort {
                service,
                ports,
                host_address,
            } => write!(
                f,
                "behind NodePort Service {service} (ports {ports:?}) on a host with public address {host_address}"
            ),
            ExposureEvidence::Ingress { ingress, host } => {
                write!(f, "behind Ingress {ingress}")?;
                if let Some(h) = host {
                    write!(f, " for host {h}")?;
                }
                Ok(())
            }
            ExposureEvidence::SecurityGroup { rule, cidr, port } => write!(
                f,
                "security-group rule {} open to {cidr} on listening port {port}",
                rule.as_deref().unwrap_or("(unnamed)")
            ),
        }
    }
}

/// One exposed node and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub node: NodeIx,
    pub evidence: ExposureEvidence,
}

/// Applies every rule; the order of the result follows the input.
pub(crate) fn exposures(g: &Graph) -> Vec<Exposure> {
    let mut out = Vec::new();
    inbound(g, &mut out);
    listeners(g, &mut out);
    services(g, &mut out);
    security_groups(g, &mut out);
    out
}

fn inbound(g: &Graph, out: &mut Vec<Exposure>) {
    for e in &g.input.edges {
        let Edge::Connects {
            source,
            target,
            direction: Direction::Inbound,
            peer_address,
            local_port,
            ..
        } = e
        else {
            continue;
        };
        let (Some(s), Some(t)) = (g.node_index(source), g.node_index(target)) else {
            continue;
        };
        let Ok(peer) = parse_address(peer_address) else {
            continue;
        };
        if t == g.internet && classify(peer).is_public() {
            out.push(Exposure {
                node: s,
                evidence: ExposureEvidence::InboundConnection {
                    peer,
                    local_port: *local_port,
                },
            });
        }
    }
}

fn bound_publicly(address: IpAddr) -> bool {
    matches!(
        classify(address),
        AddressClass::Unspecified | AddressClass::Public
    )
}

fn listeners(g: &Graph, out: &mut Vec<Exposure>) {
    for l in &g.listeners {
        let Some(host) = g.network_host(l.node) else {
            continue;
        };
        let Some(host_address) = g.public_address[host as usize] else {
            continue;
        };
        if bound_publicly(l.address) {
            out.push(Exposure {
                node: l.node,
                evidence: ExposureEvidence::PublicListener {
                    proto: l.proto,
                    address: l.address,
                    port: l.port,
                    host_address,
                },
            });
        }
    }
}

/// The hosts running a Service target (a container or a pod's containers).
fn target_hosts(g: &Graph, t: NodeIx) -> Vec<NodeIx> {
    match g.node(t).kind {
        NodeKind::Container => g.host_of[t as usize].into_iter().collect(),
        NodeKind::Pod => g.children[t as usize]
            .iter()
            .filter_map(|c| g.host_of[*c as usize])
            .collect(),
        _ => Vec::new(),
    }
}

fn services(g: &Graph, out: &mut Vec<Exposure>) {
    for s in &g.input.services {
        let targets: Vec<NodeIx> = s.targets.iter().filter_map(|t| g.node_index(t)).collect();
        match s.kind {
            ServiceType::LoadBalancer => {
                let internal = !s.external_addresses.is_empty()
                    && s.external_addresses
                        .iter()
                        .filter_map(|a| parse_address(a).ok())
                        .all(|ip| !classify(ip).is_public());
                if internal {
                    continue;
                }
                for t in targets {
                    out.push(Exposure {
                        node: t,
                        evidence: ExposureEvidence::LoadBalancer {
                            service: s.name.clone(),
                            ports: s.ports.clone(),
                        },
                    });
                }
            }
            ServiceType::NodePort => {
                for t in targets {
                    let public = target_hosts(g, t)
                        .into_iter()
                        .find_map(|h| g.public_address[h as usize]);
                    if let Some(host_address) = public {
                        out.push(Exposure {
                            node: t,
                            evidence: ExposureEvidence::NodePort {
                                service: s.name.clone(),
                                ports: s.ports.clone(),
                                host_address,
                            },
                        });
                    }
                }
            }
            ServiceType::ClusterIP | ServiceType::ExternalName => {}
        }
    }
    for ing in &g.input.ingresses {
        for t in ing.targets.iter().filter_map(|t| g.node_index(t)) {
            out.push(Exposure {
                node: t,
                evidence: ExposureEvidence::Ingress {
                    ingress: ing.name.clone(),
                    host: ing.host.clone(),
                },
            });
        }
    }
}

fn security_groups(g: &Graph, out: &mut Vec<Exposure>) {
    if g.input.open_ingress_rules.is_empty() {
        return;
    }
    let mut by_host: HashMap<NodeIx, Vec<&Listener>> = HashMap::new();
    for l in &g.listeners {
        if let Some(h) = g.network_host(l.node) {
            by_host.entry(h).or_default().push(l);
        }
    }
    for r in &g.input.open_ingress_rules {
        let Ok(cidr) = Cidr::parse(&r.cidr) else {
            continue;
        };
        let Some(host) = g.node_index(&r.node) else {
            continue;
        };
        if !cidr.is_world() {
            continue;
        }
        for l in by_host.get(&host).into_iter().flatten() {
            let proto_ok = r.proto.is_none_or(|p| p == l.proto);
            let reachable = !matches!(
                classify(l.address),
                AddressClass::Loopback | AddressClass::LinkLocal
            );
            if proto_ok && reachable && (r.port_from..=r.port_to).contains(&l.port) {
                out.push(Exposure {
                    node: l.node,
                    evidence: ExposureEvidence::SecurityGroup {
                        rule: r.rule_id.clone(),
                        cidr: r.cidr.clone(),
                        port: l.port,
                    },
                });
            }
        }
    }
}
