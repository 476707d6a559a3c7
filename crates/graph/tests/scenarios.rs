//! Scenario tests: small hand-built topologies whose correct ranking is
//! known and written down with each test.

use rampart_graph::{
    Analysis, Direction, Edge, Factor, Finding, FindingKind, GraphError, GraphInput, GroupBy,
    Ingress, Node, NodeKind, OpenIngressRule, PackageFiles, PackageRef, Proto, Reach,
    RuntimeEvidence, RuntimeUse, Service, ServiceType, StepKind, VulnerabilityFacts,
};
use rampart_model::Severity;

fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: id.into(),
        kind,
        name: id.into(),
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

fn host(id: &str, addresses: &[&str]) -> Node {
    let mut n = node(id, NodeKind::Host);
    n.addresses = addresses.iter().map(|a| (*a).to_string()).collect();
    n
}

fn deb(name: &str) -> PackageRef {
    PackageRef {
        name: name.into(),
        version: "1.0".into(),
        purl: Some(format!("pkg:deb/debian/{name}@1.0")),
    }
}

struct Vuln {
    cvss: f64,
    vector: &'static str,
    epss: f64,
    kev: bool,
    fixed: bool,
}

fn vuln(id: &str, on: &str, v: &Vuln, package: PackageRef) -> Finding {
    Finding {
        id: id.into(),
        node: on.into(),
        kind: FindingKind::Vulnerability,
        severity: Severity::High,
        rule_id: format!("CVE-{id}"),
        vulnerability: Some(VulnerabilityFacts {
            cvss_score: Some(v.cvss),
            cvss_vector: Some(v.vector.into()),
            epss: Some(v.epss),
            epss_percentile: Some(0.5),
            kev: v.kev,
            ransomware: false,
            fixed_versions: if v.fixed {
                vec!["1.1".into()]
            } else {
                Vec::new()
            },
            package: Some(package),
        }),
        targets: Vec::new(),
    }
}

fn finding(id: &str, on: &str, kind: FindingKind, severity: Severity) -> Finding {
    Finding {
        id: id.into(),
        node: on.into(),
        kind,
        severity,
        rule_id: String::new(),
        vulnerability: None,
        targets: Vec::new(),
    }
}

fn listens(node: &str, address: &str, port: u16) -> Edge {
    Edge::Listens {
        node: node.into(),
        proto: Proto::Tcp,
        address: address.into(),
        port,
    }
}

fn process_in(parent: &str, process: &str) -> Edge {
    Edge::ProcessIn {
        parent: parent.into(),
        process: process.into(),
    }
}

fn inbound(source: &str, peer: &str) -> Edge {
    Edge::Connects {
        source: source.into(),
        target: "internet".into(),
        direction: Direction::Inbound,
        peer_address: peer.into(),
        peer_port: Some(40000),
        local_port: Some(443),
    }
}

fn files(node: &str, list: &[&str]) -> RuntimeEvidence {
    RuntimeEvidence {
        node: node.into(),
        files: list.iter().map(|f| (*f).to_string()).collect(),
    }
}

const NET: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

/// A KEV vulnerability in an internet-facing, in-use package outranks a
/// critical-CVSS one on an isolated host.
///
/// `web` has a public address and nginx listens on 0.0.0.0:443, so nginx is
/// exposed (1 hop) and the host is 2 hops away (a compromised process gives
/// its host). KEV-1 on `web`: CVSS 7.5 (30) + network (8) + EPSS 0.4 (6) +
/// KEV (15) + fix (2) + in use (10) + 2 hops (17) = 88.
/// CRIT-1 on the isolated, observed host `db`: CVSS 9.8 (39.2) + network (8)
/// + EPSS 0.01 (0.15) + fix (2) + runtime unknown (0) + isolated (-10) = 39.35 -> 39.4.
#[test]
fn kev_internet_facing_in_use_outranks_critical_on_isolated_host() {
    let input = GraphInput {
        nodes: vec![
            host("web", &["10.0.0.2/24", "34.120.1.2"]),
            node("web/nginx", NodeKind::Process),
            host("db", &["10.0.0.9/24"]),
        ],
        edges: vec![
            process_in("web", "web/nginx"),
            listens("web/nginx", "0.0.0.0", 443),
        ],
        findings: vec![
            vuln(
                "KEV-1",
                "web",
                &Vuln {
                    cvss: 7.5,
                    vector: NET,
                    epss: 0.4,
                    kev: true,
                    fixed: true,
                },
                deb("libssl3"),
            ),
            vuln(
                "CRIT-1",
                "db",
                &Vuln {
                    cvss: 9.8,
                    vector: NET,
                    epss: 0.01,
                    kev: false,
                    fixed: true,
                },
                deb("zlib1g"),
            ),
        ],
        runtime: vec![files(
            "web",
            &["/usr/sbin/nginx", "/usr/lib/x86_64-linux-gnu/libssl.so.3"],
        )],
        ownership: vec![PackageFiles {
            node: "web".into(),
            name: "libssl3".into(),
            version: "1.0".into(),
            files: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
        }],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    let top = a.top(10);
    assert_eq!(
        top.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["KEV-1", "CRIT-1"]
    );
    assert!((top[0].score - 88.0).abs() < 1e-9, "{:#?}", top[0]);
    assert!((top[1].score - 39.4).abs() < 1e-9, "{:#?}", top[1]);
    assert_eq!(top[0].reach, Reach::Hops { hops: 2 });
    assert_eq!(top[1].reach, Reach::Isolated);
    assert_eq!(
        top[0].runtime,
        RuntimeUse::InUse {
            file: "/usr/lib/x86_64-linux-gnu/libssl.so.3".into()
        }
    );
    // The reasons add up to the score and say why.
    let sum: f64 = top[0].reasons.iter().map(|r| r.points).sum();
    assert!((sum - top[0].score).abs() < 1e-9);
    let kev = top[0]
        .reasons
        .iter()
        .find(|r| r.factor == Factor::Kev)
        .unwrap();
    assert!((kev.points - 15.0).abs() < 1e-9);
    let runtime = top[1]
        .reasons
        .iter()
        .find(|r| r.factor == Factor::Runtime)
        .unwrap();
    assert!(runtime.detail.starts_with("unknown"), "{runtime:?}");
    // The path to web: internet -> nginx (listener) -> web (runs in).
    let path = a.path_to("web").unwrap().unwrap();
    assert_eq!(path.hops, 2);
    assert_eq!(
        path.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [StepKind::Exposure, StepKind::RunsIn]
    );
    assert!(
        path.steps[0].evidence.contains("0.0.0.0:443"),
        "{}",
        path.steps[0].evidence
    );
    assert_eq!(a.path_to("db").unwrap(), None);
}

/// A private-address peer never creates internet exposure: every
/// non-public peer class leaves the container isolated; only the public
/// peer exposes it.
#[test]
fn private_peers_never_create_exposure() {
    for (peer, exposed) in [
        ("10.1.2.3", false),
        ("172.20.0.1", false),
        ("192.168.1.10", false),
        ("100.64.3.4", false),
        ("127.0.0.1", false),
        ("169.254.169.254", false),
        ("192.0.2.7", false),
        ("fd00::7", false),
        ("fe80::1", false),
        ("::ffff:10.0.0.1", false),
        ("8.8.8.8", true),
        ("2606:4700::1111", true),
        ("::ffff:8.8.4.4", true),
    ] {
        let input = GraphInput {
            // The host has a public address too: still, only the peer decides.
            nodes: vec![host("h", &["34.1.1.1"]), node("c", NodeKind::Container)],
            edges: vec![
                Edge::Runs {
                    host: "h".into(),
                    container: "c".into(),
                },
                inbound("c", peer),
            ],
            findings: vec![finding("s", "c", FindingKind::Secret, Severity::High)],
            ..GraphInput::default()
        };
        let a = Analysis::run(input).unwrap();
        let want = if exposed {
            Reach::Hops { hops: 1 }
        } else {
            Reach::Isolated
        };
        assert_eq!(a.reach("c"), Some(want), "peer {peer}");
        assert_eq!(a.exposures().count(), usize::from(exposed), "peer {peer}");
    }
}

/// A package that no process loads is ranked lower than the same package
/// loaded: same vulnerability, same exposure (both containers behind the
/// same LoadBalancer), only the runtime evidence differs: +10 vs -15, so
/// exactly 25 points apart. A third container without evidence is unknown
/// (0), in between.
#[test]
fn unloaded_package_ranks_below_loaded() {
    let mut input = GraphInput {
        nodes: vec![host("h", &["10.0.0.1"]), node("pod", NodeKind::Pod)],
        services: vec![Service {
            name: "front".into(),
            namespace: None,
            kind: ServiceType::LoadBalancer,
            ports: vec![443],
            targets: vec!["pod".into()],
            external_addresses: vec![],
        }],
        ..GraphInput::default()
    };
    let pkg = PackageRef {
        name: "requests".into(),
        version: "2.19.0".into(),
        purl: Some("pkg:pypi/requests@2.19.0".into()),
    };
    for c in ["loaded", "unloaded", "unobserved"] {
        input.nodes.push(node(c, NodeKind::Container));
        input.edges.push(Edge::Runs {
            host: "h".into(),
            container: c.into(),
        });
        input.edges.push(Edge::Holds {
            parent: "pod".into(),
            child: c.into(),
        });
        input.findings.push(vuln(
            &format!("v-{c}"),
            c,
            &Vuln {
                cvss: 6.1,
                vector: NET,
                epss: 0.02,
                kev: false,
                fixed: true,
            },
            pkg.clone(),
        ));
    }
    input.runtime = vec![
        files(
            "loaded",
            &["/usr/local/lib/python3.12/site-packages/requests/api.py"],
        ),
        files(
            "unloaded",
            &["/usr/local/lib/python3.12/site-packages/flask/app.py"],
        ),
    ];
    let a = Analysis::run(input).unwrap();
    let top = a.top(3);
    assert_eq!(
        top.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["v-loaded", "v-unobserved", "v-unloaded"]
    );
    assert!((top[0].score - top[2].score - 25.0).abs() < 1e-9);
    assert!((top[0].score - top[1].score - 10.0).abs() < 1e-9);
    assert_eq!(top[2].runtime, RuntimeUse::NotInUse);
    let why = top[2]
        .reasons
        .iter()
        .find(|r| r.factor == Factor::Runtime)
        .unwrap();
    assert!(why.detail.contains("not in use"), "{why:?}");
    assert!(matches!(top[1].runtime, RuntimeUse::Unknown { .. }));
}

/// Lateral movement via a credential: the exposed web container holds a
/// database URL naming `db.internal`, the hostname of the otherwise
/// isolated host `db`. The credential edge makes `db` reachable in 2 hops
/// (internet -> web -> db) and its vulnerability outranks the same one
/// without the credential. A credential naming an address two nodes share
/// identifies nothing and creates no edge.
#[test]
fn lateral_movement_via_credential() {
    let build = |targets: Vec<String>| {
        let mut db = host("db", &["10.0.0.9"]);
        db.hostnames.push("db.internal".into());
        let mut secret = finding("cred", "web", FindingKind::Secret, Severity::High);
        secret.targets = targets;
        GraphInput {
            nodes: vec![
                host("h", &["10.0.0.1"]),
                node("web", NodeKind::Container),
                db,
                host("twin-a", &["10.9.9.9"]),
                host("twin-b", &["10.9.9.9/16"]),
            ],
            edges: vec![
                Edge::Runs {
                    host: "h".into(),
                    container: "web".into(),
                },
                inbound("web", "81.2.69.160"),
            ],
            findings: vec![
                secret,
                vuln(
                    "db-vuln",
                    "db",
                    &Vuln {
                        cvss: 9.0,
                        vector: NET,
                        epss: 0.1,
                        kev: false,
                        fixed: false,
                    },
                    deb("postgresql-15"),
                ),
            ],
            ..GraphInput::default()
        }
    };
    let without = Analysis::run(build(vec![])).unwrap();
    assert_eq!(without.reach("db"), Some(Reach::Isolated));
    let with = Analysis::run(build(vec![
        "postgres://app@db.internal:5432/app".into(),
        "10.9.9.9:22".into(),
    ]))
    .unwrap();
    assert_eq!(with.reach("db"), Some(Reach::Hops { hops: 2 }));
    let laterals = with.laterals();
    assert_eq!(laterals.len(), 1, "{laterals:?}");
    assert_eq!(
        (laterals[0].from.as_str(), laterals[0].to.as_str()),
        ("web", "db")
    );
    assert_eq!(with.reach("twin-a"), Some(Reach::Isolated));
    let path = with.path_to("db").unwrap().unwrap();
    assert_eq!(path.steps.last().unwrap().kind, StepKind::Credential);
    assert!(path.findings.iter().any(|f| f.id == "cred"));
    // 9.0*4 + 8 + 1.5 + 0 + unknown runtime + 2 hops 17 = 62.5, vs isolated -10 = 35.5.
    assert!((with.score_of("db-vuln").unwrap() - 62.5).abs() < 1e-9);
    assert!((without.score_of("db-vuln").unwrap() - 35.5).abs() < 1e-9);
    // The secret itself: high 28 + exposed 20 + one node it opens 5 = 53.
    assert!((with.score_of("cred").unwrap() - 53.0).abs() < 1e-9);
}

/// A Service of type LoadBalancer exposes the pod, hence its container (2
/// hops) and the container's image (3 hops). An internal load balancer
/// (only private ingress addresses), a ClusterIP Service, and a NodePort on
/// hosts without a public address expose nothing; the same NodePort on a
/// public host does; an Ingress does.
#[test]
fn services_and_ingresses() {
    let build = |kind: ServiceType, external: &[&str], host_addr: &str, ingress: bool| GraphInput {
        nodes: vec![
            host("h", &[host_addr]),
            node("pod", NodeKind::Pod),
            node("c", NodeKind::Container),
            node("img", NodeKind::Image),
        ],
        edges: vec![
            Edge::Runs {
                host: "h".into(),
                container: "c".into(),
            },
            Edge::Holds {
                parent: "pod".into(),
                child: "c".into(),
            },
            Edge::FromImage {
                container: "c".into(),
                image: "img".into(),
            },
        ],
        services: vec![Service {
            name: "svc".into(),
            namespace: Some("prod".into()),
            kind,
            ports: vec![443],
            targets: vec!["pod".into()],
            external_addresses: external.iter().map(|a| (*a).to_string()).collect(),
        }],
        ingresses: if ingress {
            vec![Ingress {
                name: "ing".into(),
                namespace: None,
                host: Some("shop.example.com".into()),
                path: Some("/".into()),
                targets: vec!["c".into()],
            }]
        } else {
            Vec::new()
        },
        findings: vec![finding(
            "img-f",
            "img",
            FindingKind::Posture,
            Severity::Medium,
        )],
        ..GraphInput::default()
    };
    let reach = |input| {
        let a = Analysis::run(input).unwrap();
        (
            a.reach("pod").unwrap(),
            a.reach("c").unwrap(),
            a.reach("img").unwrap(),
        )
    };
    let hops = |h| Reach::Hops { hops: h };
    assert_eq!(
        reach(build(
            ServiceType::LoadBalancer,
            &["35.1.2.3"],
            "10.0.0.1",
            false
        )),
        (hops(1), hops(2), hops(3))
    );
    assert_eq!(
        reach(build(ServiceType::LoadBalancer, &[], "10.0.0.1", false)),
        (hops(1), hops(2), hops(3))
    );
    let none = (Reach::Isolated, Reach::Isolated, Reach::Isolated);
    assert_eq!(
        reach(build(
            ServiceType::LoadBalancer,
            &["10.0.5.5"],
            "10.0.0.1",
            false
        )),
        none
    );
    assert_eq!(
        reach(build(ServiceType::ClusterIP, &[], "10.0.0.1", false)),
        none
    );
    assert_eq!(
        reach(build(ServiceType::NodePort, &[], "10.0.0.1", false)),
        none
    );
    assert_eq!(
        reach(build(ServiceType::NodePort, &[], "34.9.9.9", false)),
        (hops(1), hops(2), hops(3))
    );
    assert_eq!(
        reach(build(ServiceType::ClusterIP, &[], "10.0.0.1", true)),
        (Reach::Isolated, hops(1), hops(2))
    );
    let a = Analysis::run(build(ServiceType::LoadBalancer, &[], "10.0.0.1", false)).unwrap();
    let path = a.path_to("img").unwrap().unwrap();
    assert_eq!(
        path.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [StepKind::Exposure, StepKind::Holds, StepKind::FromImage]
    );
    assert!(path.steps[0].evidence.contains("LoadBalancer Service svc"));
    // posture medium 18 + 3 hops 14 = 32.
    assert!((a.score_of("img-f").unwrap() - 32.0).abs() < 1e-9);
}

/// The security-group hook: a rule open to the world on a port something
/// listens on (non-loopback) exposes the listener, even on a host without a
/// public address of its own (the cloud NATs it). A rule for a private CIDR,
/// a world rule on another port, or a loopback-only listener expose nothing.
#[test]
fn security_group_rules() {
    let build = |cidr: &str, from: u16, to: u16, bind: &str| GraphInput {
        nodes: vec![host("vm", &["10.0.0.7"]), node("vm/pg", NodeKind::Process)],
        edges: vec![process_in("vm", "vm/pg"), listens("vm/pg", bind, 5432)],
        open_ingress_rules: vec![OpenIngressRule {
            node: "vm".into(),
            proto: Some(Proto::Tcp),
            port_from: from,
            port_to: to,
            cidr: cidr.into(),
            rule_id: Some("sg-0abc".into()),
        }],
        ..GraphInput::default()
    };
    let exposed = |input| {
        let a = Analysis::run(input).unwrap();
        a.reach("vm/pg") == Some(Reach::Hops { hops: 1 })
    };
    assert!(exposed(build("0.0.0.0/0", 5400, 5500, "0.0.0.0")));
    assert!(exposed(build("::/0", 5432, 5432, "::")));
    assert!(exposed(build("0.0.0.0/0", 0, 65535, "10.0.0.7")));
    assert!(!exposed(build("10.0.0.0/8", 5432, 5432, "0.0.0.0")));
    assert!(!exposed(build("0.0.0.0/0", 22, 22, "0.0.0.0")));
    assert!(!exposed(build("0.0.0.0/0", 5432, 5432, "127.0.0.1")));
    let a = Analysis::run(build("0.0.0.0/0", 5432, 5432, "0.0.0.0")).unwrap();
    let (node, ev) = a.exposures().next().unwrap();
    assert_eq!(node, "vm/pg");
    assert_eq!(
        ev.to_string(),
        "security-group rule sg-0abc open to 0.0.0.0/0 on listening port 5432"
    );
}

/// Listening sockets on a host with a public address: bound to every
/// interface or to the public address exposes; loopback or a private
/// address does not; a container's own network namespace does not, unless
/// it shares the host's network.
#[test]
fn public_listeners() {
    for (bind, in_container, host_network, exposed) in [
        ("0.0.0.0", false, false, true),
        ("::", false, false, true),
        ("34.1.2.3", false, false, true),
        ("127.0.0.1", false, false, false),
        ("::1", false, false, false),
        ("10.0.0.2", false, false, false),
        ("0.0.0.0", true, false, false),
        ("0.0.0.0", true, true, true),
    ] {
        let mut ctr = node("c", NodeKind::Container);
        ctr.host_network = host_network;
        let parent = if in_container { "c" } else { "h" };
        let input = GraphInput {
            nodes: vec![
                host("h", &["10.0.0.2/24", "34.1.2.3/32"]),
                ctr,
                node("p", NodeKind::Process),
            ],
            edges: vec![
                Edge::Runs {
                    host: "h".into(),
                    container: "c".into(),
                },
                process_in(parent, "p"),
                listens("p", bind, 8080),
            ],
            ..GraphInput::default()
        };
        let a = Analysis::run(input).unwrap();
        assert_eq!(
            a.reach("p") == Some(Reach::Hops { hops: 1 }),
            exposed,
            "{bind} container={in_container} host_network={host_network}"
        );
    }
}

/// A standalone scan: one node, not observed, no runtime evidence. Exposure
/// and runtime are unknown, marked so, and count 0 (not assumed).
#[test]
fn standalone_scan_marks_unknowns() {
    let input = GraphInput::standalone(
        "scan-target",
        NodeKind::Image,
        vec![vuln(
            "v",
            "ignored: standalone puts it on the target",
            &Vuln {
                cvss: 5.0,
                vector: "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                epss: 0.0,
                kev: false,
                fixed: false,
            },
            deb("libxml2"),
        )],
    );
    let a = Analysis::run(input).unwrap();
    let f = a.explain("v").unwrap();
    assert_eq!(f.reach, Reach::Unknown);
    assert!(matches!(f.runtime, RuntimeUse::Unknown { .. }));
    // 5.0*4 + local 0 + EPSS 0 + no fix 0 + 0 + 0 = 20.
    assert!((f.score - 20.0).abs() < 1e-9);
    for factor in [Factor::Exposure, Factor::Runtime] {
        let r = f.reasons.iter().find(|r| r.factor == factor).unwrap();
        assert!(r.detail.starts_with("unknown"), "{r:?}");
        assert!(r.points.abs() < f64::EPSILON);
    }
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["reach"], "unknown");
    assert_eq!(json["runtime"]["use"], "unknown");
}

/// Malware and secrets on the same node raise its vulnerabilities; a
/// malware finding itself scores +20.
#[test]
fn co_located_findings() {
    let input = GraphInput {
        nodes: vec![host("a", &["10.0.0.1"]), host("b", &["10.0.0.2"])],
        findings: vec![
            finding("va", "a", FindingKind::Vulnerability, Severity::Medium),
            finding("vb", "b", FindingKind::Vulnerability, Severity::Medium),
            finding("mal", "a", FindingKind::Malware, Severity::Critical),
            finding("sec", "a", FindingKind::Secret, Severity::Low),
        ],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    // vb: medium 18 - isolated 10 = 8; va: 8 + malware 8 + secret 4 = 20.
    assert!((a.score_of("vb").unwrap() - 8.0).abs() < 1e-9);
    assert!((a.score_of("va").unwrap() - 20.0).abs() < 1e-9);
    // mal: critical 36 - 10 + 20 = 46; sec: low 8 - 10 + malware 8 = 6.
    assert!((a.score_of("mal").unwrap() - 46.0).abs() < 1e-9);
    assert!((a.score_of("sec").unwrap() - 6.0).abs() < 1e-9);
    assert_eq!(
        a.top_for_node("a", 2)
            .unwrap()
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>(),
        ["mal", "va"]
    );
    assert_eq!(
        a.top_for_scan(&["vb", "sec", "va"], 2)
            .unwrap()
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>(),
        ["va", "vb"]
    );
    assert!(matches!(
        a.top_for_scan(&["nope"], 5),
        Err(GraphError::UnknownFinding { .. })
    ));
    assert!(matches!(
        a.top_for_node("nope", 5),
        Err(GraphError::UnknownNode { .. })
    ));
}

/// Observed connections carry attacks from client to server, never back.
#[test]
fn connections_go_client_to_server() {
    let input = GraphInput {
        nodes: vec![
            node("front", NodeKind::Container),
            node("api", NodeKind::Container),
            node("batch", NodeKind::Container),
        ],
        edges: vec![
            inbound("front", "52.1.1.1"),
            // front connected to api.
            Edge::Connects {
                source: "front".into(),
                target: "api".into(),
                direction: Direction::Outbound,
                peer_address: "10.0.0.3".into(),
                peer_port: Some(8080),
                local_port: None,
            },
            // batch connected to front (seen on front as inbound).
            Edge::Connects {
                source: "front".into(),
                target: "batch".into(),
                direction: Direction::Inbound,
                peer_address: "10.0.0.4".into(),
                peer_port: None,
                local_port: Some(443),
            },
        ],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    assert_eq!(a.reach("api"), Some(Reach::Hops { hops: 2 }));
    assert_eq!(a.reach("batch"), Some(Reach::Isolated));
}

/// Grouped views inherit the namespace from the pod and the cluster from
/// the host.
#[test]
fn grouped_views() {
    let mut h1 = host("h1", &["10.0.0.1"]);
    h1.cluster = Some("prod".into());
    let mut h2 = host("h2", &["10.0.0.2"]);
    h2.account = Some("111".into());
    h2.region = Some("eu-west-1".into());
    let mut pod = node("pod", NodeKind::Pod);
    pod.namespace = Some("shop".into());
    let input = GraphInput {
        nodes: vec![
            h1,
            h2,
            pod,
            node("c", NodeKind::Container),
            node("lonely", NodeKind::Image),
        ],
        edges: vec![
            Edge::Runs {
                host: "h1".into(),
                container: "c".into(),
            },
            Edge::Holds {
                parent: "pod".into(),
                child: "c".into(),
            },
            inbound("c", "52.1.1.1"),
        ],
        findings: vec![
            finding("f1", "c", FindingKind::Secret, Severity::High),
            finding("f2", "h2", FindingKind::Posture, Severity::Low),
        ],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    let groups = a.groups(GroupBy::Auto, 3);
    let find = |k: &str| {
        groups
            .iter()
            .find(|g| g.key == k)
            .unwrap_or_else(|| panic!("{k}: {groups:?}"))
    };
    let shop = find("prod/shop");
    assert_eq!(
        (shop.nodes, shop.exposed, shop.reachable, shop.findings),
        (2, 1, 1, 1)
    );
    assert_eq!(shop.top[0].0, "f1");
    assert_eq!(find("111/eu-west-1").findings, 1);
    assert_eq!(find("-").nodes, 1);
    let summary = a.summary();
    assert_eq!(
        (
            summary.nodes,
            summary.exposed,
            summary.reachable,
            summary.findings
        ),
        (5, 1, 1, 2)
    );
    assert_eq!(
        a.reaches().filter(|(_, r)| *r == Reach::Isolated).count(),
        4
    );
    let clusters = a.groups(GroupBy::Cluster, 3);
    // h1, the container it runs and the pod holding that container.
    assert_eq!(clusters.iter().find(|g| g.key == "prod").unwrap().nodes, 3);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let base = || GraphInput {
        nodes: vec![host("h", &["10.0.0.1"]), node("c", NodeKind::Container)],
        ..GraphInput::default()
    };
    let mut cases: Vec<(GraphInput, &str)> = vec![
        (
            GraphInput {
                nodes: vec![host("h", &[]), host("h", &[])],
                ..GraphInput::default()
            },
            "node id \"h\" is used twice",
        ),
        (
            GraphInput {
                edges: vec![Edge::Runs {
                    host: "h".into(),
                    container: "x".into(),
                }],
                ..base()
            },
            "a runs edge names node \"x\", which is not in the input",
        ),
        (
            GraphInput {
                edges: vec![Edge::Runs {
                    host: "c".into(),
                    container: "h".into(),
                }],
                ..base()
            },
            "a runs edge cannot go from a container node to a host node (\"c\" -> \"h\")",
        ),
        (
            GraphInput {
                nodes: vec![host("h", &["10.0.0.300"])],
                ..GraphInput::default()
            },
            "not an IP address: \"10.0.0.300\"",
        ),
        (
            GraphInput {
                findings: vec![{
                    let mut f = vuln(
                        "v",
                        "h",
                        &Vuln {
                            cvss: 5.0,
                            vector: NET,
                            epss: 1.5,
                            kev: false,
                            fixed: false,
                        },
                        deb("x"),
                    );
                    f.severity = Severity::Low;
                    f
                }],
                ..base()
            },
            "finding \"v\": epss 1.5 is outside 0-1",
        ),
        (
            GraphInput {
                open_ingress_rules: vec![OpenIngressRule {
                    node: "h".into(),
                    proto: None,
                    port_from: 1,
                    port_to: 2,
                    cidr: "0.0.0.0/40".into(),
                    rule_id: None,
                }],
                ..base()
            },
            "not a network in CIDR notation: \"0.0.0.0/40\"",
        ),
        (
            GraphInput {
                nodes: vec![
                    node("i1", NodeKind::Internet),
                    node("i2", NodeKind::Internet),
                ],
                ..GraphInput::default()
            },
            "more than one internet node (\"i1\" and \"i2\")",
        ),
        (
            GraphInput {
                findings: vec![
                    finding("f", "h", FindingKind::Secret, Severity::Low),
                    finding("f", "c", FindingKind::Secret, Severity::Low),
                ],
                ..base()
            },
            "finding id \"f\" is used twice",
        ),
    ];
    cases.push((
        GraphInput {
            open_ingress_rules: vec![OpenIngressRule {
                node: "c".into(),
                proto: None,
                port_from: 1,
                port_to: 2,
                cidr: "0.0.0.0/0".into(),
                rule_id: None,
            }],
            ..base()
        },
        "an open ingress rule must name a host node, and \"c\" is a container",
    ));
    cases.push((
        GraphInput {
            services: vec![Service {
                name: "s".into(),
                namespace: None,
                kind: ServiceType::LoadBalancer,
                ports: vec![],
                targets: vec!["h".into()],
                external_addresses: vec![],
            }],
            ..base()
        },
        "service \"s\" must name a pod or container node, and \"h\" is a host",
    ));
    cases.push((
        GraphInput {
            open_ingress_rules: vec![OpenIngressRule {
                node: "h".into(),
                proto: None,
                port_from: 9,
                port_to: 2,
                cidr: "0.0.0.0/0".into(),
                rule_id: None,
            }],
            ..base()
        },
        "port range 9-2 is empty",
    ));
    cases.push((
        GraphInput {
            nodes: vec![host("", &[])],
            ..GraphInput::default()
        },
        "a node has an empty id",
    ));
    cases.push((
        GraphInput { nodes: vec![host("internet", &[])], ..GraphInput::default() },
        "node id \"internet\" is reserved for the internet node: give that node kind internet, or another id",
    ));
    for (input, want) in cases {
        let err = Analysis::run(input).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
    // JSON with an unknown field is refused by serde.
    let bad = serde_json::json!({"nodes": [{"id": "h", "kind": "host", "colour": "red"}]});
    assert!(serde_json::from_value::<GraphInput>(bad).is_err());
}

#[test]
fn input_round_trips_through_json() {
    let input = rampart_graph::synth::fleet(3, 12, 60, 1);
    let json = serde_json::to_string(&input).unwrap();
    let back: GraphInput = serde_json::from_str(&json).unwrap();
    assert_eq!(back.nodes, input.nodes);
    assert_eq!(back.edges, input.edges);
    assert_eq!(back.findings.len(), input.findings.len());
    let ids = |i: &GraphInput| i.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&back), ids(&input));
    let edge: Edge = serde_json::from_value(serde_json::json!({
        "kind": "connects", "source": "a", "target": "internet",
        "direction": "inbound", "peer_address": "8.8.8.8"
    }))
    .unwrap();
    assert!(matches!(
        edge,
        Edge::Connects {
            direction: Direction::Inbound,
            ..
        }
    ));
}

/// The analysis can be shared between request handlers.
#[test]
fn analysis_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Analysis>();
}

/// Two findings that both show 100 are still ordered by their raw sums
/// (written below); `a` is listed after `b` in the input and still ranks
/// first because of its known ransomware use.
#[test]
fn ties_at_the_maximum_keep_a_meaningful_order() {
    let mk = |id: &str, ransomware: bool, epss: f64| {
        let mut f = vuln(
            id,
            "web",
            &Vuln {
                cvss: 10.0,
                vector: NET,
                epss,
                kev: true,
                fixed: true,
            },
            deb(id),
        );
        if let Some(v) = f.vulnerability.as_mut() {
            v.ransomware = ransomware;
        }
        f
    };
    let input = GraphInput {
        nodes: vec![
            host("web", &["34.120.1.2"]),
            node("web/sshd", NodeKind::Process),
        ],
        edges: vec![process_in("web", "web/sshd"), listens("web/sshd", "::", 22)],
        // Secrets and malware on the node push both past 100.
        findings: vec![
            mk("b", false, 1.0),
            mk("a", true, 1.0),
            finding("m", "web", FindingKind::Malware, Severity::High),
            finding("s", "web", FindingKind::Secret, Severity::High),
        ],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    // a: 40+8+15+15+5+2+0+17+8+4 = 114; b: 109. Both show 100.
    let top = a.top(2);
    assert_eq!(
        top.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(top.iter().all(|f| (f.score - 100.0).abs() < 1e-9));
    let sum: f64 = top[0].reasons.iter().map(|r| r.points).sum();
    assert!((sum - 114.0).abs() < 1e-9, "{sum}");
    assert_eq!(a.at_maximum(), 2);
}

/// An input may name its own internet node; connections then target it.
#[test]
fn a_named_internet_node() {
    let input = GraphInput {
        nodes: vec![
            node("net", NodeKind::Internet),
            node("c", NodeKind::Container),
        ],
        edges: vec![Edge::Connects {
            source: "c".into(),
            target: "net".into(),
            direction: Direction::Inbound,
            peer_address: "81.2.69.160".into(),
            peer_port: None,
            local_port: Some(22),
        }],
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    assert_eq!(a.reach("c"), Some(Reach::Hops { hops: 1 }));
    assert_eq!(a.path_to("c").unwrap().unwrap().steps[0].from, "net");
    assert_eq!(a.reach("internet"), None);
}

/// Regression: a path's finding scores came from the single-precision
/// ranking key and could differ from `explain`'s by 0.1 (51.3 against 51.4
/// for a raw 51.35: CVSS 9.8 network, EPSS 0.01, fixed, not in use, 2 hops).
#[test]
fn path_scores_match_explained_scores() {
    let input: GraphInput = serde_json::from_value(serde_json::json!({
        "nodes": [
            {"id": "h", "kind": "host", "addresses": ["34.120.0.10/24"]},
            {"id": "p", "kind": "process"}
        ],
        "edges": [
            {"kind": "process_in", "parent": "h", "process": "p"},
            {"kind": "listens", "node": "p", "proto": "tcp", "address": "0.0.0.0", "port": 443}
        ],
        "findings": [{"id": "f", "node": "h", "kind": "vulnerability", "severity": "critical",
            "vulnerability": {"cvss_score": 9.8,
                "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "epss": 0.01, "fixed_versions": ["2"],
                "package": {"name": "z", "version": "1", "purl": "pkg:deb/debian/z@1"}}}],
        "runtime": [{"node": "h", "files": ["/bin/other"]}],
        "ownership": [{"node": "h", "name": "z", "version": "1", "files": ["/lib/z.so"]}]
    }))
    .unwrap();
    let a = Analysis::run(input).unwrap();
    let explained = a.explain("f").unwrap().score;
    assert!((explained - 51.4).abs() < 1e-9, "{explained}");
    let path = a.path_to("h").unwrap().unwrap();
    assert_eq!(path.findings[0].score, explained);
    assert_eq!(path.score, explained);
}
