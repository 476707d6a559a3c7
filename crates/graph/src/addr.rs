//! Address classification: which addresses belong to the internet.
//!
//! Only [`AddressClass::Public`] addresses are the internet. Everything else
//! (private, shared, loopback, documentation, ...) can never create internet
//! exposure, whatever the connection looks like. IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`) and the NAT64 well-known prefix (`64:ff9b::/96`) are
//! classified by the IPv4 address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::GraphError;

/// What kind of address an IP address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// `0.0.0.0`, `::`: every interface when bound, nobody as a peer.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// RFC 6598 carrier-grade NAT space: `100.64.0.0/10`.
    Shared,
    /// Unique local IPv6 (RFC 4193): `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `255.255.255.255`, `ff00::/8`.
    Multicast,
    /// RFC 5737 `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`; RFC 3849
    /// `2001:db8::/32`; RFC 9637 `3fff::/20`.
    Documentation,
    /// Not routable on the internet for other reasons: `0.0.0.0/8`,
    /// `192.0.0.0/24`, `198.18.0.0/15` (benchmarking), `240.0.0.0/4`,
    /// `100::/64` (discard).
    Reserved,
    /// Everything else: an internet address.
    Public,
}

impl AddressClass {
    /// Whether an address of this class is on the internet.
    #[must_use]
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// The name used in JSON and in reasons.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "unspecified",
            AddressClass::Loopback => "loopback",
            AddressClass::LinkLocal => "link_local",
            AddressClass::Private => "private",
            AddressClass::Shared => "shared",
            AddressClass::UniqueLocal => "unique_local",
            AddressClass::Multicast => "multicast",
            AddressClass::Documentation => "documentation",
            AddressClass::Reserved => "reserved",
            AddressClass::Public => "public",
        }
    }
}

/// Classifies an address.
#[must_use]
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

/// The IPv4 table, first match wins.
const V4_TABLE: &[([u8; 4], u32, AddressClass)] = &[
    ([0, 0, 0, 0], 32, AddressClass::Unspecified),
    ([0, 0, 0, 0], 8, AddressClass::Reserved),
    ([127, 0, 0, 0], 8, AddressClass::Loopback),
    ([169, 254, 0, 0], 16, AddressClass::LinkLocal),
    ([10, 0, 0, 0], 8, AddressClass::Private),
    ([172, 16, 0, 0], 12, AddressClass::Private),
    ([192, 168, 0, 0], 16, AddressClass::Private),
    ([100, 64, 0, 0], 10, AddressClass::Shared),
    ([192, 0, 2, 0], 24, AddressClass::Documentation),
    ([198, 51, 100, 0], 24, AddressClass::Documentation),
    ([203, 0, 113, 0], 24, AddressClass::Documentation),
    ([192, 0, 0, 0], 24, AddressClass::Reserved),
    ([198, 18, 0, 0], 15, AddressClass::Reserved),
    ([255, 255, 255, 255], 32, AddressClass::Multicast),
    ([224, 0, 0, 0], 4, AddressClass::Multicast),
    ([240, 0, 0, 0], 4, AddressClass::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    V4_TABLE
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map_or(AddressClass::Public, |(_, _, class)| *class)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

const fn v6(segments: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(
        segments[0],
        segments[1],
        segments[2],
        segments[3],
        segments[4],
        segments[5],
        segments[6],
        segments[7],
    )
}

/// The IPv6 table (after the embedded-IPv4 forms), first match wins.
const V6_TABLE: &[([u16; 8], u32, AddressClass)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, AddressClass::Unspecified),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, AddressClass::Loopback),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, AddressClass::LinkLocal),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, AddressClass::UniqueLocal),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, AddressClass::Multicast),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        AddressClass::Documentation,
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        AddressClass::Documentation,
    ),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, AddressClass::Reserved),
    // Everything else outside 2000::/3 (global unicast) is not assigned.
    ([0x2000, 0, 0, 0, 0, 0, 0, 0], 3, AddressClass::Public),
];

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if in_v6(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        let [.., a, b, c, d] = ip.octets();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    V6_TABLE
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, v6(*net), *prefix))
        .map_or(AddressClass::Reserved, |(_, _, class)| *class)
}

/// Parses an address as reports spell it: `10.0.0.5`, `10.0.0.5/24` (an
/// interface address with its prefix length), `[::1]`, `fe80::1%eth0`.
///
/// # Errors
///
/// [`GraphError::BadAddress`] when it is none of these.
pub fn parse_address(s: &str) -> Result<IpAddr, GraphError> {
    let t = s.trim();
    let t = t.split_once('/').map_or(t, |(a, _)| a);
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    let t = t.split_once('%').map_or(t, |(a, _)| a);
    t.parse().map_err(|_| GraphError::BadAddress {
        value: s.to_string(),
    })
}

/// A network in CIDR notation (`0.0.0.0/0`, `10.0.0.0/8`, `::/0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDRESS/PREFIX` (a bare address is a single-host network).
    ///
    /// # Errors
    ///
    /// [`GraphError::BadCidr`] on a bad address or a prefix longer than the
    /// address.
    pub fn parse(s: &str) -> Result<Cidr, GraphError> {
        let bad = || GraphError::BadCidr {
            value: s.to_string(),
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }

    /// Whether this is the whole address space (`0.0.0.0/0` or `::/0`): open
    /// to the internet.
    #[must_use]
    pub fn is_world(&self) -> bool {
        self.prefix == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        use AddressClass::{
            Documentation, LinkLocal, Loopback, Multicast, Private, Public, Reserved, Shared,
            UniqueLocal, Unspecified,
        };
        let table = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.169.254", LinkLocal),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.15.255.255", Public),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("192.168.1.1", Private),
            ("192.169.0.1", Public),
            ("100.63.255.255", Public),
            ("100.64.0.1", Shared),
            ("100.127.255.255", Shared),
            ("100.128.0.0", Public),
            ("192.0.2.10", Documentation),
            ("198.51.100.10", Documentation),
            ("203.0.113.10", Documentation),
            ("203.0.114.10", Public),
            ("192.0.0.8", Reserved),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.20.0.1", Public),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("34.117.59.81", Public),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Reserved),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff:0fff::1", Documentation),
            ("3fff:1000::1", Public),
            ("100::1", Reserved),
            ("2606:4700::1111", Public),
            ("2a00:1450:4001::1", Public),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:8.8.8.8", Public),
            ("64:ff9b::a00:1", Private),
            ("64:ff9b::808:808", Public),
            ("4000::1", Reserved),
        ];
        for (addr, want) in table {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(classify(ip), want, "{addr}");
            assert_eq!(classify(ip).is_public(), want == Public, "{addr}");
        }
    }

    #[test]
    fn parses_report_spellings() {
        for (s, want) in [
            ("10.0.0.5/24", "10.0.0.5"),
            ("[::1]", "::1"),
            ("fe80::1%eth0", "fe80::1"),
            (" 8.8.8.8 ", "8.8.8.8"),
            ("fe80::1/64", "fe80::1"),
        ] {
            assert_eq!(parse_address(s).unwrap(), want.parse::<IpAddr>().unwrap());
        }
        for bad in ["", "host.example", "300.1.1.1", "[::1", "1.2.3"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert!(Cidr::parse("0.0.0.0/0").unwrap().is_world());
        assert!(Cidr::parse("::/0").unwrap().is_world());
        assert!(!Cidr::parse("10.0.0.0/8").unwrap().is_world());
        assert_eq!(Cidr::parse("1.2.3.4").unwrap().prefix, 32);
        for bad in ["0.0.0.0/33", "::/129", "x/0", "1.2.3.4/-1", "1.2.3.4/"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
