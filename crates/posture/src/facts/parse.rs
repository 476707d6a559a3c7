//! Parsers for the configuration files the Linux collector reads. Each
//! takes untrusted text and returns plain data; none panics on any input
//! (the `posture_configs` fuzz target holds them to that).

use std::collections::BTreeMap;

/// `KEY VALUE` or `KEY=VALUE` lines (`#` comments), keys as written. The
/// last assignment wins unless `first_wins`.
#[must_use]
pub fn key_values(text: &str, first_wins: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with('[')
        {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) if !k.trim().contains(char::is_whitespace) => (k.trim(), v.trim()),
            _ => match line.split_once(char::is_whitespace) {
                Some((k, v)) => (k, v.trim()),
                None => (line, ""),
            },
        };
        let v = unquote(strip_comment(v));
        if first_wins && out.contains_key(k) {
            continue;
        }
        out.insert(k.to_string(), v.to_string());
    }
    out
}

fn strip_comment(v: &str) -> &str {
    match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    }
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// A `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub password: String,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub home: String,
    pub shell: String,
}

/// `/etc/passwd`; malformed lines are kept with what could be read.
#[must_use]
pub fn passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .take(100_000)
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let at = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            PasswdEntry {
                name: at(0),
                password: at(1),
                uid: f.get(2).and_then(|s| s.parse().ok()),
                gid: f.get(3).and_then(|s| s.parse().ok()),
                home: at(5),
                shell: at(6),
            }
        })
        .collect()
}

/// A `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: Option<u64>,
    pub members: Vec<String>,
}

/// `/etc/group`.
#[must_use]
pub fn group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .take(100_000)
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            GroupEntry {
                name: f.first().copied().unwrap_or("").to_string(),
                gid: f.get(2).and_then(|s| s.parse().ok()),
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// A `/etc/shadow` entry. The hash itself is never kept: only its state
/// and algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub name: String,
    /// `empty`, `locked` (`!` or `*` prefix) or `hash`.
    pub state: &'static str,
    /// `yescrypt`, `sha512`, `sha256`, `md5`, `bcrypt`, `des` or `none`.
    pub algorithm: &'static str,
    pub last_change: Option<i64>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub warn_days: Option<i64>,
    pub inactive_days: Option<i64>,
}

/// `/etc/shadow`.
#[must_use]
pub fn shadow(text: &str) -> Vec<ShadowEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .take(100_000)
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let pw = f.get(1).copied().unwrap_or("");
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
            let state = if pw.is_empty() {
                "empty"
            } else if pw.starts_with('!') || pw.starts_with('*') {
                "locked"
            } else {
                "hash"
            };
            let h = pw.trim_start_matches('!');
            let algorithm = if h.starts_with("$y$") || h.starts_with("$7$") {
                "yescrypt"
            } else if h.starts_with("$6$") {
                "sha512"
            } else if h.starts_with("$5$") {
                "sha256"
            } else if h.starts_with("$1$") {
                "md5"
            } else if h.starts_with("$2") {
                "bcrypt"
            } else if h.len() == 13 {
                "des"
            } else {
                "none"
            };
            ShadowEntry {
                name: f.first().copied().unwrap_or("").to_string(),
                state,
                algorithm,
                last_change: num(2),
                min_days: num(3),
                max_days: num(4),
                warn_days: num(5),
                inactive_days: num(6),
            }
        })
        .collect()
}

/// A mount table entry (`/proc/mounts` or `/etc/fstab`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub target: String,
    pub fstype: String,
    pub options: Vec<String>,
}

/// `/proc/mounts` or `/etc/fstab` (octal escapes such as `\040` decoded).
#[must_use]
pub fn mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .take(10_000)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 3 {
                return None;
            }
            Some(MountEntry {
                device: unescape_octal(f[0]),
                target: unescape_octal(f[1]),
                fstype: f[2].to_string(),
                options: f
                    .get(3)
                    .map(|o| o.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A PAM configuration line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    /// `auth`, `account`, `password`, `session`, or `@include`.
    pub kind: String,
    pub control: String,
    pub module: String,
    pub args: Vec<String>,
}

/// A `/etc/pam.d` file (bracketed controls such as `[success=1 default=ignore]`
/// kept whole).
#[must_use]
pub fn pam(text: &str) -> Vec<PamLine> {
    let mut out = Vec::new();
    for line in text.lines().take(10_000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@include") {
            out.push(PamLine {
                kind: "@include".to_string(),
                control: String::new(),
                module: rest.trim().to_string(),
                args: Vec::new(),
            });
            continue;
        }
        let mut tokens = Vec::new();
        let mut rest = line;
        while !rest.is_empty() {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            if rest.starts_with('[') {
                let end = rest.find(']').map_or(rest.len(), |i| i + 1);
                tokens.push(rest[..end].to_string());
                rest = &rest[end..];
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                tokens.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        if tokens.len() < 3 {
            continue;
        }
        let kind = tokens[0].trim_start_matches('-').to_string();
        let module = tokens[2]
            .rsplit('/')
            .next()
            .unwrap_or(&tokens[2])
            .to_string();
        out.push(PamLine {
            kind,
            control: tokens[1].clone(),
            module,
            args: tokens[3..].to_vec(),
        });
    }
    out
}

/// `sysctl.conf`-style lines: `key = value` with `.` or `/` separators.
#[must_use]
pub fn sysctl(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .take(10_000)
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim().trim_start_matches('-').replace('/', ".");
            Some((k, v.split_whitespace().collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

/// One sshd setting with where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSetting {
    /// Lower-case keyword.
    pub key: String,
    pub value: String,
    pub file: String,
    pub line: u64,
}

/// The effective global sshd settings: the first value of each keyword
/// wins (sshd's rule), `Include` lines are expanded through `include`
/// (given the pattern, it returns `(file, text)` pairs; at most 8 levels
/// deep and 64 files in all, so self-including files stay cheap), and
/// nothing inside `Match` blocks is applied.
pub fn sshd_config(
    file: &str,
    text: &str,
    include: &dyn Fn(&str) -> Vec<(String, String)>,
) -> Vec<SshSetting> {
    let mut out = Vec::new();
    let mut in_match = false;
    let mut budget = 64usize;
    sshd_into(file, text, include, 0, &mut budget, &mut in_match, &mut out);
    out
}

fn sshd_into(
    file: &str,
    text: &str,
    include: &dyn Fn(&str) -> Vec<(String, String)>,
    depth: usize,
    budget: &mut usize,
    in_match: &mut bool,
    out: &mut Vec<SshSetting>,
) {
    for (n, line) in text.lines().enumerate().take(100_000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (k, v.trim().trim_start_matches('=').trim()),
            None => (line, ""),
        };
        let key = k.to_ascii_lowercase();
        if key == "match" {
            *in_match = true;
            continue;
        }
        if key == "include" {
            if depth < 8 {
                for pattern in v.split_whitespace() {
                    for (f, t) in include(pattern) {
                        if *budget == 0 {
                            return;
                        }
                        *budget -= 1;
                        // A Match block opened in an included file ends with it.
                        let mut inner = *in_match;
                        sshd_into(&f, &t, include, depth + 1, budget, &mut inner, out);
                    }
                }
            }
            continue;
        }
        if *in_match || out.iter().any(|s: &SshSetting| s.key == key) {
            continue;
        }
        out.push(SshSetting {
            key,
            value: unquote(v).to_string(),
            file: file.to_string(),
            line: (n + 1) as u64,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_includes_are_bounded() {
        let text = "Include a\nInclude b\nInclude c\nPort 22\n";
        let calls = std::cell::Cell::new(0usize);
        let again = |_: &str| {
            calls.set(calls.get() + 1);
            vec![("/etc/ssh/x".to_string(), text.to_string())]
        };
        let s = sshd_config("/etc/ssh/sshd_config", text, &again);
        assert_eq!(s.len(), 1);
        assert!(calls.get() <= 64 * 3, "{}", calls.get());
    }

    #[test]
    fn pam_keeps_bracketed_controls() {
        let l = pam(
            "auth [success=1 default=ignore] pam_unix.so nullok\n-session optional /lib/security/pam_systemd.so\n",
        );
        assert_eq!(l[0].control, "[success=1 default=ignore]");
        assert_eq!(l[0].args, ["nullok"]);
        assert_eq!(l[1].kind, "session");
        assert_eq!(l[1].module, "pam_systemd.so");
    }

    #[test]
    fn mounts_decode_octal_escapes() {
        let m = mounts("/dev/sda1 /mnt/my\\040disk ext4 rw,nosuid 0 0\n");
        assert_eq!(m[0].target, "/mnt/my disk");
        assert_eq!(m[0].options, ["rw", "nosuid"]);
    }

    #[test]
    fn shadow_never_keeps_hashes() {
        let s = shadow("a:$6$salt$hash:19000:0:99999:7:::\nb::19000::::::\nc:!$y$x:1:::::\n");
        assert_eq!((s[0].state, s[0].algorithm), ("hash", "sha512"));
        assert_eq!(s[1].state, "empty");
        assert_eq!((s[2].state, s[2].algorithm), ("locked", "yescrypt"));
        assert_eq!(s[0].max_days, Some(99999));
    }
}
