//! Discovery over a fixture tree and over the live host.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use rampart_model::agent::{Direction, Entity, EntityKind, Proto};
use rampart_sensor::cloud::probe_metadata;
use rampart_sensor::{Collector, CollectorConfig};

use crate::http::{Response, Server};

const CONTAINER: &str = "3f1c9a0e8b7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b";
const POD: &str = "0a1b2c3d-1111-2222-3333-444455556666";

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn stat_line(pid: u32, comm: &str, ppid: u32, start: u64) -> String {
    format!(
        "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {start} 1000 10 0 0 0 0\n"
    )
}

#[allow(clippy::too_many_arguments)]
fn add_process(
    root: &Path,
    pid: u32,
    comm: &str,
    ppid: u32,
    start: u64,
    cmdline: &[&str],
    uid: u32,
    cgroup: &str,
    fds: &[(u32, &str)],
) {
    let d = format!("proc/{pid}");
    write(
        root,
        &format!("{d}/stat"),
        &stat_line(pid, comm, ppid, start),
    );
    write(
        root,
        &format!("{d}/status"),
        &format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
    );
    write(root, &format!("{d}/cmdline"), &(cmdline.join("\0") + "\0"));
    write(root, &format!("{d}/cgroup"), cgroup);
    std::fs::create_dir_all(root.join(&d).join("fd")).unwrap();
    for (fd, target) in fds {
        std::os::unix::fs::symlink(target, root.join(&d).join("fd").join(fd.to_string())).unwrap();
    }
    std::os::unix::fs::symlink(format!("/usr/bin/{comm}"), root.join(&d).join("exe")).unwrap();
}

/// A host with a database listening on 127.0.0.1:3306 (in a Kubernetes
/// container), a web server on [::]:80 with one inbound connection from a
/// mapped IPv4 peer, a client connected out to 10.0.2.2:443, a kernel thread,
/// and a DNS resolver on UDP.
fn fixture() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(r, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    write(r, "proc/sys/kernel/hostname", "web-1\n");
    write(r, "proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
    write(
        r,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    write(r, "proc/stat", "cpu  1 2 3\nbtime 1700000000\n");
    write(r, "proc/meminfo", "MemTotal:        2048000 kB\n");
    write(r, "proc/cpuinfo", "processor\t: 0\n\nprocessor\t: 1\n");
    write(
        r,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nmysql:x:105:110::/nonexistent:/bin/false\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
    );
    write(r, "sys/class/net/eth0/address", "52:54:00:12:34:56\n");
    write(r, "sys/class/net/lo/address", "00:00:00:00:00:00\n");
    write(
        r,
        "proc/net/if_inet6",
        "00000000000000000000000000000001 01 80 10 80       lo\nfe80000000000000505400fffe123456 02 40 20 80     eth0\n",
    );
    write(
        r,
        "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 1001 1\n\
   1: 0F02000A:C350 0202000A:01BB 01 00000000:00000000 00:00000000 00000000    33        0 1003 1\n\
   2: 0F02000A:C351 0202000A:01BB 06 00000000:00000000 00:00000000 00000000     0        0 0 1\n",
    );
    write(
        r,
        "proc/net/tcp6",
        "  sl  local_address remote_address st\n\
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1002 1\n\
   1: 0000000000000000FFFF00000F02000A:0050 0000000000000000FFFF00000502000A:D431 01 00000000:00000000 00:00000000 00000000 0 0 1004 1\n",
    );
    write(
        r,
        "proc/net/udp",
        "  sl  local_address rem_address   st\n   0: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1005 2\n",
    );
    add_process(
        r,
        1,
        "systemd",
        0,
        1,
        &["/sbin/init"],
        0,
        "0::/init.scope\n",
        &[],
    );
    add_process(r, 2, "kthreadd", 0, 1, &[], 0, "0::/\n", &[]);
    add_process(r, 3, "kworker/0:1", 2, 5, &[], 0, "0::/\n", &[]);
    add_process(
        r,
        100,
        "mysqld",
        1,
        500,
        &[
            "/usr/sbin/mysqld",
            "--user=mysql",
            "--password=hunter2hunter2",
        ],
        105,
        &format!(
            "0::/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{CONTAINER}.scope\n",
            POD.replace('-', "_")
        ),
        &[(3, "socket:[1001]"), (4, "/var/lib/mysql/ibdata1")],
    );
    add_process(
        r,
        200,
        "nginx",
        1,
        700,
        &["nginx", "-g", "daemon off;"],
        33,
        "0::/system.slice/nginx.service\n",
        &[
            (6, "socket:[1002]"),
            (7, "socket:[1004]"),
            (8, "socket:[1003]"),
        ],
    );
    add_process(
        r,
        300,
        "resolved",
        1,
        900,
        &["/lib/systemd/systemd-resolved"],
        0,
        "0::/system.slice/systemd-resolved.service\n",
        &[(12, "socket:[1005]")],
    );
    write(
        r,
        &format!("var/lib/kubelet/pods/{POD}/etc-hosts"),
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.244.0.7\tdb-0\n",
    );
    t
}

fn config(root: PathBuf) -> CollectorConfig {
    CollectorConfig {
        root,
        live: false,
        cloud_metadata_url: None,
        runtime_sockets: vec![],
        cri_sockets: vec![],
        containerd_sockets: vec![],
        runtime_timeout: std::time::Duration::from_secs(2),
        clock_ticks: 100,
        kube: None,
    }
}

fn by_key(state: &rampart_sensor::delta::State, kind: EntityKind) -> BTreeMap<String, Entity> {
    state
        .entities
        .iter()
        .filter(|(r, _)| r.kind == kind)
        .map(|(r, e)| (r.key.clone(), e.clone()))
        .collect()
}

#[test]
fn fixture_tree_discovery() {
    let t = fixture();
    let mut c = Collector::new(config(t.path().to_path_buf()));
    let s = c.collect().unwrap();
    let host = s.host.clone().unwrap();
    assert_eq!(host.hostname, "web-1");
    assert_eq!(host.machine_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(host.os.id, "debian");
    assert_eq!(host.kernel, "6.1.0-28-amd64");
    assert_eq!(
        (host.cpus, host.memory_bytes, host.boot_time),
        (2, 2_048_000 * 1024, 1_700_000_000)
    );
    let eth0 = host.interfaces.iter().find(|i| i.name == "eth0").unwrap();
    assert_eq!(eth0.mac.as_deref(), Some("52:54:00:12:34:56"));
    assert_eq!(eth0.addresses, ["fe80::5054:ff:fe12:3456/64"]);
    assert_eq!(
        host.interfaces.iter().find(|i| i.name == "lo").unwrap().mac,
        None
    );

    let procs = by_key(&s, EntityKind::Process);
    assert_eq!(
        procs.keys().cloned().collect::<Vec<_>>(),
        ["100:500", "1:1", "200:700", "300:900"],
        "kernel threads are left out"
    );
    let Entity::Process(db) = &procs["100:500"] else {
        panic!()
    };
    assert_eq!(
        db.cmdline,
        ["/usr/sbin/mysqld", "--user=mysql", "--password=[REDACTED]"]
    );
    assert_eq!(
        (db.uid, db.user.as_deref(), db.ppid),
        (105, Some("mysql"), 1)
    );
    assert_eq!(db.start_time, 1_700_000_005);
    assert_eq!(db.exe.as_deref(), Some("/usr/bin/mysqld"));
    assert_eq!(db.container_id.as_deref(), Some(CONTAINER));

    let listens = by_key(&s, EntityKind::Listen);
    assert_eq!(
        listens.keys().cloned().collect::<Vec<_>>(),
        ["tcp:127.0.0.1:3306", "tcp:[::]:80", "udp:127.0.0.53:53"]
    );
    let Entity::Listen(l) = &listens["tcp:127.0.0.1:3306"] else {
        panic!()
    };
    assert_eq!(
        (l.pid, l.process_key.as_deref()),
        (Some(100), Some("100:500"))
    );
    let Entity::Listen(u) = &listens["udp:127.0.0.53:53"] else {
        panic!()
    };
    assert_eq!((u.proto, u.pid), (Proto::Udp, Some(300)));

    let conns = by_key(&s, EntityKind::Connection);
    assert_eq!(conns.len(), 2, "TIME_WAIT is left out: {conns:?}");
    let Entity::Connection(inb) = &conns["tcp:10.0.2.15:80->10.0.2.5:54321"] else {
        panic!("{conns:?}")
    };
    assert_eq!(
        (inb.direction, inb.pid, inb.state.as_str()),
        (Direction::Inbound, Some(200), "ESTABLISHED")
    );
    let Entity::Connection(out) = &conns["tcp:10.0.2.15:50000->10.0.2.2:443"] else {
        panic!()
    };
    assert_eq!(
        (out.direction, out.process_key.as_deref()),
        (Direction::Outbound, Some("200:700"))
    );

    let containers = by_key(&s, EntityKind::Container);
    let Entity::Container(ct) = &containers[CONTAINER] else {
        panic!()
    };
    assert_eq!(
        (
            ct.runtime.as_str(),
            ct.state.as_str(),
            ct.pod_uid.as_deref()
        ),
        ("containerd", "running", Some(POD))
    );
    let pods = by_key(&s, EntityKind::Pod);
    let Entity::Pod(p) = &pods[POD] else { panic!() };
    assert_eq!(p.name.as_deref(), Some("db-0"));

    // A second collection of an unchanged host is the same state (the
    // process cache is reused), and a process that exits disappears.
    assert_eq!(c.collect().unwrap(), s);
    std::fs::remove_dir_all(t.path().join("proc/300")).unwrap();
    let s2 = c.collect().unwrap();
    let d = rampart_sensor::delta::diff(&s, &s2);
    assert_eq!(d.remove.len(), 1, "{d:?}");
    assert_eq!(d.remove[0].key, "300:900");
    assert_eq!(d.upsert.len(), 1, "the UDP socket lost its owner: {d:?}");
    assert!(d.host.is_none());

    // New sockets: one held by a new process, one by an old process that
    // held none; both owners are found.
    add_process(
        t.path(),
        400,
        "curl",
        1,
        1000,
        &["curl", "https://u:pw@example.com/"],
        0,
        "0::/\n",
        &[(5, "socket:[1006]")],
    );
    std::os::unix::fs::symlink("socket:[1007]", t.path().join("proc/1/fd/9")).unwrap();
    let mut tcp = std::fs::read_to_string(t.path().join("proc/net/tcp")).unwrap();
    tcp.push_str("   3: 0F02000A:C352 0202000A:01BB 01 00000000:00000000 00:00000000 00000000     0        0 1006 1\n");
    tcp.push_str("   4: 0F02000A:C353 0202000A:01BB 02 00000000:00000000 00:00000000 00000000     0        0 1007 1\n");
    std::fs::write(t.path().join("proc/net/tcp"), tcp).unwrap();
    let s3 = c.collect().unwrap();
    let conns = by_key(&s3, EntityKind::Connection);
    let Entity::Connection(a) = &conns["tcp:10.0.2.15:50002->10.0.2.2:443"] else {
        panic!("{conns:?}")
    };
    assert_eq!(a.process_key.as_deref(), Some("400:1000"));
    let Entity::Connection(b) = &conns["tcp:10.0.2.15:50003->10.0.2.2:443"] else {
        panic!("{conns:?}")
    };
    assert_eq!((b.pid, b.state.as_str()), (Some(1), "SYN_SENT"));
    let Entity::Process(curl) = &by_key(&s3, EntityKind::Process)["400:1000"] else {
        panic!()
    };
    assert_eq!(curl.cmdline, ["curl", "https://u:[REDACTED]@example.com/"]);
}

#[test]
fn live_host_sees_our_socket_and_connection() {
    if !Path::new("/proc/self/stat").exists() {
        eprintln!("SKIPPED: no /proc");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server_side, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    let mut cfg = CollectorConfig::live();
    cfg.cloud_metadata_url = None;
    cfg.runtime_sockets.clear();
    cfg.cri_sockets.clear();
    cfg.containerd_sockets.clear();
    let mut c = Collector::new(cfg);
    let started = std::time::Instant::now();
    let s = c.collect().unwrap();
    eprintln!(
        "live collection: {} entities in {:?}",
        s.entities.len(),
        started.elapsed()
    );
    let me = std::process::id();
    let procs = by_key(&s, EntityKind::Process);
    let mine = procs
        .values()
        .find_map(|e| match e {
            Entity::Process(p) if p.pid == me => Some(p.clone()),
            _ => None,
        })
        .expect("this test process is listed");
    let listens = by_key(&s, EntityKind::Listen);
    let Entity::Listen(l) = &listens[&format!("tcp:127.0.0.1:{port}")] else {
        panic!()
    };
    assert_eq!(l.pid, Some(me));
    assert_eq!(l.process_key.as_deref(), Some(mine.key.as_str()));
    let conns = by_key(&s, EntityKind::Connection);
    let Entity::Connection(inbound) =
        &conns[&format!("tcp:127.0.0.1:{port}->127.0.0.1:{client_port}")]
    else {
        panic!()
    };
    assert_eq!(inbound.direction, Direction::Inbound);
    let Entity::Connection(outbound) =
        &conns[&format!("tcp:127.0.0.1:{client_port}->127.0.0.1:{port}")]
    else {
        panic!()
    };
    assert_eq!(
        (outbound.direction, outbound.pid),
        (Direction::Outbound, Some(me))
    );
    let host = s.host.unwrap();
    assert!(!host.hostname.is_empty());
    assert!(
        host.interfaces
            .iter()
            .any(|i| i.addresses.iter().any(|a| a == "127.0.0.1/8")),
        "{:?}",
        host.interfaces
    );
}

#[test]
fn aws_metadata_with_an_imdsv2_token() {
    let srv = Server::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
        ("PUT", "/latest/api/token") => {
            assert_eq!(
                req.header("X-aws-ec2-metadata-token-ttl-seconds"),
                Some("300")
            );
            Response {
                status: 200,
                headers: vec![],
                body: "tok-123".into(),
            }
        }
        ("GET", p) if req.header("X-aws-ec2-metadata-token") != Some("tok-123") => {
            let _ = p;
            Response::empty(401)
        }
        ("GET", "/latest/dynamic/instance-identity/document") => Response::json(
            200,
            serde_json::json!({"instanceId": "i-0abc", "instanceType": "t3.micro", "accountId": "123456789012",
                "region": "eu-west-1", "availabilityZone": "eu-west-1b", "privateIp": "10.0.0.5"}),
        ),
        ("GET", "/latest/meta-data/public-ipv4") => Response {
            status: 200,
            headers: vec![],
            body: "203.0.113.9".into(),
        },
        _ => Response::empty(404),
    });
    let c = probe_metadata(&srv.url).unwrap();
    assert_eq!(c.provider, "aws");
    assert_eq!(c.instance_id.as_deref(), Some("i-0abc"));
    assert_eq!(c.zone.as_deref(), Some("eu-west-1b"));
    assert_eq!(c.public_ipv4.as_deref(), Some("203.0.113.9"));
    assert_eq!(c.private_ipv4.as_deref(), Some("10.0.0.5"));
    assert_eq!(srv.paths()[0], "/latest/api/token", "the token comes first");
}

#[test]
fn no_metadata_service_is_none_and_quick() {
    let srv = Server::start(|_, _| Response::empty(404));
    assert_eq!(probe_metadata(&srv.url), None);
    // Nothing listens on this port.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(probe_metadata(&format!("http://{free}")), None);
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn the_collector_adds_cloud_facts_once_probed() {
    let srv = Server::start(|req, _| match req.path.as_str() {
        "/computeMetadata/v1/?recursive=true"
            if req.header("Metadata-Flavor") == Some("Google") =>
        {
            Response::json(
                200,
                serde_json::json!({"instance": {"id": 42, "zone": "projects/1/zones/us-central1-a", "machineType": "projects/1/machineTypes/e2-small",
                "networkInterfaces": [{"ip": "10.128.0.2", "accessConfigs": [{"externalIp": "198.51.100.4"}]}]},
                "project": {"projectId": "demo"}}),
            )
        }
        _ => Response::empty(404),
    });
    let t = fixture();
    let mut cfg = config(t.path().to_path_buf());
    cfg.cloud_metadata_url = Some(srv.url);
    let mut c = Collector::new(cfg);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let h = c.collect().unwrap().host.unwrap();
        if let Some(cloud) = h.cloud {
            assert_eq!(cloud.provider, "gcp");
            assert_eq!(cloud.region.as_deref(), Some("us-central1"));
            assert_eq!(cloud.instance_type.as_deref(), Some("e2-small"));
            assert_eq!(cloud.public_ipv4.as_deref(), Some("198.51.100.4"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the probe never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
