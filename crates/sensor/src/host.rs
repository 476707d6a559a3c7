//! Host facts from procfs, sysfs and `/etc`, each read under a root path
//! (`/` on a live host, a fixture tree in tests).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::path::Path;

use rampart_model::agent::{HostFacts, Interface, OsInfo};

use crate::error::{Result, SensorError};

fn read_trimmed(root: &Path, rel: &str) -> Option<String> {
    let s = std::fs::read_to_string(root.join(rel)).ok()?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `/etc/os-release` (or `/usr/lib/os-release`): `KEY=value` lines with
/// optional quotes.
#[must_use]
pub fn parse_os_release(content: &str) -> OsInfo {
    let mut m = BTreeMap::new();
    for line in content.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            m.insert(
                k.trim().to_string(),
                v.replace("\\\"", "\"").replace("\\$", "$"),
            );
        }
    }
    OsInfo {
        id: m.remove("ID").unwrap_or_else(|| "linux".to_string()),
        version_id: m.remove("VERSION_ID"),
        pretty_name: m.remove("PRETTY_NAME"),
    }
}

/// `btime` of `/proc/stat` (Unix seconds).
///
/// # Errors
/// The file is unreadable or has no `btime` line.
pub fn boot_time(root: &Path) -> Result<i64> {
    let p = root.join("proc/stat");
    let s = std::fs::read_to_string(&p).map_err(|e| SensorError::io(&p, e))?;
    s.lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
        .ok_or_else(|| SensorError::parse(p, "no btime line"))
}

fn mem_total(root: &Path) -> u64 {
    std::fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let v = l.strip_prefix("MemTotal:")?;
                v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kb| kb.saturating_mul(1024))
}

fn cpu_count(root: &Path) -> u32 {
    let n = std::fs::read_to_string(root.join("proc/cpuinfo"))
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// `/proc/net/if_inet6`: `ADDR32HEX IFINDEX PREFIXLEN SCOPE FLAGS NAME`.
#[must_use]
pub fn parse_if_inet6(content: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in content.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 6 || f[0].len() != 32 {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(f[0], 16) else {
            continue;
        };
        let Ok(prefix) = u8::from_str_radix(f[2], 16) else {
            continue;
        };
        out.push((
            f[5].to_string(),
            format!("{}/{prefix}", Ipv6Addr::from(bits)),
        ));
    }
    out
}

/// Interfaces from `/sys/class/net` (names, MACs), `/proc/net/if_inet6`
/// (IPv6) and, on a live host, `getifaddrs` (IPv4).
#[must_use]
pub fn interfaces(root: &Path, live: bool) -> Vec<Interface> {
    fn add<'a>(by_name: &'a mut BTreeMap<String, Interface>, name: &str) -> &'a mut Interface {
        by_name
            .entry(name.to_string())
            .or_insert_with(|| Interface {
                name: name.to_string(),
                mac: None,
                addresses: Vec::new(),
            })
    }
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(root.join("sys/class/net")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mac = std::fs::read_to_string(e.path().join("address"))
                .ok()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty() && m != "00:00:00:00:00:00");
            add(&mut by_name, &name).mac = mac;
        }
    }
    if live && let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(v4) = a
                .address
                .as_ref()
                .and_then(|s| s.as_sockaddr_in())
                .map(|s| s.ip())
            else {
                continue;
            };
            let prefix = a
                .netmask
                .as_ref()
                .and_then(|s| s.as_sockaddr_in())
                .map_or(32, |m| u32::from(m.ip()).count_ones());
            add(&mut by_name, &a.interface_name)
                .addresses
                .push(format!("{v4}/{prefix}"));
        }
    }
    if let Ok(s) = std::fs::read_to_string(root.join("proc/net/if_inet6")) {
        for (name, addr) in parse_if_inet6(&s) {
            add(&mut by_name, &name).addresses.push(addr);
        }
    }
    by_name
        .into_values()
        .map(|mut i| {
            i.addresses.sort();
            i.addresses.dedup();
            i
        })
        .collect()
}

/// The host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`).
#[must_use]
pub fn hostname(root: &Path) -> String {
    read_trimmed(root, "proc/sys/kernel/hostname")
        .or_else(|| read_trimmed(root, "etc/hostname"))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Reads every host fact but the cloud instance (the caller adds the cached one).
///
/// # Errors
/// `/proc/stat` is unreadable (no boot time).
pub fn host_facts(root: &Path, live: bool) -> Result<HostFacts> {
    let machine_id = read_trimmed(root, "etc/machine-id")
        .or_else(|| read_trimmed(root, "var/lib/dbus/machine-id"))
        .or_else(|| read_trimmed(root, "proc/sys/kernel/random/boot_id"))
        .unwrap_or_default();
    let hostname = hostname(root);
    let os = std::fs::read_to_string(root.join("etc/os-release"))
        .or_else(|_| std::fs::read_to_string(root.join("usr/lib/os-release")))
        .map(|s| parse_os_release(&s))
        .unwrap_or_default();
    Ok(HostFacts {
        machine_id,
        hostname,
        os,
        kernel: read_trimmed(root, "proc/sys/kernel/osrelease").unwrap_or_default(),
        arch: std::env::consts::ARCH.to_string(),
        cpus: cpu_count(root),
        memory_bytes: mem_total(root),
        boot_time: boot_time(root)?,
        interfaces: interfaces(root, live),
        cloud: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let os = parse_os_release(
            "# c\nID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n",
        );
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn if_inet6_lines() {
        let v = parse_if_inet6(
            "00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000005054fffe2facb6 02 40 20 80 eth0\nfe80000000000000505400fffe2facb6 02 40 20 80     eth0\n",
        );
        assert_eq!(
            v,
            [
                ("lo".to_string(), "::1/128".to_string()),
                ("eth0".to_string(), "fe80::5054:ff:fe2f:acb6/64".to_string())
            ]
        );
    }
}
