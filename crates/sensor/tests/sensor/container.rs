//! Container runtime evidence on the live host, without Docker: a process
//! runs `chroot`ed (in its own mount namespace, `unshare --mount`) in a
//! small root filesystem with a dpkg database of its own, in a cgroup named
//! like a Docker container's. Discovery must see it as that container, and
//! the runtime collector must map the library it loads to the root
//! filesystem's package, not the host's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_model::agent::Entity;
use rampart_sensor::CollectorConfig;
use rampart_sensor::collect::Collector;
use rampart_sensor::runtime::{RuntimeCollector, RuntimeConfig};

const ID: &str = "5eb5e6c0a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";

/// The chrooted process and the cgroup made for it, removed on drop.
struct Fixture {
    child: Child,
    pid: Option<u32>,
    /// The cgroup directories made, deepest first.
    cgroup: Vec<PathBuf>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(pid) = self
            .pid
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for dir in &self.cgroup {
            // Removable once the killed process is reaped.
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn copy_into(root: &Path, file: &str) {
    let to = root.join(file.trim_start_matches('/'));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(file, &to).unwrap();
}

/// The libraries `ldd` says `exe` needs (absolute paths).
fn libraries(exe: &str) -> Vec<String> {
    let out = Command::new("ldd").arg(exe).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(str::to_string)
        })
        .collect()
}

/// The first pid whose parent is `ppid` and whose executable ends in `exe`.
fn child_of(ppid: u32, exe: &str) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            let path = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            if parent == Some(ppid) && path.to_string_lossy().ends_with(exe) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Moves `pid` into a cgroup named like a Docker container's, in the first
/// hierarchy that accepts it (cgroup v2, the v2 part of a hybrid layout,
/// or v1's `pids`); the directories it made, deepest first.
fn docker_cgroup(pid: u32) -> Result<Vec<PathBuf>, String> {
    let mut why = Vec::new();
    for (base, sub) in [
        ("/sys/fs/cgroup", format!("system.slice/docker-{ID}.scope")),
        (
            "/sys/fs/cgroup/unified",
            format!("system.slice/docker-{ID}.scope"),
        ),
        ("/sys/fs/cgroup/pids", format!("docker/{ID}")),
    ] {
        let base = Path::new(base);
        if !base.join("cgroup.procs").exists() {
            continue;
        }
        let dir = base.join(&sub);
        let made: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| *a != base && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            why.push(format!("{}: {e}", dir.display()));
            continue;
        }
        match std::fs::write(dir.join("cgroup.procs"), pid.to_string()) {
            Ok(()) => return Ok(made),
            Err(e) => {
                why.push(format!("{}: {e}", dir.display()));
                for d in &made {
                    let _ = std::fs::remove_dir(d);
                }
            }
        }
    }
    Err(format!("no cgroup hierarchy took the process: {why:?}"))
}

#[test]
fn a_chrooted_process_in_a_container_cgroup_maps_to_its_root_filesystems_packages() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED container runtime evidence: needs root (unshare, chroot, cgroups)");
        return;
    }
    for tool in ["unshare", "chroot", "ldd"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            eprintln!("SKIPPED container runtime evidence: {tool} is missing");
            return;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    let exe = std::fs::canonicalize("/bin/sleep").unwrap();
    let exe = exe.to_str().unwrap();
    copy_into(&root, exe);
    let libs = libraries(exe);
    let Some(libc) = libs.iter().find(|l| l.contains("libc.so")).cloned() else {
        eprintln!("SKIPPED container runtime evidence: sleep does not link libc ({libs:?})");
        return;
    };
    for l in &libs {
        copy_into(&root, l);
    }
    // The root filesystem's own database: its libc belongs to a package
    // the host does not have, at a version the host does not have.
    let dpkg = root.join("var/lib/dpkg");
    std::fs::create_dir_all(dpkg.join("info")).unwrap();
    std::fs::write(
        dpkg.join("status"),
        "Package: rootfs-libc\nStatus: install ok installed\nArchitecture: amd64\n\
         Version: 2.99-rootfs\n",
    )
    .unwrap();
    std::fs::write(
        dpkg.join("info/rootfs-libc:amd64.list"),
        format!("/.\n{libc}\n"),
    )
    .unwrap();

    let unshare = match Command::new("unshare")
        .args(["--mount", "--fork", "--kill-child", "chroot"])
        .arg(&root)
        .args([exe, "60"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED container runtime evidence: unshare: {e}");
            return;
        }
    };
    let upid = unshare.id();
    let mut fx = Fixture {
        child: unshare,
        pid: None,
        cgroup: Vec::new(),
    };
    let Some(pid) = child_of(upid, "/bin/sleep") else {
        let _ = fx.child.kill();
        let out = fx.child.wait_with_output_stderr();
        eprintln!("SKIPPED container runtime evidence: the chrooted process did not start: {out}");
        return;
    };
    fx.pid = Some(pid);
    match docker_cgroup(pid) {
        Ok(made) => fx.cgroup = made,
        Err(e) => {
            eprintln!("SKIPPED container runtime evidence: {e}");
            return;
        }
    }

    // Discovery, for real: the cgroup names the container.
    let mut cfg = CollectorConfig::live();
    cfg.cloud_metadata_url = None;
    cfg.runtime_sockets.clear();
    let state = Collector::new(cfg).collect().unwrap();
    let proc = state
        .entities
        .values()
        .find_map(|e| match e {
            Entity::Process(p) if p.pid == pid => Some(p),
            _ => None,
        })
        .expect("the chrooted process is discovered");
    assert_eq!(proc.container_id.as_deref(), Some(ID), "{proc:?}");

    let rt = RuntimeCollector::new(RuntimeConfig::live()).collect(&state);
    let ct = rt
        .containers
        .iter()
        .find(|c| c.container == ID)
        .unwrap_or_else(|| panic!("no evidence for the container: {rt:?}"));
    assert_eq!(ct.databases, ["deb"], "{ct:?}");
    let names: Vec<(&str, &str)> = ct
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        names,
        [("rootfs-libc", "2.99-rootfs")],
        "the root filesystem's package, not the host's: {ct:?}"
    );
    assert_eq!(
        ct.packages[0].files,
        std::slice::from_ref(&libc),
        "a path inside the container"
    );
    // The host's evidence does not hold the container's process.
    assert!(
        !rt.packages.iter().any(|p| p.name == "rootfs-libc"),
        "{:?}",
        rt.packages
    );
    println!(
        "live container: pid {pid} in {} maps {libc}, owned by rootfs-libc 2.99-rootfs in its own database",
        fx.cgroup
            .first()
            .map_or(String::new(), |p| p.display().to_string())
    );
}

trait StderrText {
    fn wait_with_output_stderr(&mut self) -> String;
}

impl StderrText for Child {
    fn wait_with_output_stderr(&mut self) -> String {
        use std::io::Read as _;
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        let _ = self.wait();
        s
    }
}
