//! Classifies IP addresses for the topology: which peers are the internet,
//! which are private networks, and which never leave a host.
//!
//! Only [`AddrClass::Public`] peers become edges to the `internet` node; the
//! product Rampart replaces called every unknown peer "internet", which
//! drew attack paths from private networks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of network an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// RFC 6598 carrier-grade NAT: `100.64.0.0/10`.
    Shared,
    /// IPv6 unique local addresses: `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `255.255.255.255`, `ff00::/8`.
    Multicast,
    /// RFC 5737 and RFC 3849 documentation ranges: `192.0.2/24`,
    /// `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`.
    Documentation,
    /// Other ranges never routed on the internet (`0/8`, `192.0.0/24`,
    /// `198.18/15`, `240/4`, `100::/64`, `2001:2::/48`, IPv6 outside
    /// `2000::/3`).
    Reserved,
    /// Everything else: reachable from the internet.
    Public,
}

impl AddrClass {
    /// The name used in edge attributes and the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            AddrClass::Unspecified => "unspecified",
            AddrClass::Loopback => "loopback",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Private => "private",
            AddrClass::Shared => "shared",
            AddrClass::UniqueLocal => "unique-local",
            AddrClass::Multicast => "multicast",
            AddrClass::Documentation => "documentation",
            AddrClass::Reserved => "reserved",
            AddrClass::Public => "public",
        }
    }
}

/// The address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for;
/// other addresses unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Classifies an address (IPv4-mapped IPv6 as its IPv4 address).
pub fn classify(ip: IpAddr) -> AddrClass {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if a == 127 {
        AddrClass::Loopback
    } else if a == 169 && b == 254 {
        AddrClass::LinkLocal
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        AddrClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        AddrClass::Shared
    } else if (224..240).contains(&a) || ip.is_broadcast() {
        AddrClass::Multicast
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddrClass::Documentation
    } else if a == 0
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        AddrClass::Unspecified
    } else if ip.is_loopback() {
        AddrClass::Loopback
    } else if s[0] & 0xffc0 == 0xfe80 {
        AddrClass::LinkLocal
    } else if s[0] & 0xfe00 == 0xfc00 {
        AddrClass::UniqueLocal
    } else if s[0] & 0xff00 == 0xff00 {
        AddrClass::Multicast
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        AddrClass::Documentation
    } else if (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0)
        || s[0] & 0xe000 != 0x2000
    {
        // Discard-only, benchmarking, and everything outside
        // the global unicast block 2000::/3.
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

/// Parses an address as agents write it: plain, in brackets, or with a
/// prefix length or zone (`10.0.0.5/24`, `[fe80::1]`, `fe80::1%eth0`).
pub fn parse(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t.split('/').next().unwrap_or(t);
    let t = t.strip_prefix('[').unwrap_or(t);
    let t = t.strip_suffix(']').unwrap_or(t);
    let t = t.split('%').next().unwrap_or(t);
    t.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_table() {
        let table: &[(&str, AddrClass)] = &[
            ("0.0.0.0", AddrClass::Unspecified),
            ("::", AddrClass::Unspecified),
            ("127.0.0.1", AddrClass::Loopback),
            ("127.255.0.9", AddrClass::Loopback),
            ("::1", AddrClass::Loopback),
            ("::ffff:127.0.0.1", AddrClass::Loopback),
            ("169.254.169.254", AddrClass::LinkLocal),
            ("fe80::1", AddrClass::LinkLocal),
            ("febf::1", AddrClass::LinkLocal),
            ("10.0.0.1", AddrClass::Private),
            ("10.255.255.255", AddrClass::Private),
            ("172.16.0.1", AddrClass::Private),
            ("172.31.255.254", AddrClass::Private),
            ("172.15.0.1", AddrClass::Public),
            ("172.32.0.1", AddrClass::Public),
            ("192.168.1.1", AddrClass::Private),
            ("::ffff:192.168.1.1", AddrClass::Private),
            ("::ffff:10.1.2.3", AddrClass::Private),
            ("100.64.0.1", AddrClass::Shared),
            ("100.127.255.255", AddrClass::Shared),
            ("100.63.255.255", AddrClass::Public),
            ("100.128.0.0", AddrClass::Public),
            ("fc00::1", AddrClass::UniqueLocal),
            ("fd12:3456::1", AddrClass::UniqueLocal),
            ("fe00::1", AddrClass::Reserved),
            ("224.0.0.1", AddrClass::Multicast),
            ("239.255.255.250", AddrClass::Multicast),
            ("255.255.255.255", AddrClass::Multicast),
            ("ff02::1", AddrClass::Multicast),
            ("192.0.2.1", AddrClass::Documentation),
            ("198.51.100.7", AddrClass::Documentation),
            ("203.0.113.9", AddrClass::Documentation),
            ("2001:db8::1", AddrClass::Documentation),
            ("198.18.0.1", AddrClass::Reserved),
            ("240.0.0.1", AddrClass::Reserved),
            ("0.1.2.3", AddrClass::Reserved),
            ("192.0.0.8", AddrClass::Reserved),
            ("8.8.8.8", AddrClass::Public),
            ("1.1.1.1", AddrClass::Public),
            ("::ffff:8.8.4.4", AddrClass::Public),
            ("2606:4700:4700::1111", AddrClass::Public),
            ("2a00:1450:4001::200e", AddrClass::Public),
        ];
        for (text, want) in table {
            let ip = parse(text).unwrap_or_else(|| panic!("parse {text}"));
            assert_eq!(classify(ip), *want, "{text}");
        }
    }

    #[test]
    fn parses_agent_notation() {
        assert_eq!(parse("10.0.0.5/24"), parse("10.0.0.5"));
        assert_eq!(parse("[fe80::1]"), parse("fe80::1"));
        assert_eq!(parse("fe80::1%eth0"), parse("fe80::1"));
        assert_eq!(parse("fe80::1/64"), parse("fe80::1"));
        assert_eq!(
            parse("::ffff:10.0.0.5"),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)))
        );
        assert_eq!(parse("not-an-ip"), None);
        assert_eq!(parse(""), None);
    }
}
