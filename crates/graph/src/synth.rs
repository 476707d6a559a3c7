//! A deterministic fleet generator for benchmarks and property tests.
//!
//! `fleet(hosts, containers, findings, seed)` builds a plausible topology:
//! hosts with private addresses (one in ten also public, half of those
//! behind an open security-group rule on port 22), grouped in clusters and
//! cloud accounts/regions; each host runs `sshd` on `0.0.0.0:22`; containers
//! spread over the hosts, each in a pod with one process listening on 8080,
//! started from a pool of images (one image per 50 containers); one pod in
//! twenty behind a LoadBalancer Service, one in fifty behind an Ingress;
//! inbound connections from public and from private peers, container to
//! container connections; findings spread 70% on images, 20% on containers,
//! 10% on hosts (93% vulnerabilities, 4% secrets, some naming other hosts,
//! 1% malware, 2% posture); runtime evidence for every container and file
//! lists for the images' system packages. The same arguments always give
//! the same input.

use rampart_model::Severity;

use crate::model::{
    Direction, Edge, Finding, FindingKind, GraphInput, Ingress, Node, NodeKind, OpenIngressRule,
    PackageFiles, PackageRef, Proto, RuntimeEvidence, Service, ServiceType, VulnerabilityFacts,
};

/// splitmix64: small, fast, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

const PACKAGES: usize = 600;
const ECOSYSTEMS: [&str; 4] = ["pypi", "npm", "maven", "deb"];

fn package(i: usize) -> PackageRef {
    let version = format!("1.{}", i % 17);
    let (name, purl) = match ECOSYSTEMS[i % 4] {
        "pypi" => (format!("py{i}"), format!("pkg:pypi/py{i}@{version}")),
        "npm" => (format!("js{i}"), format!("pkg:npm/js{i}@{version}")),
        "maven" => (
            format!("org.ex:jv{i}"),
            format!("pkg:maven/org.ex/jv{i}@{version}"),
        ),
        _ => (
            format!("lib{i}"),
            format!("pkg:deb/debian/lib{i}@{version}"),
        ),
    };
    PackageRef {
        name,
        version,
        purl: Some(purl),
    }
}

/// The file a running process would have open for package `i`.
fn package_file(i: usize) -> String {
    match ECOSYSTEMS[i % 4] {
        "pypi" => format!("/usr/lib/python3/site-packages/py{i}/__init__.py"),
        "npm" => format!("/app/node_modules/js{i}/index.js"),
        "maven" => format!("/app/lib/jv{i}-1.{}.jar", i % 17),
        _ => format!("/usr/lib/lib{i}.so.1"),
    }
}

fn node(id: String, kind: NodeKind, name: String) -> Node {
    Node {
        id,
        kind,
        name,
        addresses: Vec::new(),
        hostnames: Vec::new(),
        cluster: None,
        namespace: None,
        account: None,
        region: None,
        host_network: false,
        observed: true,
    }
}

fn public_ip(i: usize) -> String {
    let i = i + 1;
    format!(
        "34.{}.{}.{}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        (i & 0xff).max(1)
    )
}

fn private_ip(i: usize) -> String {
    let i = i + 1;
    format!(
        "10.{}.{}.{}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        (i & 0xff).max(1)
    )
}

/// Generates a fleet (see the module docs).
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn fleet(hosts: usize, containers: usize, findings: usize, seed: u64) -> GraphInput {
    let mut rng = Rng::new(seed);
    let hosts = hosts.max(1);
    let images = containers.div_ceil(50).max(1);
    let mut input = GraphInput::default();
    // Per image, the pool packages it contains (20) and which of them run (first 8).
    let image_pkgs: Vec<Vec<usize>> = (0..images)
        .map(|_| (0..20).map(|_| rng.below(PACKAGES)).collect())
        .collect();
    for h in 0..hosts {
        let mut n = node(format!("h{h}"), NodeKind::Host, format!("host-{h}.corp"));
        n.addresses.push(format!("{}/16", private_ip(h)));
        let public = rng.chance(0.1);
        if public {
            n.addresses.push(public_ip(h));
        }
        if h % 10 < 7 {
            n.cluster = Some(format!("k{}", h % 20));
        }
        n.account = Some(format!("acct{}", h % 5));
        n.region = Some(["eu-west-1", "us-east-1", "ap-south-1"][h % 3].to_string());
        n.hostnames.push(format!("host-{h}.corp"));
        input.nodes.push(n);
        let p = format!("h{h}/sshd");
        input
            .nodes
            .push(node(p.clone(), NodeKind::Process, "sshd".into()));
        input.edges.push(Edge::ProcessIn {
            parent: format!("h{h}"),
            process: p.clone(),
        });
        input.edges.push(Edge::Listens {
            node: p,
            proto: Proto::Tcp,
            address: "0.0.0.0".into(),
            port: 22,
        });
        if public && rng.chance(0.5) {
            input.open_ingress_rules.push(OpenIngressRule {
                node: format!("h{h}"),
                proto: Some(Proto::Tcp),
                port_from: 22,
                port_to: 22,
                cidr: "0.0.0.0/0".into(),
                rule_id: Some(format!("sg-{h}")),
            });
        }
        input.runtime.push(RuntimeEvidence {
            node: format!("h{h}"),
            files: vec!["/usr/sbin/sshd".into(), "/usr/lib/lib3.so.1".into()],
        });
    }
    for (i, pkgs) in image_pkgs.iter().enumerate() {
        input.nodes.push(node(
            format!("i{i}"),
            NodeKind::Image,
            format!("registry/app{i}:1"),
        ));
        for &p in pkgs.iter().filter(|p| *p % 4 == 3) {
            input.ownership.push(PackageFiles {
                node: format!("i{i}"),
                name: format!("lib{p}"),
                version: format!("1.{}", p % 17),
                files: vec![package_file(p), format!("/usr/share/doc/lib{p}/copyright")],
            });
        }
    }
    for c in 0..containers {
        let h = rng.below(hosts);
        let img = c % images;
        let (cid, pid, proc_id) = (format!("c{c}"), format!("p{c}"), format!("c{c}/app"));
        let mut cn = node(cid.clone(), NodeKind::Container, format!("app-{c}"));
        let a = c + 1;
        cn.addresses.push(format!(
            "100.{}.{}.{}",
            64 + ((a >> 16) & 0x3f),
            (a >> 8) & 0xff,
            a & 0xff
        ));
        input.nodes.push(cn);
        let mut pn = node(pid.clone(), NodeKind::Pod, format!("app-{c}"));
        pn.namespace = Some(format!("ns{}", c % 40));
        input.nodes.push(pn);
        input
            .nodes
            .push(node(proc_id.clone(), NodeKind::Process, "app".into()));
        input.edges.push(Edge::Runs {
            host: format!("h{h}"),
            container: cid.clone(),
        });
        input.edges.push(Edge::Holds {
            parent: pid.clone(),
            child: cid.clone(),
        });
        input.edges.push(Edge::FromImage {
            container: cid.clone(),
            image: format!("i{img}"),
        });
        input.edges.push(Edge::ProcessIn {
            parent: cid.clone(),
            process: proc_id.clone(),
        });
        input.edges.push(Edge::Listens {
            node: proc_id,
            proto: Proto::Tcp,
            address: "0.0.0.0".into(),
            port: 8080,
        });
        if c % 20 == 0 {
            input.services.push(Service {
                name: format!("svc{c}"),
                namespace: Some(format!("ns{}", c % 40)),
                kind: ServiceType::LoadBalancer,
                ports: vec![443],
                targets: vec![pid.clone()],
                external_addresses: vec![public_ip(c + 1)],
            });
        } else if c % 50 == 1 {
            input.ingresses.push(Ingress {
                name: format!("ing{c}"),
                namespace: Some(format!("ns{}", c % 40)),
                host: Some(format!("app{c}.example.com")),
                path: Some("/".into()),
                targets: vec![pid],
            });
        }
        match rng.below(20) {
            0 => input.edges.push(Edge::Connects {
                source: cid.clone(),
                target: "internet".into(),
                direction: Direction::Inbound,
                peer_address: public_ip(rng.below(1 << 20)),
                peer_port: Some(50000),
                local_port: Some(8080),
            }),
            1..=3 => input.edges.push(Edge::Connects {
                source: cid.clone(),
                target: "internet".into(),
                direction: Direction::Inbound,
                peer_address: private_ip(rng.below(1 << 20)),
                peer_port: Some(50000),
                local_port: Some(8080),
            }),
            _ => {}
        }
        if c > 0 && rng.chance(0.3) {
            input.edges.push(Edge::Connects {
                source: cid.clone(),
                target: format!("c{}", rng.below(c)),
                direction: Direction::Outbound,
                peer_address: "100.64.0.1".into(),
                peer_port: Some(8080),
                local_port: None,
            });
        }
        let files = image_pkgs[img]
            .iter()
            .take(8)
            .map(|&p| package_file(p))
            .collect();
        input.runtime.push(RuntimeEvidence { node: cid, files });
    }
    let (n_img, n_ctr) = (findings * 7 / 10, findings * 9 / 10);
    for f in 0..findings {
        let (node_id, pool): (String, Option<&Vec<usize>>) = if f < n_img {
            let i = rng.below(images);
            (format!("i{i}"), Some(&image_pkgs[i]))
        } else if f < n_ctr && containers > 0 {
            let c = rng.below(containers);
            (format!("c{c}"), Some(&image_pkgs[c % images]))
        } else {
            (format!("h{}", rng.below(hosts)), None)
        };
        let roll = rng.below(100);
        let kind = match roll {
            0..=92 => FindingKind::Vulnerability,
            93..=96 => FindingKind::Secret,
            97 => FindingKind::Malware,
            _ => FindingKind::Posture,
        };
        let severity = [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ][rng.below(4)];
        let mut finding = Finding {
            id: format!("f{f}"),
            node: node_id,
            kind,
            severity,
            rule_id: String::new(),
            vulnerability: None,
            targets: Vec::new(),
        };
        match kind {
            FindingKind::Vulnerability => {
                let p = match pool {
                    Some(pool) => pool[rng.below(pool.len())],
                    None => rng.below(PACKAGES),
                };
                let av = ["N", "N", "A", "L", "P"][rng.below(5)];
                #[allow(clippy::cast_precision_loss)]
                let score = (rng.below(100) as f64) / 10.0;
                finding.rule_id = format!("CVE-2025-{}", 1000 + rng.below(50000));
                let kev = rng.chance(0.01);
                finding.vulnerability = Some(VulnerabilityFacts {
                    cvss_score: Some(score),
                    cvss_vector: Some(format!("CVSS:3.1/AV:{av}/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")),
                    epss: Some(rng.unit() * rng.unit()),
                    epss_percentile: Some(rng.unit()),
                    kev,
                    ransomware: kev && rng.chance(0.3),
                    fixed_versions: if rng.chance(0.6) {
                        vec!["9.9".into()]
                    } else {
                        Vec::new()
                    },
                    package: Some(package(p)),
                });
            }
            FindingKind::Secret => {
                finding.rule_id = "RMP-SECRET-GENERIC-001".into();
                if rng.chance(0.2) {
                    finding.targets.push(format!(
                        "postgres://app@host-{}.corp:5432/db",
                        rng.below(hosts)
                    ));
                }
            }
            FindingKind::Malware => finding.rule_id = "RMP-MAL-SYNTH".into(),
            FindingKind::Posture => finding.rule_id = "RMP-HOST-SSH-003".into(),
        }
        input.findings.push(finding);
    }
    input
}
