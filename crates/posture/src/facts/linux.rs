//! The Linux facts collector: one JSON document describing a host (`/`,
//! live kernel values from `/proc`) or a root file system (configuration
//! only). The schema is documented in docs/posture.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use rampart_source::FileKind;
use rampart_source::walker::{WalkEvent, WalkOptions, walk};
use serde_json::{Map, Value, json};

use super::parse;
use super::root::Root;

/// Host (live kernel state is read) or root file system (configuration only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Host,
    Rootfs,
}

/// Files whose mode and owner checks look at.
const STAT_PATHS: &[&str] = &[
    "/etc/passwd",
    "/etc/passwd-",
    "/etc/group",
    "/etc/group-",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh/sshd_config",
    "/etc/crontab",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/etc/cron.d",
    "/etc/cron.allow",
    "/etc/cron.deny",
    "/etc/at.allow",
    "/etc/at.deny",
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/boot/grub2/user.cfg",
    "/etc/issue",
    "/etc/issue.net",
    "/etc/motd",
    "/etc/sudoers",
    "/etc/audit/auditd.conf",
    "/etc/security/opasswd",
    "/etc/rsyslog.conf",
    "/tmp",
    "/var/tmp",
    "/var/log",
    "/root",
    "/usr/bin/crontab",
    "/usr/bin/at",
];

/// Kernel parameters the checks read.
const SYSCTL_KEYS: &[&str] = &[
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.default.send_redirects",
    "net.ipv4.conf.all.accept_source_route",
    "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.default.accept_redirects",
    "net.ipv4.conf.all.secure_redirects",
    "net.ipv4.conf.default.secure_redirects",
    "net.ipv4.conf.all.log_martians",
    "net.ipv4.conf.default.log_martians",
    "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.icmp_ignore_bogus_error_responses",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.tcp_syncookies",
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.conf.all.accept_ra",
    "net.ipv6.conf.default.accept_ra",
    "net.ipv6.conf.all.accept_redirects",
    "net.ipv6.conf.default.accept_redirects",
    "net.ipv6.conf.all.accept_source_route",
    "kernel.randomize_va_space",
    "kernel.dmesg_restrict",
    "kernel.kptr_restrict",
    "kernel.yama.ptrace_scope",
    "fs.suid_dumpable",
    "fs.protected_hardlinks",
    "fs.protected_symlinks",
];

/// The upstream kernel's defaults, assumed for a root file system's keys
/// that no configuration file sets.
const SYSCTL_DEFAULTS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.conf.all.send_redirects", "1"),
    ("net.ipv4.conf.default.send_redirects", "1"),
    ("net.ipv4.conf.all.accept_source_route", "0"),
    ("net.ipv4.conf.default.accept_source_route", "1"),
    ("net.ipv4.conf.all.accept_redirects", "1"),
    ("net.ipv4.conf.default.accept_redirects", "1"),
    ("net.ipv4.conf.all.secure_redirects", "1"),
    ("net.ipv4.conf.default.secure_redirects", "1"),
    ("net.ipv4.conf.all.log_martians", "0"),
    ("net.ipv4.conf.default.log_martians", "0"),
    ("net.ipv4.icmp_echo_ignore_broadcasts", "1"),
    ("net.ipv4.icmp_ignore_bogus_error_responses", "1"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv6.conf.all.accept_ra", "1"),
    ("net.ipv6.conf.default.accept_ra", "1"),
    ("net.ipv6.conf.all.accept_redirects", "1"),
    ("net.ipv6.conf.default.accept_redirects", "1"),
    ("net.ipv6.conf.all.accept_source_route", "0"),
    ("kernel.randomize_va_space", "2"),
    ("kernel.dmesg_restrict", "0"),
    ("kernel.kptr_restrict", "0"),
    ("kernel.yama.ptrace_scope", "1"),
    ("fs.suid_dumpable", "0"),
    ("fs.protected_hardlinks", "0"),
    ("fs.protected_symlinks", "0"),
];

/// Directories searched for world-writable, unowned and SUID/SGID files.
const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/sbin", "/usr", "/lib", "/lib64", "/etc", "/opt", "/var", "/boot",
];
/// Below these, file systems belong to containers and package caches.
const SCAN_EXCLUDES: &[&str] = &[
    "/var/lib/docker",
    "/var/lib/containers",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/lib/lxc",
    "/var/cache",
    "/var/tmp",
    "/var/spool/postfix",
];
/// How many paths each scan list keeps.
const SCAN_MAX: usize = 200;

/// Collects the facts of the Linux system rooted at `base`.
#[must_use]
pub fn collect(base: &Path, mode: Mode) -> Value {
    let root = Root::new(base);
    let mut notes: Vec<String> = Vec::new();
    let mut f = Map::new();
    f.insert("kind".into(), json!("linux"));
    f.insert(
        "mode".into(),
        json!(match mode {
            Mode::Host => "host",
            Mode::Rootfs => "rootfs",
        }),
    );
    f.insert("os".into(), os(&root));

    // Accounts first: names for uids and gids.
    let users = root
        .read("/etc/passwd")
        .map(|t| parse::passwd(&t))
        .unwrap_or_default();
    let groups = root
        .read("/etc/group")
        .map(|t| parse::group(&t))
        .unwrap_or_default();
    let uid_names: HashMap<u64, String> = users
        .iter()
        .filter_map(|u| Some((u.uid?, u.name.clone())))
        .collect();
    let gid_names: HashMap<u64, String> = groups
        .iter()
        .filter_map(|g| Some((g.gid?, g.name.clone())))
        .collect();
    let uname = |id: u64| uid_names.get(&id).cloned();
    let gname = |id: u64| gid_names.get(&id).cloned();

    let mut files = Map::new();
    for p in STAT_PATHS {
        if let Some(st) = root.stat(p) {
            files.insert((*p).to_string(), st.to_json(&uname, &gname));
        }
    }
    f.insert("files".into(), Value::Object(files));

    f.insert(
        "users".into(),
        Value::Array(
            users
                .iter()
                .map(|u| {
                    json!({"name": u.name, "uid": u.uid, "gid": u.gid, "home": u.home,
                           "shell": u.shell, "password": passwd_field(&u.password)})
                })
                .collect(),
        ),
    );
    f.insert(
        "groups".into(),
        Value::Array(
            groups
                .iter()
                .map(|g| json!({"name": g.name, "gid": g.gid, "members": g.members}))
                .collect(),
        ),
    );
    let shadow = root.read("/etc/shadow");
    if shadow.is_none() && root.exists("/etc/shadow") {
        notes.push("/etc/shadow is not readable: password ageing checks are skipped".into());
    }
    f.insert(
        "shadow".into(),
        shadow.map_or(Value::Null, |t| {
            Value::Array(
                parse::shadow(&t)
                    .into_iter()
                    .map(|s| {
                        json!({"name": s.name, "state": s.state, "algorithm": s.algorithm,
                               "last_change": s.last_change, "min_days": s.min_days,
                               "max_days": s.max_days, "warn_days": s.warn_days,
                               "inactive_days": s.inactive_days})
                    })
                    .collect(),
            )
        }),
    );

    f.insert("sysctl".into(), sysctl(&root, mode));
    f.insert("services".into(), services(&root));
    let packages = packages(&root);
    f.insert("packages".into(), packages.clone());
    f.insert("mounts".into(), mounts(&root, mode));
    f.insert("ssh".into(), ssh(&root, &packages, &uname, &gname));
    f.insert("pam".into(), pam(&root));
    f.insert(
        "login_defs".into(),
        kv_json(root.read("/etc/login.defs").as_deref(), false),
    );
    f.insert(
        "useradd".into(),
        kv_json(root.read("/etc/default/useradd").as_deref(), false),
    );
    f.insert("sudo".into(), sudo(&root));
    f.insert("audit".into(), audit(&root, &packages));
    f.insert(
        "mac".into(),
        json!({
            "apparmor": root.exists("/etc/apparmor.d") || root.exists("/sys/kernel/security/apparmor"),
            "selinux": root.exists("/etc/selinux/config"),
        }),
    );
    f.insert("modules".into(), modules(&root, mode));
    f.insert("firewall".into(), firewall(&root, &packages));
    f.insert("journald".into(), journald(&root));
    f.insert("shell".into(), shell(&root));
    f.insert("banners".into(), banners(&root));
    let (scan, scan_notes) = scan(&root, &uid_names, &gid_names);
    notes.extend(scan_notes);
    f.insert("scan".into(), scan);
    f.insert("notes".into(), json!(notes));
    Value::Object(f)
}

fn passwd_field(p: &str) -> &'static str {
    match p {
        "" => "empty",
        "x" => "shadowed",
        _ if p.starts_with('!') || p.starts_with('*') => "locked",
        _ => "hash",
    }
}

fn os(root: &Root) -> Value {
    let kv = root
        .read("/etc/os-release")
        .or_else(|| root.read("/usr/lib/os-release"))
        .map(|t| parse::key_values(&t, false))
        .unwrap_or_default();
    let id = kv
        .get("ID")
        .cloned()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let like = kv
        .get("ID_LIKE")
        .cloned()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let words: Vec<&str> = std::iter::once(id.as_str())
        .chain(like.split_whitespace())
        .collect();
    let family = if words.iter().any(|w| matches!(*w, "debian" | "ubuntu")) {
        "debian"
    } else if words.iter().any(|w| {
        matches!(
            *w,
            "rhel" | "fedora" | "centos" | "rocky" | "almalinux" | "ol" | "amzn"
        )
    }) {
        "rhel"
    } else if words.iter().any(|w| w.contains("suse")) {
        "suse"
    } else if id == "alpine" {
        "alpine"
    } else {
        "unknown"
    };
    json!({
        "id": id,
        "id_like": like.split_whitespace().collect::<Vec<_>>(),
        "version_id": kv.get("VERSION_ID"),
        "name": kv.get("PRETTY_NAME"),
        "family": family,
    })
}

fn kv_json(text: Option<&str>, first_wins: bool) -> Value {
    text.map_or(Value::Null, |t| json!(parse::key_values(t, first_wins)))
}

fn sysctl(root: &Root, mode: Mode) -> Value {
    // Configuration: files by name across the directories (/etc wins over
    // /run and /usr/lib for the same name), then /etc/sysctl.conf.
    let mut by_name: BTreeMap<String, (String, String)> = BTreeMap::new();
    for dir in [
        "/usr/lib/sysctl.d",
        "/lib/sysctl.d",
        "/run/sysctl.d",
        "/etc/sysctl.d",
    ] {
        for (path, text) in root.read_dir_files(dir, ".conf") {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            by_name.insert(name, (path, text));
        }
    }
    let mut configured: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut sources: Vec<(String, String)> = by_name.into_values().collect();
    if let Some(t) = root.read("/etc/sysctl.conf") {
        sources.push(("/etc/sysctl.conf".to_string(), t));
    }
    for (path, text) in &sources {
        for (k, v) in parse::sysctl(text) {
            configured.insert(k, (v, path.clone()));
        }
    }
    let mut values = Map::new();
    let mut origin = Map::new();
    for key in SYSCTL_KEYS {
        let live = if mode == Mode::Host {
            std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
                .ok()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        } else {
            None
        };
        let (value, from) = if let Some(v) = live {
            (Some(v), "/proc/sys".to_string())
        } else if let Some((v, file)) = configured.get(*key) {
            (Some(v.clone()), file.clone())
        } else if mode == Mode::Rootfs {
            (
                SYSCTL_DEFAULTS
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| (*v).to_string()),
                "kernel default".to_string(),
            )
        } else {
            (None, String::new())
        };
        if let Some(v) = value {
            values.insert((*key).to_string(), json!(v));
            origin.insert((*key).to_string(), json!(from));
        }
    }
    let configured: Map<String, Value> = configured
        .into_iter()
        .map(|(k, (v, file))| (k, json!({"value": v, "file": file})))
        .collect();
    json!({
        "source": if mode == Mode::Host { "live" } else { "config" },
        "values": values,
        "origin": origin,
        "configured": configured,
    })
}

fn services(root: &Root) -> Value {
    let mut enabled = BTreeSet::new();
    let mut masked = BTreeSet::new();
    for base in [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ] {
        let etc = base.starts_with("/etc");
        for d in root.list(base) {
            let dir = format!("{base}/{d}");
            if d.ends_with(".wants") || d.ends_with(".requires") {
                // Only the administrator's (and packages') links in /etc
                // enable a unit; /usr/lib wants of targets are static.
                if etc || d == "multi-user.target.wants" {
                    for u in root.list(&dir) {
                        enabled.insert(u);
                    }
                }
            } else if etc && root.link_target(&dir).is_some_and(|t| t == "/dev/null") {
                masked.insert(d);
            }
        }
    }
    // SysV start links (older RHEL, Debian's compatibility).
    for rl in ["/etc/rc2.d", "/etc/rc3.d", "/etc/rc.d/rc3.d"] {
        for n in root.list(rl) {
            if let Some(rest) = n.strip_prefix('S') {
                let name = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                enabled.insert(format!("{name}.service"));
            }
        }
    }
    for m in &masked {
        enabled.remove(m);
    }
    json!({"enabled": enabled, "masked": masked})
}

fn packages(root: &Root) -> Value {
    if let Some(status) = root.read("/var/lib/dpkg/status") {
        let mut installed = BTreeMap::new();
        for stanza in status.split("\n\n") {
            let mut name = None;
            let mut version = None;
            let mut ok = false;
            for line in stanza.lines() {
                if let Some(v) = line.strip_prefix("Package: ") {
                    name = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("Version: ") {
                    version = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("Status: ") {
                    ok = v.trim().ends_with(" installed");
                }
            }
            if let (Some(n), true) = (name, ok) {
                installed.insert(n, version.unwrap_or_default());
            }
        }
        return json!({"source": "dpkg", "installed": installed});
    }
    if let Some(db) = root.read("/lib/apk/db/installed") {
        let mut installed = BTreeMap::new();
        let mut name = None;
        for line in db.lines() {
            if let Some(n) = line.strip_prefix("P:") {
                name = Some(n.to_string());
            } else if let (Some(v), Some(n)) = (line.strip_prefix("V:"), name.take()) {
                installed.insert(n, v.to_string());
            }
        }
        return json!({"source": "apk", "installed": installed});
    }
    rpm_packages(root)
}

/// The rpm database's packages (the sbom crate's reader: SQLite, Berkeley
/// DB or NDB), as `name -> [epoch:]version-release`. Null when there is no
/// database; an unreadable one is reported as such, and the package checks
/// then skip.
fn rpm_packages(root: &Root) -> Value {
    for path in rampart_sbom::catalog::RPM_DATABASE_PATHS {
        let Some(file) = root.resolve(path) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or_default();
        if meta.len() > MAX_RPMDB {
            return json!({"source": "rpm", "error": format!("{path} is larger than {MAX_RPMDB} bytes")});
        }
        let read = std::fs::read(&file)
            .map_err(|e| e.to_string())
            .and_then(|data| rampart_sbom::catalog::read_rpm_database(name, &data));
        return match read {
            Ok(pkgs) => {
                let installed: BTreeMap<String, String> = pkgs
                    .into_iter()
                    .map(|p| {
                        let v = match p.epoch {
                            Some(e) => format!("{e}:{}", p.version),
                            None => p.version,
                        };
                        (p.name, v)
                    })
                    .collect();
                json!({"source": "rpm", "database": path, "installed": installed})
            }
            Err(e) => json!({"source": "rpm", "database": path, "error": e}),
        };
    }
    Value::Null
}

/// The largest rpm database read (real ones reach a few hundred MiB).
const MAX_RPMDB: u64 = 512 << 20;

fn mounts(root: &Root, mode: Mode) -> Value {
    let (source, text) = match mode {
        Mode::Host => (
            "/proc/mounts",
            std::fs::read_to_string("/proc/self/mounts").ok(),
        ),
        Mode::Rootfs => ("/etc/fstab", root.read("/etc/fstab")),
    };
    let entries: Vec<Value> = text
        .map(|t| parse::mounts(&t))
        .unwrap_or_default()
        .into_iter()
        .map(|m| json!({"device": m.device, "target": m.target, "fstype": m.fstype, "options": m.options}))
        .collect();
    // The last mount of a target is the one in effect.
    let mut by_target = Map::new();
    for e in &entries {
        if let Some(t) = e.get("target").and_then(Value::as_str) {
            by_target.insert(t.to_string(), e.clone());
        }
    }
    json!({"source": source, "entries": entries, "by_target": by_target})
}

/// sshd's defaults (OpenSSH 9) for the keywords the checks read.
const SSHD_DEFAULTS: &[(&str, &str)] = &[
    ("permitrootlogin", "prohibit-password"),
    ("permitemptypasswords", "no"),
    ("hostbasedauthentication", "no"),
    ("ignorerhosts", "yes"),
    ("x11forwarding", "no"),
    ("maxauthtries", "6"),
    ("logingracetime", "120"),
    ("clientaliveinterval", "0"),
    ("clientalivecountmax", "3"),
    ("loglevel", "INFO"),
    ("permituserenvironment", "no"),
    ("banner", "none"),
    ("maxstartups", "10:30:100"),
    ("maxsessions", "10"),
    ("usepam", "no"),
    ("allowtcpforwarding", "yes"),
    ("gssapiauthentication", "no"),
    ("ciphers", ""),
    ("macs", ""),
    ("kexalgorithms", ""),
];

fn ssh(
    root: &Root,
    packages: &Value,
    uname: &dyn Fn(u64) -> Option<String>,
    gname: &dyn Fn(u64) -> Option<String>,
) -> Value {
    let main = "/etc/ssh/sshd_config";
    let text = root.read(main);
    let installed = packages
        .get("installed")
        .is_some_and(|i| i.get("openssh-server").is_some() || i.get("openssh").is_some());
    let present = text.is_some() || installed || root.exists("/usr/sbin/sshd");
    let include = |pattern: &str| -> Vec<(String, String)> {
        let pat = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("/etc/ssh/{pattern}")
        };
        let (dir, name) = pat.rsplit_once('/').unwrap_or(("/etc/ssh", pat.as_str()));
        if name.contains('*') || name.contains('?') {
            root.list(dir)
                .into_iter()
                .filter(|n| glob_match(name, n))
                .filter_map(|n| {
                    let p = format!("{dir}/{n}");
                    root.read(&p).map(|t| (p, t))
                })
                .collect()
        } else {
            root.read(&pat)
                .map(|t| vec![(pat.clone(), t)])
                .unwrap_or_default()
        }
    };
    let settings = text
        .as_deref()
        .map(|t| parse::sshd_config(main, t, &include))
        .unwrap_or_default();
    let mut config = Map::new();
    let mut set = Map::new();
    for (k, v) in SSHD_DEFAULTS {
        config.insert((*k).to_string(), json!(v));
    }
    let mut files = BTreeSet::new();
    for s in &settings {
        config.insert(s.key.clone(), json!(s.value));
        set.insert(s.key.clone(), json!({"file": s.file, "line": s.line}));
        files.insert(s.file.clone());
    }
    let mut host_keys = Map::new();
    for n in root.list("/etc/ssh") {
        if n.starts_with("ssh_host_") && n.ends_with("_key") {
            let p = format!("/etc/ssh/{n}");
            if let Some(st) = root.stat(&p) {
                host_keys.insert(p, st.to_json(uname, gname));
            }
        }
    }
    json!({
        "present": present,
        "config_file": text.is_some().then_some(main),
        "config": config,
        "set": set,
        "files": files,
        "host_keys": host_keys,
    })
}

/// `*` and `?` globbing of one path component.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    pattern.len() <= 256 && go(pattern.as_bytes(), name.as_bytes())
}

fn pam(root: &Root) -> Value {
    let mut files = Map::new();
    for (path, text) in root.read_dir_files("/etc/pam.d", "") {
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let lines: Vec<Value> = parse::pam(&text)
            .into_iter()
            .map(|l| json!({"type": l.kind, "control": l.control, "module": l.module, "args": l.args}))
            .collect();
        files.insert(name, Value::Array(lines));
    }
    let mut pwquality = parse::key_values(
        &root
            .read("/etc/security/pwquality.conf")
            .unwrap_or_default(),
        false,
    );
    for (_, t) in root.read_dir_files("/etc/security/pwquality.conf.d", ".conf") {
        pwquality.extend(parse::key_values(&t, false));
    }
    json!({
        "files": files,
        "pwquality": pwquality,
        "faillock": kv_json(root.read("/etc/security/faillock.conf").as_deref(), false),
    })
}

fn sudo(root: &Root) -> Value {
    let mut sources = Vec::new();
    if let Some(t) = root.read("/etc/sudoers") {
        sources.push(("/etc/sudoers".to_string(), t));
    }
    sources.extend(root.read_dir_files("/etc/sudoers.d", ""));
    let mut defaults = Vec::new();
    let mut nopasswd = Vec::new();
    let mut rules = Vec::new();
    for (file, text) in &sources {
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || (l.starts_with('#') && !l.starts_with("#include")) {
                continue;
            }
            if let Some(d) = l.strip_prefix("Defaults") {
                for part in d
                    .trim_start_matches(|c: char| c != ' ' && c != '\t')
                    .split(',')
                {
                    defaults.push(json!({"value": part.trim(), "file": file, "line": n + 1}));
                }
                continue;
            }
            let entry = json!({"text": l, "file": file, "line": n + 1});
            if l.contains("NOPASSWD") {
                nopasswd.push(entry.clone());
            }
            rules.push(entry);
        }
    }
    json!({
        "present": !sources.is_empty() || root.exists("/usr/bin/sudo"),
        "defaults": defaults,
        "nopasswd": nopasswd,
        "rules": rules,
    })
}

fn audit(root: &Root, packages: &Value) -> Value {
    let pkg = |n: &str| {
        packages
            .get("installed")
            .is_some_and(|i| i.get(n).is_some())
    };
    let installed = pkg("auditd")
        || pkg("audit")
        || root.exists("/usr/sbin/auditd")
        || root.exists("/sbin/auditd");
    let mut rules = Vec::new();
    let mut sources = Vec::new();
    if let Some(t) = root.read("/etc/audit/audit.rules") {
        sources.push(("/etc/audit/audit.rules".to_string(), t));
    }
    sources.extend(root.read_dir_files("/etc/audit/rules.d", ".rules"));
    for (file, text) in &sources {
        for l in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            rules.push(json!({"rule": l, "file": file}));
        }
    }
    json!({
        "installed": installed,
        "rules": rules,
        "conf": kv_json(root.read("/etc/audit/auditd.conf").as_deref(), false),
    })
}

fn modules(root: &Root, mode: Mode) -> Value {
    let mut blacklisted = BTreeSet::new();
    let mut disabled = BTreeSet::new();
    for dir in [
        "/lib/modprobe.d",
        "/usr/lib/modprobe.d",
        "/run/modprobe.d",
        "/etc/modprobe.d",
    ] {
        for (_, text) in root.read_dir_files(dir, ".conf") {
            for l in text.lines().map(str::trim) {
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.as_slice() {
                    ["blacklist", m, ..] => {
                        blacklisted.insert(m.replace('-', "_"));
                    }
                    ["install", m, cmd, ..]
                        if cmd.ends_with("/false")
                            || cmd.ends_with("/true")
                            || *cmd == "false"
                            || *cmd == "true" =>
                    {
                        disabled.insert(m.replace('-', "_"));
                    }
                    _ => {}
                }
            }
        }
    }
    let loaded: Option<Vec<String>> = (mode == Mode::Host).then(|| {
        std::fs::read_to_string("/proc/modules")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    });
    json!({"blacklisted": blacklisted, "disabled": disabled, "loaded": loaded})
}

fn firewall(root: &Root, packages: &Value) -> Value {
    let pkg = |n: &str| {
        packages
            .get("installed")
            .is_some_and(|i| i.get(n).is_some())
    };
    let has = |n: &str, bins: &[&str]| pkg(n) || bins.iter().any(|b| root.exists(b));
    let ufw_enabled = root
        .read("/etc/ufw/ufw.conf")
        .map(|t| parse::key_values(&t, false))
        .is_some_and(|kv| {
            kv.get("ENABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
        });
    json!({
        "nftables": has("nftables", &["/usr/sbin/nft", "/sbin/nft"]),
        "iptables": has("iptables", &["/usr/sbin/iptables", "/sbin/iptables"]),
        "ufw": has("ufw", &["/usr/sbin/ufw"]),
        "firewalld": has("firewalld", &["/usr/sbin/firewalld"]),
        "ufw_enabled": ufw_enabled,
        "nftables_rules": root.exists("/etc/nftables.conf") || root.exists("/etc/sysconfig/nftables.conf"),
    })
}

fn journald(root: &Root) -> Value {
    let mut kv = parse::key_values(
        &root.read("/etc/systemd/journald.conf").unwrap_or_default(),
        false,
    );
    for (_, t) in root.read_dir_files("/etc/systemd/journald.conf.d", ".conf") {
        kv.extend(parse::key_values(&t, false));
    }
    json!(kv)
}

fn shell(root: &Root) -> Value {
    let mut files = vec![
        ("/etc/profile".to_string(), root.read("/etc/profile")),
        (
            "/etc/bash.bashrc".to_string(),
            root.read("/etc/bash.bashrc"),
        ),
        ("/etc/bashrc".to_string(), root.read("/etc/bashrc")),
    ];
    for (p, t) in root.read_dir_files("/etc/profile.d", ".sh") {
        files.push((p, Some(t)));
    }
    let mut tmout = Vec::new();
    let mut umask = Vec::new();
    for (file, text) in files {
        let Some(text) = text else { continue };
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('#') {
                continue;
            }
            for part in l.split(';').map(str::trim) {
                let part = part
                    .trim_start_matches("readonly ")
                    .trim_start_matches("export ")
                    .trim();
                if let Some(v) = part.strip_prefix("TMOUT=") {
                    tmout.push(
                        json!({"value": v.trim().parse::<i64>().ok(), "file": file, "line": n + 1}),
                    );
                } else if let Some(v) = part.strip_prefix("umask ") {
                    umask.push(json!({"value": v.trim(), "file": file, "line": n + 1}));
                }
            }
        }
    }
    json!({"tmout": tmout, "umask": umask})
}

fn banners(root: &Root) -> Value {
    let mut out = Map::new();
    for p in ["/etc/issue", "/etc/issue.net", "/etc/motd"] {
        if let Some(t) = root.read(p) {
            out.insert(
                p.to_string(),
                json!(t.chars().take(4096).collect::<String>()),
            );
        }
    }
    Value::Object(out)
}

/// World-writable files, directories without the sticky bit, unowned and
/// ungrouped files, and SUID/SGID programs under the system directories.
fn scan(
    root: &Root,
    uids: &HashMap<u64, String>,
    gids: &HashMap<u64, String>,
) -> (Value, Vec<String>) {
    #[derive(Default)]
    struct Acc {
        world_writable: Vec<String>,
        ww_dirs_no_sticky: Vec<String>,
        unowned: Vec<String>,
        ungrouped: Vec<String>,
        suid: Vec<String>,
        sgid: Vec<String>,
        truncated: bool,
    }
    let acc = Mutex::new(Acc::default());
    let files = std::sync::atomic::AtomicU64::new(0);
    let mut notes = Vec::new();
    let mut seen = BTreeSet::new();
    let known_ids = !uids.is_empty();
    for dir in SYSTEM_DIRS {
        // `/bin` is often a link to `/usr/bin`: walk each real directory once.
        let Some(real) = root.resolve(dir) else {
            continue;
        };
        if !real.is_dir() || !seen.insert(real.clone()) {
            continue;
        }
        let Some(base) = root.resolve("/") else {
            continue;
        };
        let prefix = match real.strip_prefix(&base) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => continue,
        };
        let mut opts = WalkOptions {
            threads: 2,
            max_depth: 64,
            ..WalkOptions::default()
        };
        for ex in SCAN_EXCLUDES {
            if let Some(rel) = ex.strip_prefix(prefix.as_str()) {
                opts.exclude.push(format!("{rel}/"));
            }
        }
        let res = walk(&real, &opts, |ev| {
            let WalkEvent::File(w) = ev else { return };
            files.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let m = w.mode;
            let is_file = w.kind == FileKind::File;
            let flags = [
                is_file && m & 0o002 != 0,
                w.kind == FileKind::Dir && m & 0o002 != 0 && m & 0o1000 == 0,
                known_ids && w.kind != FileKind::Symlink && !uids.contains_key(&w.uid),
                known_ids && w.kind != FileKind::Symlink && !gids.contains_key(&w.gid),
                is_file && m & 0o4000 != 0,
                is_file && m & 0o2000 != 0,
            ];
            if !flags.contains(&true) {
                return;
            }
            let shown = w.path.display();
            let path = format!(
                "{}/{}",
                prefix.trim_end_matches('/'),
                shown.trim_start_matches('/')
            );
            let mut a = acc
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Acc {
                world_writable,
                ww_dirs_no_sticky,
                unowned,
                ungrouped,
                suid,
                sgid,
                truncated,
                ..
            } = &mut *a;
            let lists = [
                world_writable,
                ww_dirs_no_sticky,
                unowned,
                ungrouped,
                suid,
                sgid,
            ];
            for (flag, list) in flags.into_iter().zip(lists) {
                if !flag {
                    continue;
                }
                if list.len() < SCAN_MAX {
                    list.push(path.clone());
                } else {
                    *truncated = true;
                }
            }
        });
        if let Err(e) = res {
            notes.push(format!("walking {dir}: {e}"));
        }
    }
    let mut a = acc
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for v in [
        &mut a.world_writable,
        &mut a.ww_dirs_no_sticky,
        &mut a.unowned,
        &mut a.ungrouped,
        &mut a.suid,
        &mut a.sgid,
    ] {
        v.sort();
    }
    if a.truncated {
        notes.push(format!("file scan lists are cut at {SCAN_MAX} paths each"));
    }
    (
        json!({
            "dirs": SYSTEM_DIRS,
            "files": files.into_inner(),
            "world_writable": a.world_writable,
            "world_writable_dirs_without_sticky": a.ww_dirs_no_sticky,
            "unowned": a.unowned,
            "ungrouped": a.ungrouped,
            "suid": a.suid,
            "sgid": a.sgid,
            "truncated": a.truncated,
        }),
        notes,
    )
}
