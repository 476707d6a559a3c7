//! Runtime evidence: which packages running processes use, on the host
//! and in each container.
//!
//! For every process, the files in use are its executable, the files
//! mapped into it (`/proc/PID/maps`, read with
//! [`rampart_graph::runtime::mapped_files`]) and its open regular files
//! under library and language package directories (`/proc/PID/fd`). Each
//! file is mapped to the package that owns it through the package
//! databases ([`crate::ownership`]: dpkg, apk, rpm), read once and read
//! again only when a database file changes. Files under `site-packages`,
//! `dist-packages`, `node_modules` or in a jar that no database owns are
//! reported as they are, for the console's path rules.
//!
//! A process in a container (its cgroup names one) is read the same way,
//! but its paths are the container's: a path the kernel shows with the
//! container root's prefix (a `chroot`) has it removed, and the files are
//! mapped through the container's own databases, read inside its root
//! (`/proc/PID/root`, through [`crate::rootfs::RootDir`], so no symlink
//! leads out of it; within [`RuntimeConfig::container_budget`]: database
//! and list sizes, total list bytes, packages and paths). One index per
//! container, kept while the container has processes, rebuilt when its
//! databases change but at most once every
//! [`RuntimeConfig::container_reindex_every`], at most
//! [`MAX_INDEXED_CONTAINERS`] of them (the others are reported without
//! one, with the reason, and a warning is logged).
//!
//! Cost: a process's maps and fds are read when it is first seen, then
//! only every [`RuntimeConfig::reread_every`] collections; a process that
//! is gone is forgotten.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_model::agent::{
    ContainerRuntime, Entity, MAX_EVIDENCE_FILES, MAX_INDEXED_CONTAINERS, MAX_UNOWNED_FILES,
    PackageInUse, Report, RuntimeUse,
};

use crate::delta::State;
use crate::ownership::{Budget, Ownership};
use crate::rootfs::RootDir;

/// At most this many file descriptors are read per process.
pub const MAX_FDS: usize = 4096;

/// How runtime evidence is collected.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// `/` on a live host; a fixture tree in tests.
    pub root: PathBuf,
    /// A known process's files are read again every this many collections
    /// (libraries loaded late, `dlopen`); new processes are read at once.
    pub reread_every: u64,
    /// What building the host's ownership index may cost.
    pub host_budget: Budget,
    /// What building one container's ownership index may cost.
    pub container_budget: Budget,
    /// A container's index is rebuilt at most once in this time, however
    /// often its databases change (the host's is rebuilt on every change).
    pub container_reindex_every: Duration,
    /// At most this many containers get an ownership index.
    pub max_indexed_containers: usize,
}

impl RuntimeConfig {
    /// The live host, re-reading known processes every 30 collections
    /// (5 minutes at the default 10 s interval), with [`Budget::HOST`]
    /// and [`Budget::CONTAINER`], a container's index rebuilt at most
    /// every 5 minutes.
    #[must_use]
    pub fn live() -> Self {
        RuntimeConfig {
            root: PathBuf::from("/"),
            reread_every: 30,
            host_budget: Budget::HOST,
            container_budget: Budget::CONTAINER,
            container_reindex_every: Duration::from_secs(300),
            max_indexed_containers: MAX_INDEXED_CONTAINERS,
        }
    }

    /// A fixture tree with the live limits.
    #[must_use]
    pub fn at(root: impl Into<PathBuf>, reread_every: u64) -> Self {
        RuntimeConfig {
            root: root.into(),
            reread_every,
            ..RuntimeConfig::live()
        }
    }
}

#[derive(Debug)]
struct ProcFiles {
    files: Vec<Arc<str>>,
    read_at: u64,
    /// The container it runs in.
    container: Option<String>,
}

/// Removes the container root's prefix from a path the kernel showed
/// relative to the sensor's root (a `chroot`ed process); other paths
/// (another mount namespace) are already the container's.
fn in_container<'a>(path: &'a str, prefix: Option<&str>) -> &'a str {
    match prefix {
        Some(pre) => path
            .strip_prefix(pre)
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        None => path,
    }
}

/// A path under a language package directory (the console's path rules).
fn language_path(p: &str) -> bool {
    p.contains("/site-packages/")
        || p.contains("/dist-packages/")
        || p.contains("/node_modules/")
        || p.ends_with(".jar")
}

/// An open file worth reporting: libraries and language packages (not
/// logs, data files or devices).
fn interesting_open_file(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("/proc/")
        && !p.starts_with("/dev/")
        && !p.starts_with("/sys/")
        && (language_path(p) || p.contains("/lib/") || p.contains("/lib64/") || p.contains(".so"))
}

/// The files in use of one place (the host or a container), mapped to packages.
struct Mapped {
    files_in_use: u32,
    packages: Vec<PackageInUse>,
    language_files: Vec<String>,
}

fn map_files(in_use: &BTreeSet<&str>, owners: Option<&Ownership>) -> Mapped {
    let mut packages: BTreeMap<(&str, &str, &str), Vec<String>> = BTreeMap::new();
    let mut language_files = Vec::new();
    for f in in_use {
        match owners.and_then(|o| o.owner(f)) {
            Some(pkg) => {
                let ev = packages
                    .entry((pkg.ecosystem, &pkg.name, &pkg.version))
                    .or_default();
                if ev.len() < MAX_EVIDENCE_FILES {
                    ev.push((*f).to_string());
                }
            }
            None if language_path(f) && language_files.len() < MAX_UNOWNED_FILES => {
                language_files.push((*f).to_string());
            }
            None => {}
        }
    }
    Mapped {
        files_in_use: u32::try_from(in_use.len()).unwrap_or(u32::MAX),
        packages: packages
            .into_iter()
            .map(|((eco, name, version), files)| PackageInUse {
                ecosystem: eco.to_string(),
                name: name.to_string(),
                version: version.to_string(),
                files,
            })
            .collect(),
        language_files,
    }
}

/// Collects the runtime evidence of the host's and its containers'
/// processes, remembering what it read between collections.
#[derive(Debug)]
pub struct RuntimeCollector {
    cfg: RuntimeConfig,
    cycle: u64,
    procs: HashMap<String, ProcFiles>,
    pool: HashSet<Arc<str>>,
    owners: Option<Ownership>,
    /// One ownership index per container id, with when it was built.
    containers: HashMap<String, (Ownership, Instant)>,
    /// Set while more containers run than can be indexed (logged once).
    over_cap: bool,
}

impl RuntimeCollector {
    #[must_use]
    pub fn new(cfg: RuntimeConfig) -> Self {
        RuntimeCollector {
            cfg,
            cycle: 0,
            procs: HashMap::new(),
            pool: HashSet::new(),
            owners: None,
            containers: HashMap::new(),
            over_cap: false,
        }
    }

    fn intern(&mut self, p: &str) -> Arc<str> {
        if let Some(a) = self.pool.get(p) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(p);
        self.pool.insert(Arc::clone(&a));
        a
    }

    fn proc_dir(&self, pid: u32) -> PathBuf {
        self.cfg.root.join("proc").join(pid.to_string())
    }

    /// The prefix to remove from a container process's paths: where its
    /// root is as the sensor sees it, when that is not `/`.
    fn root_prefix(&self, pid: u32) -> Option<String> {
        let t = std::fs::read_link(self.proc_dir(pid).join("root")).ok()?;
        let t = t.to_str()?.trim_end_matches('/');
        (t.starts_with('/') && !t.is_empty()).then(|| t.to_string())
    }

    fn read_process(&mut self, pid: u32, exe: Option<&str>, container: bool) -> Vec<Arc<str>> {
        let dir = self.proc_dir(pid);
        let prefix = if container {
            self.root_prefix(pid)
        } else {
            None
        };
        let prefix = prefix.as_deref();
        let mut paths: Vec<String> = Vec::new();
        let mut push = |p: &str| {
            let p = p.strip_suffix(" (deleted)").unwrap_or(p);
            paths.push(in_container(p, prefix).to_string());
        };
        if let Some(e) = exe {
            push(e);
        }
        if let Ok(maps) = std::fs::read_to_string(dir.join("maps")) {
            for m in rampart_graph::runtime::mapped_files(&maps) {
                push(&m);
            }
        }
        if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            for fd in fds.take(MAX_FDS).flatten() {
                if let Ok(t) = std::fs::read_link(fd.path())
                    && let Some(t) = t.to_str()
                    && interesting_open_file(in_container(t, prefix))
                {
                    push(t);
                }
            }
        }
        paths.sort_unstable();
        paths.dedup();
        paths.iter().map(|p| self.intern(p)).collect()
    }

    /// Refreshes the host's index when its databases changed.
    fn refresh_host(&mut self) {
        match RootDir::open(&self.cfg.root) {
            Ok(root) => {
                if self.owners.as_ref().is_none_or(|o| o.stale(&root)) {
                    self.owners = Some(Ownership::read(&root, &self.cfg.host_budget));
                }
            }
            Err(e) => {
                tracing::warn!("runtime evidence: {}: {e}", self.cfg.root.display());
                self.owners = None;
            }
        }
    }

    /// Refreshes (or builds) the index of each running container, read
    /// through the root of one of its processes; drops those gone.
    fn refresh_containers(&mut self, live: &BTreeMap<String, Vec<u32>>) -> HashMap<String, String> {
        self.containers.retain(|id, _| live.contains_key(id));
        let mut unindexed = HashMap::new();
        let mut over = 0usize;
        let cap = self.cfg.max_indexed_containers;
        for (id, pids) in live {
            if !self.containers.contains_key(id) && self.containers.len() >= cap {
                over += 1;
                unindexed.insert(
                    id.clone(),
                    format!("not indexed: more than {cap} containers"),
                );
                continue;
            }
            let root = pids
                .iter()
                .find_map(|pid| RootDir::open(&self.proc_dir(*pid).join("root")).ok());
            let Some(root) = root else {
                unindexed.insert(id.clone(), "its root filesystem cannot be opened".into());
                self.containers.remove(id);
                continue;
            };
            let every = self.cfg.container_reindex_every;
            if self
                .containers
                .get(id)
                .is_none_or(|(o, built)| built.elapsed() >= every && o.stale(&root))
            {
                let o = Ownership::read(&root, &self.cfg.container_budget);
                self.containers.insert(id.clone(), (o, Instant::now()));
            }
        }
        if over > 0 && !self.over_cap {
            tracing::warn!(
                "runtime evidence: {} containers run; package ownership is indexed for {cap} only ({over} without)",
                live.len()
            );
        }
        self.over_cap = over > 0;
        unindexed
    }

    /// The processes' files in use, mapped to packages: the host's, and
    /// each container's.
    pub fn collect(&mut self, state: &State) -> RuntimeUse {
        self.cycle += 1;
        self.refresh_host();
        let mut live = HashSet::new();
        let mut containers: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for e in state.entities.values() {
            let Entity::Process(p) = e else { continue };
            if p.exe.is_none() {
                continue;
            }
            live.insert(p.key.as_str());
            if let Some(c) = &p.container_id {
                containers.entry(c.clone()).or_default().push(p.pid);
            }
            let fresh = self.procs.get(&p.key).is_some_and(|f| {
                self.cycle.saturating_sub(f.read_at) < self.cfg.reread_every.max(1)
            });
            if !fresh {
                let files = self.read_process(p.pid, p.exe.as_deref(), p.container_id.is_some());
                self.procs.insert(
                    p.key.clone(),
                    ProcFiles {
                        files,
                        read_at: self.cycle,
                        container: p.container_id.clone(),
                    },
                );
            }
        }
        self.procs.retain(|k, _| live.contains(k.as_str()));
        self.pool.retain(|a| Arc::strong_count(a) > 1);
        for pids in containers.values_mut() {
            pids.sort_unstable();
        }
        let unindexed = self.refresh_containers(&containers);

        // Files in use per place: `None` is the host.
        let mut places: BTreeMap<Option<&str>, (u32, BTreeSet<&str>)> = BTreeMap::new();
        places.entry(None).or_default();
        for p in self.procs.values() {
            let e = places.entry(p.container.as_deref()).or_default();
            e.0 += 1;
            e.1.extend(p.files.iter().map(AsRef::as_ref));
        }
        let mut out = RuntimeUse::default();
        for (place, (processes, in_use)) in &places {
            match place {
                None => {
                    let owners = self.owners.as_ref();
                    let m = map_files(in_use, owners);
                    out.databases = owners.map(|o| o.databases.clone()).unwrap_or_default();
                    out.skipped = owners.map(|o| o.skipped.clone()).unwrap_or_default();
                    out.processes = *processes;
                    out.files_in_use = m.files_in_use;
                    out.packages = m.packages;
                    out.language_files = m.language_files;
                }
                Some(id) => {
                    let owners = self.containers.get(*id).map(|(o, _)| o);
                    let m = map_files(in_use, owners);
                    let mut skipped = owners.map(|o| o.skipped.clone()).unwrap_or_default();
                    skipped.extend(unindexed.get(*id).cloned());
                    out.containers.push(ContainerRuntime {
                        container: (*id).to_string(),
                        databases: owners.map(|o| o.databases.clone()).unwrap_or_default(),
                        processes: *processes,
                        files_in_use: m.files_in_use,
                        packages: m.packages,
                        language_files: m.language_files,
                        skipped,
                    });
                }
            }
        }
        out
    }

    /// How many packages the host's ownership index knows (0 before the
    /// first collection).
    #[must_use]
    pub fn known_packages(&self) -> usize {
        self.owners.as_ref().map_or(0, Ownership::len)
    }

    /// How many containers have an ownership index.
    #[must_use]
    pub fn indexed_containers(&self) -> usize {
        self.containers.len()
    }
}

/// Decides whether a report carries the runtime evidence: always in a
/// snapshot, in a delta only when it differs from the last acknowledged.
#[derive(Debug, Default)]
pub struct RuntimeReporter {
    acked: Option<RuntimeUse>,
    pending: Option<(u64, RuntimeUse)>,
}

impl RuntimeReporter {
    /// Sets `report.runtime` when it must be sent.
    pub fn attach(&mut self, report: &mut Report, current: RuntimeUse) {
        if report.base.is_none() || self.acked.as_ref() != Some(&current) {
            report.runtime = Some(current.clone());
            self.pending = Some((report.seq, current));
        } else {
            self.pending = None;
        }
    }

    /// The console acknowledged report `acked`.
    pub fn acknowledged(&mut self, acked: u64) {
        if let Some((seq, r)) = self.pending.take() {
            if seq == acked {
                self.acked = Some(r);
            } else {
                self.pending = Some((seq, r));
            }
        }
    }

    /// The console lost the base: the next snapshot carries it anyway.
    pub fn resync(&mut self) {
        self.acked = None;
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_model::agent::{HostFacts, OsInfo, Process};
    use std::path::Path;
    use std::time::SystemTime;

    fn host() -> HostFacts {
        HostFacts {
            machine_id: "m1".into(),
            hostname: "h".into(),
            os: OsInfo::default(),
            kernel: String::new(),
            arch: String::new(),
            cpus: 1,
            memory_bytes: 0,
            boot_time: 0,
            interfaces: vec![],
            cloud: None,
        }
    }

    fn process(pid: u32, exe: &str, container: Option<&str>) -> Entity {
        Entity::Process(Process {
            key: format!("{pid}:1"),
            pid,
            ppid: 1,
            name: "p".into(),
            exe: Some(exe.into()),
            cmdline: vec![],
            uid: 0,
            user: None,
            start_time: 0,
            container_id: container.map(str::to_string),
        })
    }

    fn write(root: &Path, rel: &str, body: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    fn fixture() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(
            r,
            "var/lib/dpkg/status",
            "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.15-1\n\n\
             Package: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1-10\n\n\
             Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n",
        );
        write(
            r,
            "var/lib/dpkg/info/libssl3:amd64.list",
            "/.\n/lib\n/lib/x86_64-linux-gnu/libssl.so.3\n",
        );
        write(r, "var/lib/dpkg/info/curl.list", "/usr/bin/curl\n");
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        write(
            r,
            "proc/10/maps",
            "55d0-55d1 r-xp 00000000 08:01 1 /usr/bin/python3.11\n\
             7f00-7f01 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libssl.so.3\n\
             7f02-7f03 r--p 00000000 08:01 3 /usr/lib/python3/dist-packages/yaml/_yaml.so\n\
             7ffd-7ffe rw-p 00000000 00:00 0 [stack]\n",
        );
        std::fs::create_dir_all(r.join("proc/10/fd")).unwrap();
        write(r, "proc/11/maps", "");
        d
    }

    #[test]
    fn mapped_libraries_map_to_their_deb_through_merged_usr() {
        let d = fixture();
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 3));
        let state = State::new(
            host(),
            [
                process(10, "/usr/bin/python3.11", None),
                process(11, "/usr/bin/curl", Some("abc")),
            ],
        );
        let r = c.collect(&state);
        assert_eq!(r.databases, vec!["deb"]);
        assert_eq!(r.processes, 1, "the container's process is apart");
        // The container's curl is not the host's: without a readable root
        // there is no index, and nothing is attributed to a host package.
        assert_eq!(r.containers.len(), 1);
        let ct = &r.containers[0];
        assert_eq!((ct.container.as_str(), ct.processes), ("abc", 1));
        assert!(ct.packages.is_empty() && ct.databases.is_empty(), "{ct:?}");
        assert_eq!(ct.skipped, ["its root filesystem cannot be opened"]);
        assert_eq!(r.packages.len(), 1, "{r:?}");
        assert_eq!(r.packages[0].name, "libssl3");
        assert_eq!(r.packages[0].version, "3.0.15-1");
        assert_eq!(
            r.packages[0].files,
            vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3"]
        );
        assert_eq!(
            r.language_files,
            vec!["/usr/lib/python3/dist-packages/yaml/_yaml.so"]
        );
        assert_eq!(c.known_packages(), 2, "a removed package is not indexed");
    }

    #[test]
    fn known_processes_are_reread_only_every_nth_collection() {
        let d = fixture();
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 3));
        let state = State::new(host(), [process(10, "/usr/bin/python3.11", None)]);
        assert_eq!(c.collect(&state).packages.len(), 1);
        // The process now maps curl's binary too; not seen until the re-read.
        write(
            d.path(),
            "proc/10/maps",
            "1-2 r-xp 0 08:01 1 /usr/bin/curl\n",
        );
        assert_eq!(c.collect(&state).packages.len(), 1);
        assert_eq!(c.collect(&state).packages.len(), 1);
        let r = c.collect(&state);
        let names: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["curl"]);
        // Gone processes are forgotten.
        let r = c.collect(&State::new(host(), []));
        assert!(r.packages.is_empty() && r.processes == 0);
        assert!(c.pool.is_empty());
    }

    #[test]
    fn ownership_is_read_again_when_the_database_changes() {
        let d = fixture();
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 1));
        let state = State::new(host(), [process(10, "/usr/bin/python3.11", None)]);
        c.collect(&state);
        assert_eq!(c.known_packages(), 2);
        let status = d.path().join("var/lib/dpkg/status");
        let mut s = std::fs::read_to_string(&status).unwrap();
        s.push_str("\nPackage: python3.11\nStatus: install ok installed\nVersion: 3.11.2-6\n");
        std::fs::write(&status, s).unwrap();
        write(
            d.path(),
            "var/lib/dpkg/info/python3.11.list",
            "/usr/bin/python3.11\n",
        );
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&status)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let r = c.collect(&state);
        assert_eq!(c.known_packages(), 3);
        assert!(r.packages.iter().any(|p| p.name == "python3.11"));
    }

    #[test]
    fn apk_database_is_read() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36\nF:bin\nR:busybox\n",
        );
        write(
            d.path(),
            "proc/5/maps",
            "1-2 r-xp 0 08:01 1 /lib/ld-musl-x86_64.so.1\n",
        );
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 1));
        let r = c.collect(&State::new(host(), [process(5, "/bin/busybox", None)]));
        assert_eq!(r.databases, vec!["apk"]);
        let names: Vec<(&str, &str)> = r
            .packages
            .iter()
            .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(names, vec![("apk", "busybox"), ("apk", "musl")]);
    }

    const CTR_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const CTR_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// The host fixture plus two containers: A (another mount namespace:
    /// its maps show its own paths) with a dpkg database of its own, and B
    /// (a `chroot`: the kernel shows paths with its root's prefix) with
    /// an apk database.
    fn containers_fixture() -> tempfile::TempDir {
        let d = fixture();
        let r = d.path();
        write(
            r,
            "ctr-a/var/lib/dpkg/status",
            "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.11-1~ctr\n",
        );
        write(
            r,
            "ctr-a/var/lib/dpkg/info/libssl3:amd64.list",
            "/usr/lib/x86_64-linux-gnu/libssl.so.3\n",
        );
        write(
            r,
            "proc/20/maps",
            "1-2 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libssl.so.3\n\
             3-4 r-xp 0 08:01 2 /usr/local/lib/python3.11/site-packages/yaml/_yaml.so\n",
        );
        std::os::unix::fs::symlink("../../ctr-a", r.join("proc/20/root")).unwrap();
        write(
            r,
            "ctr-b/lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n",
        );
        let b = r.join("ctr-b");
        write(
            r,
            "proc/30/maps",
            &format!(
                "1-2 r-xp 0 08:01 1 {}/lib/ld-musl-x86_64.so.1\n",
                b.display()
            ),
        );
        std::os::unix::fs::symlink(&b, r.join("proc/30/root")).unwrap();
        d
    }

    #[test]
    fn containers_map_their_files_through_their_own_databases() {
        let d = containers_fixture();
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 1));
        let b_exe = format!("{}/bin/busybox", d.path().join("ctr-b").display());
        let state = State::new(
            host(),
            [
                process(10, "/usr/bin/python3.11", None),
                process(20, "/usr/bin/python3", Some(CTR_A)),
                process(30, &b_exe, Some(CTR_B)),
            ],
        );
        let r = c.collect(&state);
        // The host's evidence is unchanged by the containers.
        assert_eq!(r.processes, 1);
        assert_eq!(r.packages.len(), 1);
        assert_eq!(r.packages[0].version, "3.0.15-1");
        assert_eq!(r.containers.len(), 2, "{r:?}");
        let a = &r.containers[0];
        assert_eq!(a.container, CTR_A);
        assert_eq!(a.databases, ["deb"]);
        assert_eq!(a.packages.len(), 1);
        assert_eq!(
            (a.packages[0].name.as_str(), a.packages[0].version.as_str()),
            ("libssl3", "3.0.11-1~ctr"),
            "the container's version, not the host's"
        );
        assert_eq!(
            a.language_files,
            ["/usr/local/lib/python3.11/site-packages/yaml/_yaml.so"]
        );
        let b = &r.containers[1];
        assert_eq!(b.databases, ["apk"]);
        assert_eq!(b.packages.len(), 1);
        assert_eq!(
            b.packages[0].files,
            ["/lib/ld-musl-x86_64.so.1"],
            "the chroot's prefix is removed"
        );
        assert_eq!(c.indexed_containers(), 2);
        // A container gone: its index goes too.
        let r = c.collect(&State::new(
            host(),
            [process(20, "/usr/bin/python3", Some(CTR_A))],
        ));
        assert_eq!(r.containers.len(), 1);
        assert_eq!(c.indexed_containers(), 1);
        let r = c.collect(&State::new(host(), []));
        assert!(r.containers.is_empty());
        assert_eq!(c.indexed_containers(), 0);
    }

    #[test]
    fn a_container_cannot_point_the_sensor_at_host_files() {
        let d = containers_fixture();
        let r = d.path();
        // The container's dpkg status is a symlink to the host's (by its
        // absolute path on the host, and by `..`): both resolve inside the
        // container's root, where nothing is.
        std::fs::remove_file(r.join("ctr-a/var/lib/dpkg/status")).unwrap();
        std::os::unix::fs::symlink(
            r.join("var/lib/dpkg/status"),
            r.join("ctr-a/var/lib/dpkg/status"),
        )
        .unwrap();
        std::fs::create_dir_all(r.join("ctr-a/lib/apk/db")).unwrap();
        std::os::unix::fs::symlink(
            "../../../../../../../../var/lib/dpkg/status",
            r.join("ctr-a/lib/apk/db/installed"),
        )
        .unwrap();
        let mut c = RuntimeCollector::new(RuntimeConfig::at(r, 1));
        let out = c.collect(&State::new(
            host(),
            [process(20, "/usr/bin/python3", Some(CTR_A))],
        ));
        let a = &out.containers[0];
        assert!(a.databases.is_empty(), "{a:?}");
        assert!(
            a.packages.is_empty(),
            "nothing from the host's database: {a:?}"
        );
    }

    #[test]
    fn container_databases_are_capped_and_the_index_count_bounded() {
        let d = containers_fixture();
        let mut cfg = RuntimeConfig::at(d.path(), 1);
        cfg.container_budget.max_db = 16;
        cfg.max_indexed_containers = 1;
        let mut c = RuntimeCollector::new(cfg);
        let out = c.collect(&State::new(
            host(),
            [
                process(20, "/usr/bin/python3", Some(CTR_A)),
                process(30, "/bin/busybox", Some(CTR_B)),
            ],
        ));
        let a = &out.containers[0];
        assert!(a.databases.is_empty());
        assert_eq!(a.skipped.len(), 1, "{a:?}");
        assert!(
            a.skipped[0].starts_with("deb: /var/lib/dpkg/status: larger than 16 bytes"),
            "{a:?}"
        );
        let b = &out.containers[1];
        assert_eq!(b.skipped, ["not indexed: more than 1 containers"]);
        assert_eq!(c.indexed_containers(), 1);
        // The host's own databases are not under the containers' cap.
        assert_eq!(out.databases, ["deb"]);
    }

    #[test]
    fn a_container_index_is_rebuilt_at_most_once_per_interval() {
        let d = containers_fixture();
        let mut cfg = RuntimeConfig::at(d.path(), 1);
        cfg.container_reindex_every = Duration::from_secs(3600);
        let mut c = RuntimeCollector::new(cfg);
        let state = State::new(host(), [process(20, "/usr/bin/python3", Some(CTR_A))]);
        let version =
            |c: &mut RuntimeCollector| c.collect(&state).containers[0].packages[0].version.clone();
        assert_eq!(version(&mut c), "3.0.11-1~ctr");
        write(
            d.path(),
            "ctr-a/var/lib/dpkg/status",
            "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.12-1~changed\n",
        );
        assert_eq!(
            version(&mut c),
            "3.0.11-1~ctr",
            "changed, but rebuilt less than an hour ago"
        );
        c.cfg.container_reindex_every = Duration::ZERO;
        assert_eq!(version(&mut c), "3.0.12-1~changed");
    }

    fn have(tool: &str) -> bool {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn run(cmd: &mut std::process::Command) {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Builds a real rpm database under `root` (`rpmbuild` makes a package
    /// owning `/usr/lib64/libfixture.so.1`, `rpm --justdb` installs it);
    /// `false` when rpm is not installed.
    pub(crate) fn rpm_root(root: &Path) -> bool {
        if !have("rpm") || !have("rpmbuild") {
            eprintln!("SKIPPED: rpm/rpmbuild are missing (apt-get install rpm)");
            return false;
        }
        let tmp = tempfile::tempdir().unwrap();
        let spec = tmp.path().join("fixture.spec");
        std::fs::write(
            &spec,
            "Name: libfixture\nVersion: 1.2\nRelease: 3.el9\nEpoch: 2\nSummary: fixture\n\
             License: MIT\nBuildArch: noarch\n\n%description\nA sensor test fixture.\n\n\
             %install\nmkdir -p %{buildroot}/usr/lib64\n\
             echo x > %{buildroot}/usr/lib64/libfixture.so.1\n\n%files\n/usr/lib64/libfixture.so.1\n",
        )
        .unwrap();
        let top = tmp.path().join("rpmbuild");
        run(std::process::Command::new("rpmbuild")
            .args(["-bb", "--quiet", "--define"])
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "_build_id_links none"])
            .arg(&spec));
        let dbpath = root.join("var/lib/rpm");
        std::fs::create_dir_all(&dbpath).unwrap();
        run(std::process::Command::new("rpm")
            .arg("--dbpath")
            .arg(&dbpath)
            .arg("--initdb"));
        let rpms: Vec<_> = std::fs::read_dir(top.join("RPMS/noarch"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        run(std::process::Command::new("rpm")
            .arg("--dbpath")
            .arg(&dbpath)
            .args(["-i", "--justdb", "--nodeps", "--noscripts"])
            .args(&rpms));
        true
    }

    #[test]
    fn rpm_database_maps_files_to_packages_and_is_reread_on_change() {
        let d = tempfile::tempdir().unwrap();
        if !rpm_root(d.path()) {
            return;
        }
        let db: Vec<String> = std::fs::read_dir(d.path().join("var/lib/rpm"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        write(
            d.path(),
            "proc/7/maps",
            "1-2 r-xp 0 08:01 1 /usr/lib64/libfixture.so.1\n",
        );
        let mut c = RuntimeCollector::new(RuntimeConfig::at(d.path(), 1));
        let state = State::new(host(), [process(7, "/usr/bin/app", None)]);
        let r = c.collect(&state);
        assert_eq!(r.databases, ["rpm"], "database files {db:?}");
        assert_eq!(r.packages.len(), 1, "{r:?}");
        let p = &r.packages[0];
        assert_eq!(
            (p.ecosystem.as_str(), p.name.as_str(), p.version.as_str()),
            ("rpm", "libfixture", "2:1.2-3.el9")
        );
        assert_eq!(p.files, ["/usr/lib64/libfixture.so.1"]);
        assert_eq!(c.known_packages(), 1);
        // Not read again while unchanged; read again once it changes.
        let owners = c.owners.as_ref().map(|o| o as *const Ownership);
        c.collect(&state);
        assert_eq!(c.owners.as_ref().map(|o| o as *const Ownership), owners);
        let file = d.path().join("var/lib/rpm").join(
            db.iter()
                .find(|f| f.as_str() == "rpmdb.sqlite" || f.as_str() == "Packages")
                .unwrap(),
        );
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert!(
            c.owners
                .as_ref()
                .unwrap()
                .stale(&RootDir::open(d.path()).unwrap())
        );
        c.collect(&state);
        assert_eq!(c.known_packages(), 1);
    }

    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// The cost on this machine: `SPAWN` extra `sleep` processes (default
    /// 400, so about 500 in all), a first collection (every process new,
    /// the package index built), then steady-state collections. Run with
    /// `cargo test -p rampart-sensor --lib runtime::tests::live_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement on the live host"]
    fn live_cost() {
        let spawn: usize = std::env::var("SPAWN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        let mut children: Vec<_> = (0..spawn)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("120")
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut discovery = crate::collect::Collector::new(crate::collect::CollectorConfig::live());
        let state = discovery.collect().unwrap();
        let before = rss_kib();
        let mut c = RuntimeCollector::new(RuntimeConfig::live());
        let t = std::time::Instant::now();
        let first = c.collect(&state);
        let first_t = t.elapsed();
        let after_first = rss_kib();
        let mut steady = Vec::new();
        for _ in 0..29 {
            let t = std::time::Instant::now();
            c.collect(&state);
            steady.push(t.elapsed());
        }
        let t = std::time::Instant::now();
        c.collect(&state); // the 30th: every process read again
        let reread = t.elapsed();
        steady.sort();
        println!(
            "processes {} (host {}), packages indexed {}, in use {}, files in use {}",
            state
                .entities
                .keys()
                .filter(|k| k.kind == rampart_model::agent::EntityKind::Process)
                .count(),
            first.processes,
            c.known_packages(),
            first.packages.len(),
            first.files_in_use
        );
        println!(
            "first collection {:.1} ms (index + every process), steady median {:.2} ms, max {:.2} ms, full re-read {:.1} ms; RSS +{} KiB (index and caches)",
            first_t.as_secs_f64() * 1e3,
            steady[steady.len() / 2].as_secs_f64() * 1e3,
            steady[steady.len() - 1].as_secs_f64() * 1e3,
            reread.as_secs_f64() * 1e3,
            after_first.saturating_sub(before)
        );
        for ch in &mut children {
            let _ = ch.kill();
            let _ = ch.wait();
        }
    }

    #[test]
    fn deltas_carry_runtime_only_when_it_changed() {
        let base = Report {
            protocol: 1,
            agent_version: String::new(),
            seq: 1,
            base: None,
            collected_at: 0,
            mode: "procfs".into(),
            host: None,
            upsert: vec![],
            remove: vec![],
            runtime: None,
        };
        let ru = RuntimeUse {
            processes: 1,
            ..RuntimeUse::default()
        };
        let mut rr = RuntimeReporter::default();
        let mut snap = base.clone();
        rr.attach(&mut snap, ru.clone());
        assert!(snap.runtime.is_some(), "a snapshot always carries it");
        rr.acknowledged(1);
        let mut d = Report {
            seq: 2,
            base: Some(1),
            ..base.clone()
        };
        rr.attach(&mut d, ru);
        assert!(d.runtime.is_none(), "unchanged");
        let mut d3 = Report {
            seq: 3,
            base: Some(1),
            ..base.clone()
        };
        let changed = RuntimeUse {
            processes: 2,
            ..RuntimeUse::default()
        };
        rr.attach(&mut d3, changed.clone());
        assert_eq!(d3.runtime.as_ref(), Some(&changed));
        // Not acknowledged: the next delta sends it again.
        let mut d4 = Report {
            seq: 4,
            base: Some(1),
            ..base
        };
        rr.attach(&mut d4, changed);
        assert!(d4.runtime.is_some());
    }
}
