//! Processes from `/proc/PID/{stat,status,cmdline,exe,cgroup}` and socket
//! ownership from `/proc/PID/fd`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rampart_model::agent::Process;

use crate::cgroup::{CgroupInfo, parse_cgroup};
use crate::redact::redact_cmdline;

/// The fields of `/proc/PID/stat` the sensor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// Field 22: start time in clock ticks after boot.
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`. `comm` may hold spaces and parentheses: it runs
/// to the last `)`.
#[must_use]
pub fn parse_stat(s: &str) -> Option<ProcStat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = s[..open].trim().parse().ok()?;
    let comm = s[open + 1..close].to_string();
    // Fields after comm start at field 3 (state).
    let mut rest = s[close + 1..].split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    // state is field 3, ppid 4; starttime is field 22: 18 more after ppid.
    let start_ticks = rest.nth(17)?.parse().ok()?;
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
        start_ticks,
    })
}

/// The real uid of a `/proc/PID/status` (`Uid:` line, first value).
#[must_use]
pub fn parse_status_uid(s: &str) -> Option<u32> {
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `/etc/passwd`: uid -> name.
#[must_use]
pub fn parse_passwd(s: &str) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    for line in s.lines() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse() {
            m.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    m
}

/// `/etc/passwd`, re-read only when its modification time changes.
#[derive(Debug, Default)]
struct Users {
    mtime: Option<SystemTime>,
    names: HashMap<u32, String>,
}

impl Users {
    fn refresh(&mut self, path: &Path) {
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if mtime.is_some() && mtime == self.mtime {
            return;
        }
        self.mtime = mtime;
        self.names = std::fs::read_to_string(path)
            .map(|s| parse_passwd(&s))
            .unwrap_or_default();
    }
}

/// A process as discovered, with what its cgroup says.
#[derive(Debug, Clone)]
pub struct Observed {
    pub process: Process,
    pub cgroup: CgroupInfo,
}

/// The process table, cached by `PID:START_TICKS`: a process already known
/// costs one read of its `stat` per collection.
#[derive(Debug)]
pub struct ProcessTable {
    proc_dir: PathBuf,
    passwd: PathBuf,
    users: Users,
    cache: HashMap<(u32, u64), Observed>,
    buf: String,
    /// socket inode -> pid, from the last fd scan.
    sockets: HashMap<u64, u32>,
    /// Inodes the last fd scan did not find (held by processes this user
    /// cannot read): not a reason to scan again.
    unresolved: HashSet<u64>,
    /// The processes whose descriptors the last scan could look at.
    scanned: HashSet<u32>,
    /// Kernel threads seen, by pid and start ticks (left out, not re-read).
    kthreads: HashSet<(u32, u64)>,
}

fn read_into(path: &Path, buf: &mut String) -> bool {
    buf.clear();
    match std::fs::File::open(path) {
        Ok(mut f) => f.read_to_string(buf).is_ok(),
        Err(_) => false,
    }
}

impl ProcessTable {
    /// A table over `ROOT/proc`, naming users from `ROOT/etc/passwd`.
    #[must_use]
    pub fn new(root: &Path) -> Self {
        ProcessTable {
            proc_dir: root.join("proc"),
            passwd: root.join("etc/passwd"),
            users: Users::default(),
            cache: HashMap::new(),
            buf: String::with_capacity(1024),
            sockets: HashMap::new(),
            unresolved: HashSet::new(),
            scanned: HashSet::new(),
            kthreads: HashSet::new(),
        }
    }

    /// Reads the running processes (kernel threads left out). `boot_time`
    /// in Unix seconds, `ticks` the clock ticks per second.
    pub fn scan(&mut self, boot_time: i64, ticks: u64) -> Vec<Observed> {
        self.users.refresh(&self.passwd);
        let Ok(rd) = std::fs::read_dir(&self.proc_dir) else {
            return Vec::new();
        };
        let mut seen: HashSet<(u32, u64)> = HashSet::with_capacity(self.cache.len() + 16);
        let mut out = Vec::with_capacity(self.cache.len() + 16);
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let dir = entry.path();
            if !read_into(&dir.join("stat"), &mut self.buf) {
                continue; // gone since the listing
            }
            let Some(stat) = parse_stat(&self.buf) else {
                continue;
            };
            if stat.pid != pid {
                continue;
            }
            let key = (pid, stat.start_ticks);
            seen.insert(key);
            if let Some(known) = self.cache.get_mut(&key) {
                known.process.ppid = stat.ppid;
                out.push(known.clone());
                continue;
            }
            if self.kthreads.contains(&key) {
                continue;
            }
            let Some(obs) = self.read_new(&dir, &stat, boot_time, ticks) else {
                self.kthreads.insert(key);
                continue;
            };
            self.cache.insert(key, obs.clone());
            out.push(obs);
        }
        self.cache.retain(|k, _| seen.contains(k));
        self.kthreads.retain(|k| seen.contains(k));
        out.sort_by_key(|o| o.process.pid);
        out
    }

    fn read_new(
        &mut self,
        dir: &Path,
        stat: &ProcStat,
        boot_time: i64,
        ticks: u64,
    ) -> Option<Observed> {
        let cmdline: Vec<String> = std::fs::read(dir.join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        // Kernel threads: children of kthreadd (pid 2) with no command line.
        if cmdline.is_empty() && (stat.ppid == 2 || stat.pid == 2) {
            return None;
        }
        let uid = if read_into(&dir.join("status"), &mut self.buf) {
            parse_status_uid(&self.buf).unwrap_or(0)
        } else {
            0
        };
        let exe = std::fs::read_link(dir.join("exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let cgroup = if read_into(&dir.join("cgroup"), &mut self.buf) {
            parse_cgroup(&self.buf)
        } else {
            CgroupInfo::default()
        };
        let ticks = ticks.max(1);
        let start = boot_time.saturating_add(i64::try_from(stat.start_ticks / ticks).unwrap_or(0));
        Some(Observed {
            process: Process {
                key: format!("{}:{}", stat.pid, stat.start_ticks),
                pid: stat.pid,
                ppid: stat.ppid,
                name: stat.comm.clone(),
                exe,
                cmdline: redact_cmdline(&cmdline),
                uid,
                user: self.users.names.get(&uid).cloned(),
                start_time: start,
                container_id: cgroup.container_id.clone(),
            },
            cgroup,
        })
    }

    /// Maps socket inodes to the pid holding them, reading `/proc/PID/fd`
    /// only for inodes not yet accounted for: first in the processes new
    /// since the last scan and those already holding sockets, then, if some
    /// are still missing, in the others. Inodes no readable process holds
    /// are remembered and not looked for again.
    pub fn socket_owners(
        &mut self,
        wanted: &HashSet<u64>,
        live_pids: &HashSet<u32>,
    ) -> &HashMap<u64, u32> {
        self.sockets
            .retain(|i, p| wanted.contains(i) && live_pids.contains(p));
        self.unresolved.retain(|i| wanted.contains(i));
        let mut missing: HashSet<u64> = wanted
            .iter()
            .filter(|i| !self.sockets.contains_key(i) && !self.unresolved.contains(i))
            .copied()
            .collect();
        if missing.is_empty() {
            return &self.sockets;
        }
        let owners: HashSet<u32> = self.sockets.values().copied().collect();
        let mut first: Vec<u32> = live_pids
            .iter()
            .filter(|p| !self.scanned.contains(p) || owners.contains(p))
            .copied()
            .collect();
        first.sort_unstable();
        self.scan_fds(&first, &mut missing);
        if !missing.is_empty() {
            let done: HashSet<u32> = first.into_iter().collect();
            let mut rest: Vec<u32> = live_pids
                .iter()
                .filter(|p| !done.contains(p))
                .copied()
                .collect();
            rest.sort_unstable();
            self.scan_fds(&rest, &mut missing);
        }
        self.unresolved.extend(missing);
        self.scanned.clone_from(live_pids);
        &self.sockets
    }

    fn scan_fds(&mut self, pids: &[u32], missing: &mut HashSet<u64>) {
        for &pid in pids {
            if missing.is_empty() {
                return;
            }
            let Ok(rd) = std::fs::read_dir(self.proc_dir.join(pid.to_string()).join("fd")) else {
                continue;
            };
            for fd in rd.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let Some(inode) = target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:["))
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse::<u64>().ok())
                else {
                    continue;
                };
                if missing.remove(&inode) {
                    self.sockets.insert(inode, pid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let s = "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 98765 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.pid, 1234);
        assert_eq!(st.comm, "my (odd) proc");
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 1);
        assert_eq!(st.start_ticks, 98765);
        assert_eq!(parse_stat("12 (x) S 1"), None);
        assert_eq!(parse_stat(") 1 (x"), None);
    }

    #[test]
    fn passwd_and_status() {
        let m = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbad line\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&33).map(String::as_str), Some("www-data"));
        assert_eq!(
            parse_status_uid("Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"),
            Some(1000)
        );
    }
}
