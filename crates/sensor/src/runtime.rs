//! Runtime evidence: which packages the host's running processes use.
//!
//! For every process running on the host itself (not in a container), the
//! files in use are its executable, the files mapped into it
//! (`/proc/PID/maps`, read with [`rampart_graph::runtime::mapped_files`])
//! and its open regular files under library and language package
//! directories (`/proc/PID/fd`). Each file is mapped to the package that
//! owns it through the package database (dpkg file lists, apk's installed
//! database), read once and read again only when the database changes
//! (its files' modification times). Files under `site-packages`,
//! `dist-packages`, `node_modules` or in a jar that no database owns are
//! reported as they are, for the console's path rules.
//!
//! Cost: a process's maps and fds are read when it is first seen, then
//! only every [`RuntimeConfig::reread_every`] collections; a process that
//! is gone is forgotten. The ownership index keeps a 64-bit hash of each
//! owned path, not the path (about 20 bytes per file).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rampart_model::agent::{
    Entity, MAX_EVIDENCE_FILES, MAX_UNOWNED_FILES, PackageInUse, Report, RuntimeUse,
};

use crate::delta::State;

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
}

impl RuntimeConfig {
    /// The live host, re-reading known processes every 30 collections
    /// (5 minutes at the default 10 s interval).
    #[must_use]
    pub fn live() -> Self {
        RuntimeConfig {
            root: PathBuf::from("/"),
            reread_every: 30,
        }
    }
}

#[derive(Debug)]
struct ProcFiles {
    files: Vec<Arc<str>>,
    read_at: u64,
}

/// A package as its database names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pkg {
    ecosystem: &'static str,
    name: String,
    version: String,
}

/// Which package owns a path, by the path's hash.
#[derive(Debug, Default)]
struct Ownership {
    /// The database files and their modification times when read.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    databases: Vec<String>,
    packages: Vec<Pkg>,
    index: HashMap<u64, u32>,
}

fn path_hash(path: &str) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Ownership {
    fn db_files(root: &Path) -> Vec<PathBuf> {
        vec![
            root.join("var/lib/dpkg/status"),
            root.join("var/lib/dpkg/info"),
            root.join("lib/apk/db/installed"),
        ]
    }

    fn stale(&self, root: &Path) -> bool {
        let files = Self::db_files(root);
        self.stamps.len() != files.len()
            || self
                .stamps
                .iter()
                .zip(&files)
                .any(|((p, t), f)| p != f || *t != mtime(f))
    }

    fn read(root: &Path) -> Ownership {
        let mut o = Ownership {
            stamps: Self::db_files(root)
                .into_iter()
                .map(|p| {
                    let t = mtime(&p);
                    (p, t)
                })
                .collect(),
            ..Ownership::default()
        };
        let aliases = usr_aliases(root);
        if read_dpkg(root, &aliases, &mut o) {
            o.databases.push("deb".into());
        }
        if read_apk(root, &aliases, &mut o) {
            o.databases.push("apk".into());
        }
        o
    }

    fn add_package(&mut self, ecosystem: &'static str, name: &str, version: &str) -> u32 {
        let id = u32::try_from(self.packages.len()).unwrap_or(u32::MAX);
        self.packages.push(Pkg {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
        });
        id
    }

    fn own(&mut self, aliases: &[(String, String)], path: &str, pkg: u32) {
        self.index.entry(path_hash(path)).or_insert(pkg);
        for (from, to) in aliases {
            if let Some(rest) = path.strip_prefix(from.as_str()) {
                self.index
                    .entry(path_hash(&format!("{to}{rest}")))
                    .or_insert(pkg);
            }
        }
    }

    fn owner(&self, path: &str) -> Option<&Pkg> {
        self.index
            .get(&path_hash(path))
            .and_then(|i| self.packages.get(*i as usize))
    }
}

/// Top-level directories that are links into `/usr` (merged `/usr`): a
/// package list naming `/lib/x.so` owns the `/usr/lib/x.so` a process maps.
fn usr_aliases(root: &Path) -> Vec<(String, String)> {
    ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
        .iter()
        .filter_map(|d| {
            let target = std::fs::read_link(root.join(d)).ok()?;
            let t = target.to_str()?.trim_start_matches('/');
            let t = t.strip_prefix("./").unwrap_or(t);
            (t == format!("usr/{d}")).then(|| (format!("/{d}/"), format!("/usr/{d}/")))
        })
        .collect()
}

/// Reads dpkg's status (installed packages and versions) and file lists;
/// `false` when there is no dpkg database.
fn read_dpkg(root: &Path, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let Ok(status) = std::fs::read_to_string(root.join("var/lib/dpkg/status")) else {
        return false;
    };
    let info = root.join("var/lib/dpkg/info");
    for para in status.split("\n\n") {
        let (mut name, mut version, mut arch, mut installed) = (None, None, None, false);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                arch = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.split_whitespace().nth(2) == Some("installed");
            }
        }
        let (Some(name), Some(version), true) = (name, version, installed) else {
            continue;
        };
        let list = arch
            .map(|a| info.join(format!("{name}:{a}.list")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| info.join(format!("{name}.list")));
        let Ok(files) = std::fs::read_to_string(&list) else {
            continue;
        };
        let id = o.add_package("deb", name, version);
        for f in files.lines().filter(|l| l.starts_with('/')) {
            o.own(aliases, f, id);
        }
    }
    true
}

/// Reads apk's installed database (`P:` name, `V:` version, `F:` directory,
/// `R:` file); `false` when there is none.
fn read_apk(root: &Path, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let Ok(db) = std::fs::read_to_string(root.join("lib/apk/db/installed")) else {
        return false;
    };
    for para in db.split("\n\n") {
        let (mut name, mut version) = (None, None);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("P:") {
                name = Some(v);
            } else if let Some(v) = line.strip_prefix("V:") {
                version = Some(v);
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        let id = o.add_package("apk", name, version);
        let mut dir = "";
        for line in para.lines() {
            if let Some(d) = line.strip_prefix("F:") {
                dir = d;
            } else if let Some(f) = line.strip_prefix("R:") {
                let path = if dir.is_empty() {
                    format!("/{f}")
                } else {
                    format!("/{dir}/{f}")
                };
                o.own(aliases, &path, id);
            }
        }
    }
    true
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

/// Collects the runtime evidence of the host's processes, remembering what
/// it read between collections.
#[derive(Debug)]
pub struct RuntimeCollector {
    cfg: RuntimeConfig,
    cycle: u64,
    procs: HashMap<String, ProcFiles>,
    pool: HashSet<Arc<str>>,
    owners: Option<Ownership>,
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

    fn read_process(&mut self, pid: u32, exe: Option<&str>) -> Vec<Arc<str>> {
        let dir = self.cfg.root.join("proc").join(pid.to_string());
        let mut paths: Vec<String> = Vec::new();
        if let Some(e) = exe {
            paths.push(e.strip_suffix(" (deleted)").unwrap_or(e).to_string());
        }
        if let Ok(maps) = std::fs::read_to_string(dir.join("maps")) {
            paths.extend(rampart_graph::runtime::mapped_files(&maps));
        }
        if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            for fd in fds.take(MAX_FDS).flatten() {
                if let Ok(t) = std::fs::read_link(fd.path())
                    && let Some(t) = t.to_str()
                    && interesting_open_file(t)
                {
                    paths.push(t.strip_suffix(" (deleted)").unwrap_or(t).to_string());
                }
            }
        }
        paths.sort_unstable();
        paths.dedup();
        paths.iter().map(|p| self.intern(p)).collect()
    }

    /// The host processes' files in use, mapped to packages.
    pub fn collect(&mut self, state: &State) -> RuntimeUse {
        self.cycle += 1;
        if self.owners.as_ref().is_none_or(|o| o.stale(&self.cfg.root)) {
            self.owners = Some(Ownership::read(&self.cfg.root));
        }
        let mut live = HashSet::new();
        for e in state.entities.values() {
            let Entity::Process(p) = e else { continue };
            if p.container_id.is_some() || p.exe.is_none() {
                continue;
            }
            live.insert(p.key.as_str());
            let fresh = self.procs.get(&p.key).is_some_and(|f| {
                self.cycle.saturating_sub(f.read_at) < self.cfg.reread_every.max(1)
            });
            if !fresh {
                let files = self.read_process(p.pid, p.exe.as_deref());
                self.procs.insert(
                    p.key.clone(),
                    ProcFiles {
                        files,
                        read_at: self.cycle,
                    },
                );
            }
        }
        self.procs.retain(|k, _| live.contains(k.as_str()));
        self.pool.retain(|a| Arc::strong_count(a) > 1);

        let in_use: BTreeSet<&str> = self
            .procs
            .values()
            .flat_map(|p| p.files.iter().map(AsRef::as_ref))
            .collect();
        let owners = self.owners.as_ref();
        let mut packages: BTreeMap<(&str, &str, &str), Vec<String>> = BTreeMap::new();
        let mut language_files = Vec::new();
        for f in &in_use {
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
        RuntimeUse {
            databases: owners.map(|o| o.databases.clone()).unwrap_or_default(),
            processes: u32::try_from(self.procs.len()).unwrap_or(u32::MAX),
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

    /// How many packages the ownership index knows (0 before the first collection).
    #[must_use]
    pub fn known_packages(&self) -> usize {
        self.owners.as_ref().map_or(0, |o| o.packages.len())
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
        let mut c = RuntimeCollector::new(RuntimeConfig {
            root: d.path().to_path_buf(),
            reread_every: 3,
        });
        let state = State::new(
            host(),
            [
                process(10, "/usr/bin/python3.11", None),
                process(11, "/usr/bin/curl", Some("abc")),
            ],
        );
        let r = c.collect(&state);
        assert_eq!(r.databases, vec!["deb"]);
        assert_eq!(r.processes, 1, "the container's process is not read");
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
        let mut c = RuntimeCollector::new(RuntimeConfig {
            root: d.path().to_path_buf(),
            reread_every: 3,
        });
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
        let mut c = RuntimeCollector::new(RuntimeConfig {
            root: d.path().to_path_buf(),
            reread_every: 1,
        });
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
        let mut c = RuntimeCollector::new(RuntimeConfig {
            root: d.path().to_path_buf(),
            reread_every: 1,
        });
        let r = c.collect(&State::new(host(), [process(5, "/bin/busybox", None)]));
        assert_eq!(r.databases, vec!["apk"]);
        let names: Vec<(&str, &str)> = r
            .packages
            .iter()
            .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(names, vec![("apk", "busybox"), ("apk", "musl")]);
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
