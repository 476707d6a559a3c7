//! The gRPC runtime clients against a real, throwaway containerd (its own
//! config, root, state and socket in a temp dir) with its CRI plugin:
//! containers made with `ctr` (one running under runc, one only created)
//! and a pod sandbox and container made through the CRI itself.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_model::agent::{Entity, EntityKind};
use rampart_sensor::grpc::{Connection, GrpcError, with_connection};
use rampart_sensor::protobuf::{Reader, Writer};
use rampart_sensor::{Collector, CollectorConfig, containerd, cri};

const IMAGE: &str = "localhost/rampart/pause:1";
const NS: &str = "rampart-test";
const POD_UID: &str = "5e0c7d2a-0000-4000-8000-000000000001";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why this host cannot run the test, if it cannot.
fn unsupported() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root".into());
    }
    for tool in [
        "containerd",
        "ctr",
        "runc",
        "containerd-shim-runc-v2",
        "umoci",
        "cc",
    ] {
        if !have(tool) {
            return Some(format!("{tool} is not installed (.ci/run installs it)"));
        }
    }
    None
}

/// A containerd of our own; on drop its tasks are deleted, it is killed
/// and waited for, and what it left mounted under the temp dir is unmounted.
struct Containerd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Containerd {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn start() -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("rmp-ctd")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        // Only overlayfs and native snapshotters; CRI without CNI (host
        // network pods only): it logs that CNI is not initialised and goes
        // on. The sandbox's oom_score_adj (-998) is kept at or above
        // containerd's own: a root without CAP_SYS_RESOURCE (inside a
        // container) may not lower it, and runc would fail.
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
"#,
            d = d.display()
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Containerd { dir, child };
        let started = Instant::now();
        while !c.socket().exists() || c.ctr(&["version"]).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "containerd did not start: {}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr -a SOCKET ARGS...` (the namespace is given in `args`).
    fn ctr(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ctr")
            .arg("-a")
            .arg(self.socket())
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "ctr {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for ns in [NS, "k8s.io"] {
            if let Ok(ids) = self.ctr(&["-n", ns, "tasks", "ls", "-q"]) {
                for id in ids.split_whitespace() {
                    let _ = self.ctr(&["-n", ns, "tasks", "delete", "-f", id]);
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Sandbox shm and leftover rootfs mounts, deepest first.
        let prefix = self.dir.path().to_string_lossy().into_owned();
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").args(["-l", &m]).status();
        }
    }
}

/// An OCI image archive with one static binary, `/pause`, that sleeps
/// until signalled (built with `cc -static` and umoci, no network).
fn build_image(dir: &Path) -> PathBuf {
    let src = dir.join("pause.c");
    std::fs::write(
        &src,
        "#include <signal.h>\n#include <unistd.h>\n\
         static void bye(int s) { (void)s; _exit(0); }\n\
         int main(void) { signal(SIGTERM, bye); signal(SIGINT, bye); for (;;) pause(); }\n",
    )
    .unwrap();
    let bin = dir.join("pause");
    run(Command::new("cc")
        .args(["-static", "-Os", "-o"])
        .arg(&bin)
        .arg(&src));
    let layout = dir.join("layout");
    let image = format!("{}:1", layout.display());
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    let bundle = dir.join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image", &image])
        .arg(&bundle));
    std::fs::copy(&bin, bundle.join("rootfs/pause")).unwrap();
    run(Command::new("umoci")
        .args(["repack", "--image", &image])
        .arg(&bundle));
    run(Command::new("umoci").args(["config", "--image", &image, "--config.entrypoint", "/pause"]));
    let tar = dir.join("image.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    tar
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first string in field `field` of an answer.
fn string_field(answer: &[u8], field: u32) -> String {
    for f in Reader::new(answer).unwrap() {
        let (n, v) = f.unwrap();
        if n == field {
            return v.string(n).unwrap();
        }
    }
    panic!("no field {field} in {answer:?}")
}

/// `PodSandboxConfig`: metadata, labels, and the node's network, PID and
/// IPC namespaces (so no CNI is needed; no host name, which the node's
/// UTS namespace would refuse).
fn sandbox_config(w: &mut Writer) {
    w.message(1, |m| {
        m.string(1, "web-0").string(2, POD_UID).string(3, "shop");
    })
    .map(
        6,
        &[("app".to_string(), "web".to_string())]
            .into_iter()
            .collect(),
    )
    .message(8, |linux| {
        linux.message(2, |sc| {
            sc.message(1, |ns| {
                ns.varint(1, 2); // network: NODE
            });
        });
    });
}

/// Runs a pod sandbox and a container in it through the CRI; returns
/// their ids.
async fn cri_pod(conn: &mut Connection) -> Result<(String, String), GrpcError> {
    let mut req = Writer::default();
    req.message(1, sandbox_config);
    let sandbox = string_field(
        &cri::call(conn, "RunPodSandbox", &req.into_bytes()).await?,
        1,
    );
    let mut req = Writer::default();
    req.string(1, &sandbox)
        .message(2, |c| {
            c.message(1, |m| {
                m.string(1, "app");
            })
            .message(2, |i| {
                i.string(1, IMAGE);
            })
            .map(
                9,
                // As kubelet labels its containers.
                &[
                    ("tier", "front"),
                    ("io.kubernetes.pod.uid", POD_UID),
                    ("io.kubernetes.pod.name", "web-0"),
                    ("io.kubernetes.pod.namespace", "shop"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            );
        })
        .message(3, sandbox_config);
    let container = string_field(
        &cri::call(conn, "CreateContainer", &req.into_bytes()).await?,
        1,
    );
    let mut req = Writer::default();
    req.string(1, &container);
    cri::call(conn, "StartContainer", &req.into_bytes()).await?;
    Ok((sandbox, container))
}

async fn cri_remove_pod(conn: &mut Connection, sandbox: &str) -> Result<(), GrpcError> {
    let mut req = Writer::default();
    req.string(1, sandbox);
    let req = req.into_bytes();
    cri::call(conn, "StopPodSandbox", &req).await?;
    cri::call(conn, "RemovePodSandbox", &req).await?;
    Ok(())
}

#[test]
fn containers_and_pods_from_a_real_containerd() {
    if let Some(why) = unsupported() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let ctd = Containerd::start();
    let work = tempfile::tempdir().unwrap();
    let tar = build_image(work.path());
    let tar = tar.to_str().unwrap();
    for ns in [NS, "k8s.io"] {
        ctd.ctr(&[
            "-n",
            ns,
            "images",
            "import",
            "--base-name",
            "localhost/rampart/pause",
            tar,
        ])
        .unwrap();
    }
    // One container running under runc, one only created.
    ctd.ctr(&[
        "-n",
        NS,
        "run",
        "-d",
        "--label",
        "app=demo",
        IMAGE,
        "running-1",
    ])
    .unwrap();
    ctd.ctr(&[
        "-n",
        NS,
        "containers",
        "create",
        "--label",
        "tier=cold",
        IMAGE,
        "created-1",
    ])
    .unwrap();
    let sock = ctd.socket();
    let deadline = Duration::from_secs(20);
    let (sandbox, cri_container) = with_connection(&sock, deadline, |mut conn| async move {
        cri_pod(&mut conn).await
    })
    .unwrap_or_else(|e| panic!("CRI pod: {e}\n{}", ctd.log()));

    // containerd's own API: every namespace.
    let t = Instant::now();
    let all = containerd::list(&sock, Duration::from_secs(5)).unwrap();
    eprintln!(
        "containerd API: {} containers in {:?}",
        all.len(),
        t.elapsed()
    );
    let get = |id: &str| {
        all.iter()
            .find(|c| c.key == id)
            .unwrap_or_else(|| panic!("{id} not in {all:#?}"))
    };
    let running = get("running-1");
    assert_eq!(running.state, "running");
    assert_eq!(running.runtime, "containerd");
    assert_eq!(running.image.as_deref(), Some(IMAGE));
    assert_eq!(running.labels.get("app").map(String::as_str), Some("demo"));
    assert_eq!(
        running
            .labels
            .get(containerd::NAMESPACE_LABEL)
            .map(String::as_str),
        Some(NS)
    );
    let created = get("created-1");
    assert_eq!(created.state, "created");
    assert_eq!(created.labels.get("tier").map(String::as_str), Some("cold"));
    // The CRI's containers are in k8s.io, with the pod's labels.
    let cri_native = get(&cri_container);
    assert_eq!(cri_native.state, "running");
    assert_eq!(cri_native.pod_uid.as_deref(), Some(POD_UID));
    assert_eq!(
        cri_native
            .labels
            .get("io.cri-containerd.kind")
            .map(String::as_str),
        Some("container")
    );
    assert!(
        all.iter().any(|c| c.key == sandbox),
        "the sandbox container"
    );

    // The CRI: the pod and its container.
    let t = Instant::now();
    let inv = cri::list(&sock, "containerd", Duration::from_secs(5)).unwrap();
    eprintln!(
        "CRI: {} containers, {} pods in {:?}",
        inv.containers.len(),
        inv.pods.len(),
        t.elapsed()
    );
    assert_eq!(inv.containers.len(), 1, "{inv:#?}");
    let c = &inv.containers[0];
    assert_eq!(c.key, cri_container);
    assert_eq!(c.name.as_deref(), Some("app"));
    assert_eq!(c.image.as_deref(), Some(IMAGE));
    assert!(
        c.image_id
            .as_deref()
            .is_some_and(|i| i.starts_with("sha256:")),
        "{c:?}"
    );
    assert_eq!(c.state, "running");
    assert_eq!(c.pod_uid.as_deref(), Some(POD_UID));
    assert_eq!(c.labels.get("tier").map(String::as_str), Some("front"));
    assert_eq!(inv.pods.len(), 1, "{inv:#?}");
    let p = &inv.pods[0];
    assert_eq!(
        (p.key.as_str(), p.name.as_deref(), p.namespace.as_deref()),
        (POD_UID, Some("web-0"), Some("shop"))
    );
    assert_eq!(p.labels.get("app").map(String::as_str), Some("web"));

    // Discovery merges both APIs and the pod; an absent socket is skipped.
    let mut cfg = CollectorConfig::live();
    cfg.cloud_metadata_url = None;
    cfg.runtime_sockets.clear();
    cfg.cri_sockets = vec![
        (sock.clone(), "containerd".to_string()),
        (PathBuf::from("/nonexistent/crio.sock"), "cri-o".to_string()),
    ];
    cfg.containerd_sockets = vec![sock.clone()];
    let state = Collector::new(cfg).collect().unwrap();
    let entity = |kind: EntityKind, key: &str| {
        state
            .entities
            .iter()
            .find(|(k, _)| k.kind == kind && k.key == key)
            .map(|(_, e)| e.clone())
    };
    let Some(Entity::Container(c)) = entity(EntityKind::Container, &cri_container) else {
        panic!("CRI container not discovered")
    };
    assert_eq!(c.name.as_deref(), Some("app"), "the CRI's name wins");
    assert_eq!(c.runtime, "containerd");
    assert_eq!(c.labels.get("tier").map(String::as_str), Some("front"));
    assert!(
        c.labels.contains_key(containerd::NAMESPACE_LABEL),
        "containerd's own labels are kept: {c:?}"
    );
    let Some(Entity::Pod(p)) = entity(EntityKind::Pod, POD_UID) else {
        panic!("pod not discovered")
    };
    assert_eq!(p.name.as_deref(), Some("web-0"));
    assert_eq!(p.namespace.as_deref(), Some("shop"));
    let Some(Entity::Container(r)) = entity(EntityKind::Container, "running-1") else {
        panic!("ctr container not discovered")
    };
    assert_eq!(r.state, "running");

    with_connection(&sock, deadline, |mut conn| async move {
        cri_remove_pod(&mut conn, &sandbox).await
    })
    .unwrap();
    let after = cri::list(&sock, "containerd", Duration::from_secs(5)).unwrap();
    assert!(
        after.containers.is_empty() && after.pods.is_empty(),
        "{after:#?}"
    );
}

/// A runtime that accepts and never answers costs at most the deadline.
#[test]
fn a_stuck_socket_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stuck.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let hold = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // Says nothing back (not even the HTTP/2 settings).
        std::thread::sleep(Duration::from_secs(3));
        let _ = s.write_all(b"");
    });
    let t = Instant::now();
    let err = containerd::list(&path, Duration::from_millis(500)).unwrap_err();
    assert!(matches!(err, GrpcError::Timeout(_)), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let err = cri::list(
        &dir.path().join("absent.sock"),
        "cri-o",
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(matches!(err, GrpcError::Io(_)), "{err}");
    hold.join().unwrap();
}
