//! Issue 8 end to end, every part a separate process: a console, a sensor
//! enrolled with it, a test server listening on a port and a test client
//! connected to it. The host, both processes, the listening port and the
//! connection appear through the API; a scan of the host runs on the
//! sensor and its findings are read back; the stopped sensor's host goes
//! inactive. Then two sensors on two "hosts" (network, PID, UTS and mount
//! namespaces the test creates) whose processes talk to each other: a
//! host-to-host edge appears. `rampart up` is checked too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::console::{api, client, start};
use crate::rampart;

fn bin() -> PathBuf {
    std::env::var_os("RAMPART_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_rampart")),
        PathBuf::from,
    )
}

/// A child process killed (with its process group) when dropped, its
/// stderr collected line by line.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {needle:?} on stderr; saw {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python, as a separate process: `listen PORT` accepts and holds
/// connections; `connect PORT` connects and holds the connection.
const PEER: &str = r"
import socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == 'listen':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(8)
    held = []
    while True:
        c, _ = s.accept(); held.append(c)
else:
    for _ in range(200):
        try:
            c = socket.create_connection((host, port)); break
        except OSError:
            time.sleep(0.1)
    time.sleep(3600)
";

/// The Python interpreter itself (not a version manager's wrapper, whose
/// pid would not be the interpreter's).
fn python_exe() -> String {
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn python(mode: &str, host: &str, port: u16) -> Command {
    let mut c = Command::new(python_exe());
    c.args(["-c", PEER, mode, host, &port.to_string()]);
    c
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `f` every 250 ms until it returns `Some`, for at most `secs`.
fn try_eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// [`try_eventually`], failing the test on timeout.
fn eventually<T>(secs: u64, what: &str, f: impl FnMut() -> Option<T>) -> T {
    try_eventually(secs, f).unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// Logs in as `admin`; the session token.
fn login(http: &ureq::Agent, url: &str, password: &str) -> String {
    let (s, v) = api(
        http,
        "POST",
        &format!("{url}/api/v1/auth/login"),
        None,
        Some(json!({"username": "admin", "password": password})),
    );
    assert_eq!(s, 200, "login: {v}");
    v["token"].as_str().unwrap().to_string()
}

/// A console with short topology and scan timings, and an admin session.
struct Console {
    proc: crate::console::Running,
    url: String,
    cert: PathBuf,
    http: ureq::Agent,
    admin: String,
}

const CONFIG: &str = "[console]\nreport_interval_secs = 1\nnode_inactive_secs = 4\n\
                      scan_heartbeat_timeout_secs = 8\n";

fn console(dir: &Path) -> Console {
    let data = dir.join("data");
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let mut proc = start(
        &["--listen", "127.0.0.1:0"],
        &[
            ("RAMPART_CONSOLE_DATA_DIR", data.to_str().unwrap()),
            ("RAMPART_ADMIN_PASSWORD", "fleet-test-admin-password"),
            ("RAMPART_CONFIG", cfg.to_str().unwrap()),
        ],
    );
    let line = proc.wait_for("console listening on https://");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    let cert = data.join("tls/cert.pem");
    let http = client(&std::fs::read(&cert).unwrap());
    let admin = login(&http, &url, "fleet-test-admin-password");
    Console {
        proc,
        url,
        cert,
        http,
        admin,
    }
}

impl Console {
    fn get(&self, path: &str) -> Value {
        let (s, v) = api(
            &self.http,
            "GET",
            &format!("{}{path}", self.url),
            Some(&self.admin),
            None,
        );
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    fn enrollment_token(&self) -> String {
        let (s, v) = api(
            &self.http,
            "POST",
            &format!("{}/api/v1/agents/enrollment-tokens", self.url),
            Some(&self.admin),
            Some(json!({"name": "fleet test"})),
        );
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    fn topology(&self) -> Value {
        self.get("/api/v1/graph/topology?limit=10000")
    }

    /// A `rampart sensor` enrolled with this console (a new enrollment
    /// token), state in `state`, reporting every second, with at most
    /// `max_jobs` scan jobs and `extra` arguments.
    fn sensor(&self, state: &Path, max_jobs: &str, extra: &[&str]) -> Proc {
        let enroll = self.enrollment_token();
        let mut cmd = rampart();
        cmd.args([
            "sensor",
            "--console",
            &self.url,
            "--enroll-token",
            &enroll,
            "--state-dir",
            state.to_str().unwrap(),
            "--ca-cert",
            self.cert.to_str().unwrap(),
            "--interval",
            "1",
            "--no-cloud-metadata",
            "--max-jobs",
            max_jobs,
        ])
        .args(extra)
        .env("RAMPART_LOG", "info");
        Proc::spawn(cmd)
    }
}

/// The node whose attributes say `pid`, in a topology.
fn process_node(topo: &Value, pid: u32) -> Option<Value> {
    topo["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["type"] == "process" && n["attributes"]["pid"] == pid)
        .cloned()
}

#[test]
fn a_sensor_feeds_the_console_topology_runs_a_scan_and_goes_inactive() {
    if !Path::new("/proc/net/tcp").exists() || !have("python3", "--version") {
        eprintln!("SKIPPED: needs /proc and python3");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let c = console(tmp.path());

    // The test's own server and client, separate processes.
    let port = free_port();
    let server = Proc::spawn(python("listen", "127.0.0.1", port));
    let client_proc = Proc::spawn(python("connect", "127.0.0.1", port));

    let mut sensor = c.sensor(&tmp.path().join("sensor"), "1", &[]);
    sensor.wait_for("sensor started");

    // The host, both processes, the listening port and the connection.
    let hosts = eventually(30, "the host node", || {
        let v = c.get("/api/v1/nodes?type=host");
        (v["total"] == 1).then_some(v)
    });
    let host = &hosts["items"][0];
    let host_id = host["id"].as_i64().unwrap();
    assert_eq!(host["active"], true);
    let (srv_pid, cli_pid) = (server.child.id(), client_proc.child.id());
    let mut last = Value::Null;
    let found = try_eventually(30, || {
        let topo = c.topology();
        last = topo.clone();
        let srv = process_node(&topo, srv_pid)?;
        let cli = process_node(&topo, cli_pid)?;
        let edges = topo["edges"].as_array()?;
        let listens = edges.iter().any(|e| {
            e["kind"] == "listens" && e["source"] == srv["id"] && e["attributes"]["port"] == port
        });
        let connects = edges.iter().any(|e| {
            e["kind"] == "connects" && e["source"] == cli["id"] && e["target"] == srv["id"]
        });
        (listens && connects).then_some((topo.clone(), srv, cli))
    });
    let Some((topo, srv, cli)) = found else {
        let mine: Vec<&Value> = last["nodes"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter(|n| {
                        n["attributes"]["pid"] == srv_pid || n["attributes"]["pid"] == cli_pid
                    })
                    .collect()
            })
            .unwrap_or_default();
        panic!(
            "the test processes ({srv_pid}, {cli_pid}) and their edges did not appear; \
             their nodes: {mine:?}; edges: {}",
            last["edges"]
        );
    };
    assert_eq!(srv["parent_id"], host_id, "{srv}");
    assert_eq!(cli["parent_id"], host_id, "{cli}");
    let runs = topo["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "runs" && e["source"] == host_id)
        .count();
    assert!(runs >= 2, "host runs edges: {runs}");
    // A loopback peer is not the internet.
    assert!(
        !topo["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "internet"),
        "loopback traffic made an internet node"
    );

    // A scan of the host runs on the sensor; its findings come back.
    let (s, scan) = api(
        &c.http,
        "POST",
        &format!("{}/api/v1/scans", c.url),
        Some(&c.admin),
        Some(json!({"targets": [host_id.to_string()], "scanners": ["posture"]})),
    );
    assert_eq!(s, 201, "{scan}");
    let scan_id = scan["id"].as_i64().unwrap();
    let done = eventually(240, "the host scan to finish", || {
        let v = c.get(&format!("/api/v1/scans/{scan_id}"));
        (v["state"] != "queued" && v["state"] != "running").then_some(v)
    });
    assert_eq!(done["state"], "succeeded", "{done}");
    let findings = c.get(&format!(
        "/api/v1/findings?node={host_id}&kind=posture&limit=5"
    ));
    assert!(
        findings["total"].as_i64().unwrap_or(0) > 0,
        "no posture findings on the host: {findings}"
    );
    let f = &findings["items"][0];
    assert!(f["rule_id"].as_str().unwrap().starts_with("RMP-"), "{f}");
    assert_eq!(f["last_scan_id"], scan_id);

    // The sensor stops: its host goes inactive.
    sensor.signal("-TERM");
    let _ = sensor.child.wait();
    eventually(60, "the host to go inactive", || {
        let v = c.get(&format!("/api/v1/nodes/{host_id}"));
        (v["active"] == false).then_some(())
    });
    drop(c.proc);
}

/// Network namespaces made and removed by the test.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A console namespace with a bridge (10.77.N.1) and two host namespaces
/// on it (10.77.N.2 and .3).
fn make_lab(tag: &str, net: u8) -> Result<Netns, String> {
    let (c, a, b) = (format!("{tag}c"), format!("{tag}a"), format!("{tag}b"));
    let lab = Netns(Vec::new());
    let mut lab = lab;
    for n in [&c, &a, &b] {
        ip(&["netns", "add", n])?;
        lab.0.push(n.clone());
        ip(&["-n", n, "link", "set", "lo", "up"])?;
    }
    ip(&["-n", &c, "link", "add", "br0", "type", "bridge"])?;
    ip(&[
        "-n",
        &c,
        "addr",
        "add",
        &format!("10.77.{net}.1/24"),
        "dev",
        "br0",
    ])?;
    ip(&["-n", &c, "link", "set", "br0", "up"])?;
    for (i, n) in [(2, &a), (3, &b)] {
        let (inner, outer) = (format!("{tag}i{i}"), format!("{tag}o{i}"));
        ip(&[
            "link", "add", &inner, "type", "veth", "peer", "name", &outer,
        ])?;
        ip(&["link", "set", &inner, "netns", n])?;
        ip(&["link", "set", &outer, "netns", &c])?;
        ip(&["-n", &c, "link", "set", &outer, "master", "br0"])?;
        ip(&["-n", &c, "link", "set", &outer, "up"])?;
        ip(&[
            "-n",
            n,
            "addr",
            "add",
            &format!("10.77.{net}.{i}/24"),
            "dev",
            &inner,
        ])?;
        ip(&["-n", n, "link", "set", &inner, "up"])?;
    }
    Ok(lab)
}

/// `curl` inside the console's namespace (the test itself stays outside).
fn api_in(ns: &str, cert: &Path, url: &str, token: &str) -> Value {
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "curl",
            "-sS",
            "--max-time",
            "10",
            "--cacert",
        ])
        .arg(cert)
        .args(["-H", &format!("authorization: Bearer {token}"), url])
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

fn post_in(ns: &str, cert: &Path, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        ns,
        "curl",
        "-sS",
        "--max-time",
        "10",
        "--cacert",
    ])
    .arg(cert)
    .args([
        "-H",
        "content-type: application/json",
        "-d",
        &body.to_string(),
    ]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("authorization: Bearer {t}")]);
    }
    let o = cmd.arg(url).output().unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

#[test]
fn two_sensors_in_network_namespaces_make_a_host_to_host_edge() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !have("ip", "-V") || !have("unshare", "--version") || !have("curl", "--version") {
        eprintln!(
            "SKIPPED two_sensors_in_network_namespaces_make_a_host_to_host_edge: needs root, \
             ip, unshare and curl"
        );
        return;
    }
    if !have("python3", "--version") {
        eprintln!("SKIPPED two_sensors_in_network_namespaces_make_a_host_to_host_edge: no python3");
        return;
    }
    let tag = format!("rmp{}", std::process::id() % 100_000);
    let net = u8::try_from(std::process::id() % 200 + 20).unwrap_or(77);
    let _lab = match make_lab(&tag, net) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "SKIPPED two_sensors_in_network_namespaces_make_a_host_to_host_edge: network \
                 namespaces are not permitted here ({e})"
            );
            return;
        }
    };
    let (ns_c, ns_a, ns_b) = (format!("{tag}c"), format!("{tag}a"), format!("{tag}b"));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let listen = format!("10.77.{net}.1:8443");
    let mut console = Proc::spawn({
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns_c])
            .arg(bin())
            .args(["console", "--listen", &listen, "--data-dir"])
            .arg(&data)
            .env("RAMPART_ADMIN_PASSWORD", "netns-test-admin-password")
            .env("RAMPART_CONFIG", {
                let cfg = tmp.path().join("config.toml");
                std::fs::write(&cfg, CONFIG).unwrap();
                cfg
            })
            .env("XDG_CONFIG_HOME", "/nonexistent-rampart-test");
        cmd
    });
    console.wait_for("console listening on https://");
    let url = format!("https://{listen}");
    let cert = data.join("tls/cert.pem");
    let login = post_in(
        &ns_c,
        &cert,
        &format!("{url}/api/v1/auth/login"),
        None,
        &json!({"username": "admin", "password": "netns-test-admin-password"}),
    );
    let admin = login["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"))
        .to_string();

    // Each "host": its own network, PID, UTS and mount namespaces, its own
    // machine id, a sensor and a test process. Host B listens; host A's
    // process connects to it.
    let port = 9000;
    let peer = format!("10.77.{net}.3");
    let mut hosts = Vec::new();
    for (ns, name, role) in [(&ns_b, "lab-b", "listen"), (&ns_a, "lab-a", "connect")] {
        let enroll = post_in(
            &ns_c,
            &cert,
            &format!("{url}/api/v1/agents/enrollment-tokens"),
            Some(&admin),
            &json!({"name": name}),
        )["token"]
            .as_str()
            .unwrap()
            .to_string();
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let id = if role == "listen" { "b" } else { "a" };
        std::fs::write(dir.join("machine-id"), format!("{}\n", id.repeat(32))).unwrap();
        let (addr, mode) = if role == "listen" {
            ("0.0.0.0".to_string(), "listen")
        } else {
            (peer.clone(), "connect")
        };
        let script = format!(
            "mount --bind {mid} /etc/machine-id && hostname {name} && \
             {python} -c \"$PEER\" {mode} {addr} {port} & \
             exec {bin} sensor --console {url} --enroll-token {enroll} --state-dir {state} \
             --ca-cert {cert} --interval 1 --no-cloud-metadata --max-jobs 0",
            mid = dir.join("machine-id").display(),
            python = python_exe(),
            bin = bin().display(),
            state = dir.join("state").display(),
            cert = cert.display(),
        );
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns,
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--uts",
            "sh",
            "-c",
            &script,
        ])
        .env("PEER", PEER)
        .env("RAMPART_LOG", "info")
        .env("XDG_CONFIG_HOME", "/nonexistent-rampart-test");
        let mut p = Proc::spawn(cmd);
        p.wait_for("sensor started");
        hosts.push(p);
    }

    // The edge: host A's client process -> host B's listening process.
    let edge = eventually(60, "a host-to-host edge", || {
        let topo = api_in(
            &ns_c,
            &cert,
            &format!("{url}/api/v1/graph/topology?limit=10000"),
            &admin,
        );
        let nodes = topo["nodes"].as_array()?;
        let host_of = |id: &Value| -> Option<String> {
            let n = nodes.iter().find(|n| &n["id"] == id)?;
            let key = n["key"].as_str()?;
            Some(key.split('/').next().unwrap_or(key).to_string())
        };
        let hosts: Vec<(&str, String)> = nodes
            .iter()
            .filter(|n| n["type"] == "host")
            .filter_map(|n| Some((n["name"].as_str()?, n["key"].as_str()?.to_string())))
            .collect();
        let a = hosts.iter().find(|(n, _)| *n == "lab-a")?.1.clone();
        let b = hosts.iter().find(|(n, _)| *n == "lab-b")?.1.clone();
        topo["edges"].as_array()?.iter().find_map(|e| {
            (e["kind"] == "connects"
                && host_of(&e["source"]).as_deref() == Some(a.as_str())
                && host_of(&e["target"]).as_deref() == Some(b.as_str()))
            .then(|| e.clone())
        })
    });
    assert_eq!(edge["attributes"]["port"], port, "{edge}");
    assert_ne!(
        edge["attributes"]["endpoint"], "external-private",
        "the peer is a monitored host: {edge}"
    );
    drop(hosts);
    drop(console);
}

#[test]
fn rampart_up_starts_a_console_and_an_enrolled_sensor() {
    if !Path::new("/proc/net/tcp").exists() {
        eprintln!("SKIPPED: needs /proc");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let up_cmd = || {
        let mut cmd = rampart();
        cmd.args([
            "up",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data.to_str().unwrap(),
            "--interval",
            "1",
            "--no-cloud-metadata",
        ]);
        cmd
    };
    let mut up = Proc::spawn(up_cmd());
    // The generated admin password, shown once.
    let line = up.wait_for("with the generated password: ");
    let password = line.rsplit(": ").next().unwrap().trim().to_string();
    let ready = up.wait_for("Rampart is up: open https://");
    assert!(ready.contains(&format!("127.0.0.1:{port}")), "{ready}");
    let url = format!("https://127.0.0.1:{port}");
    let http = client(&std::fs::read(data.join("tls/cert.pem")).unwrap());
    let token = login(&http, &url, &password);
    // This machine appears, reported by the automatically enrolled sensor.
    eventually(30, "this host reported by the local sensor", || {
        let (_, v) = api(
            &http,
            "GET",
            &format!("{url}/api/v1/nodes?type=host"),
            Some(&token),
            None,
        );
        (v["total"] == 1 && v["items"][0]["active"] == true).then_some(())
    });
    let (_, agents) = api(
        &http,
        "GET",
        &format!("{url}/api/v1/agents"),
        Some(&token),
        None,
    );
    assert_eq!(agents["total"], 1, "{agents}");
    // Ctrl-C stops both, cleanly.
    up.signal("-INT");
    let status = up.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{:?}", up.seen);

    // A second start reuses the credential: no new agent.
    let mut again = Proc::spawn(up_cmd());
    let ready = again.wait_for("Rampart is up");
    assert!(ready.contains("earlier start"), "{ready}");
    std::thread::sleep(Duration::from_secs(2));
    let token = login(&http, &url, &password);
    let (_, agents) = api(
        &http,
        "GET",
        &format!("{url}/api/v1/agents"),
        Some(&token),
        None,
    );
    assert_eq!(agents["total"], 1, "{agents}");
    again.signal("-INT");
    assert_eq!(
        again.child.wait().unwrap().code(),
        Some(0),
        "{:?}",
        again.seen
    );
}

/// A Kubernetes API stand-in: Python's HTTPS server with an openssl-made
/// CA and server certificate, checking the bearer token and answering the
/// three list requests with the sensor tests' recorded-shape answers.
const KUBE_API: &str = r#"
import http.server, os, ssl, sys
cert, key, token, fixtures = sys.argv[1:5]
files = {'/api/v1/services': 'services.json',
         '/apis/discovery.k8s.io/v1/endpointslices': 'endpointslices.json',
         '/apis/networking.k8s.io/v1/ingresses': 'ingresses.json'}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = files.get(self.path.split('?')[0])
        if self.headers.get('Authorization') != 'Bearer ' + token:
            code, body = 401, b'{"kind":"Status","code":401}'
        elif name:
            code, body = 200, open(os.path.join(fixtures, name), 'rb').read()
        else:
            code, body = 404, b'{"kind":"Status","code":404}'
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        sys.stderr.write('request %s %s\n' % (self.path, args[1] if len(args) > 1 else ''))
        sys.stderr.flush()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.HTTPServer(('127.0.0.1', 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
sys.stderr.write('listening %d\n' % srv.server_address[1])
sys.stderr.flush()
srv.serve_forever()
"#;

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_sensor_reports_kubernetes_services_from_the_api() {
    if !have("python3", "--version") || !have("openssl", "version") {
        eprintln!("SKIPPED: needs python3 and openssl");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    openssl(
        pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=test cluster CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        pki,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=kube-apiserver",
        ],
    );
    std::fs::write(
        pki.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        pki,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sensor/tests/sensor/kube");
    let mut kube = Proc::spawn({
        let mut c = Command::new(python_exe());
        c.args(["-c", KUBE_API, "server.crt", "server.key", "e2e-token"])
            .arg(&fixtures)
            .current_dir(pki);
        c
    });
    let line = kube.wait_for("listening ");
    let port: u16 = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
    let kubeconfig = pki.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: e2e\n\
             contexts:\n- name: e2e\n  context: {{cluster: e2e-cluster, user: sensor}}\n\
             clusters:\n- name: e2e-cluster\n  cluster:\n    server: https://127.0.0.1:{port}\n\
             \x20   certificate-authority: ca.crt\n\
             users:\n- name: sensor\n  user: {{token: e2e-token}}\n"
        ),
    )
    .unwrap();

    let c = console(tmp.path());
    let mut sensor = c.sensor(
        &tmp.path().join("sensor"),
        "0",
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--kube-cluster-objects",
        ],
    );
    let line = sensor.wait_for("Kubernetes API via");
    assert!(
        line.contains("Services and Ingresses of cluster e2e-cluster"),
        "{line}"
    );
    let services = eventually(30, "the cluster's Services", || {
        let v = c.get("/api/v1/nodes?type=service&sort=name");
        (v["total"] == 5).then_some(v)
    });
    let names: Vec<&str> = services["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "api-internal",
            "kubernetes",
            "web-internal",
            "web-nodeport",
            "web-public"
        ]
    );
    let lb = &services["items"][4];
    assert_eq!(lb["key"], "5b1f0c3e-4f6a-4c1e-9d57-0a3f2b7c9e01");
    assert_eq!(lb["attributes"]["type"], "LoadBalancer");
    assert_eq!(lb["attributes"]["cluster"], "e2e-cluster");
    assert_eq!(lb["attributes"]["load_balancer"], json!(["34.120.5.6"]));
    let ing = c.get("/api/v1/nodes?type=ingress");
    assert_eq!(ing["total"], 1, "{ing}");
    assert_eq!(ing["items"][0]["name"], "shop");
    // Every request carried the kubeconfig's token.
    let requests: Vec<String> = std::iter::from_fn(|| kube.lines.try_recv().ok())
        .chain(kube.seen.iter().cloned())
        .filter(|l| l.starts_with("request "))
        .collect();
    assert!(
        requests
            .iter()
            .any(|l| l.contains("/api/v1/services?limit=500 200")),
        "{requests:?}"
    );
    assert!(requests.iter().all(|l| l.ends_with(" 200")), "{requests:?}");
    drop(sensor);
}
