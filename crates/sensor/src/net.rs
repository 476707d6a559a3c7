//! `/proc/net/{tcp,tcp6,udp,udp6}` parsing.
//!
//! Each line after the header is
//! `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...`,
//! addresses as hex: IPv4 one 32-bit word in host (little-endian) order,
//! IPv6 four such words; ports big-endian hex.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rampart_model::agent::Proto;

/// TCP `LISTEN` (also what the kernel shows for nothing else).
pub const TCP_LISTEN: u8 = 0x0A;
/// TCP `TIME_WAIT`.
pub const TCP_TIME_WAIT: u8 = 0x06;
/// TCP `CLOSE` (for UDP: an unconnected socket).
pub const TCP_CLOSE: u8 = 0x07;
/// TCP `ESTABLISHED` (for UDP: a connected socket).
pub const TCP_ESTABLISHED: u8 = 0x01;

/// One socket line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEntry {
    pub proto: Proto,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// The kernel's TCP state number.
    pub state: u8,
    pub uid: u32,
    /// The socket inode (0 for sockets no process holds, such as `TIME_WAIT`).
    pub inode: u64,
}

/// The name of a TCP state number.
#[must_use]
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// Parses `hex:port`, IPv4 (8 hex digits) or IPv6 (32). An IPv4-mapped IPv6
/// address (`::ffff:a.b.c.d`) comes back as IPv4.
#[must_use]
pub fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    if port.len() != 4 {
        return None;
    }
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).ok()?.to_le_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                let word = addr.get(i * 8..i * 8 + 8)?;
                chunk.copy_from_slice(&u32::from_str_radix(word, 16).ok()?.to_le_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some((ip, port))
}

fn parse_line(line: &str, proto: Proto) -> Option<SocketEntry> {
    let mut f = line.split_ascii_whitespace();
    let sl = f.next()?;
    if !sl.ends_with(':') {
        return None;
    }
    let (local, local_port) = parse_endpoint(f.next()?)?;
    let (remote, remote_port) = parse_endpoint(f.next()?)?;
    let st = f.next()?;
    if st.len() != 2 {
        return None;
    }
    let state = u8::from_str_radix(st, 16).ok()?;
    let _queues = f.next()?;
    let _timer = f.next()?;
    let _retr = f.next()?;
    let uid = f.next()?.parse().ok()?;
    let _timeout = f.next()?;
    let inode = f.next()?.parse().ok()?;
    Some(SocketEntry {
        proto,
        local,
        local_port,
        remote,
        remote_port,
        state,
        uid,
        inode,
    })
}

/// Parses one `/proc/net/{tcp,tcp6,udp,udp6}` file. The header and lines
/// that do not parse are skipped (the count of skipped lines is returned
/// beside the entries); bad input never panics.
#[must_use]
pub fn parse_proc_net(content: &str, proto: Proto) -> (Vec<SocketEntry>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for (i, line) in content.lines().enumerate() {
        if i == 0 && line.trim_start().starts_with("sl") {
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, proto) {
            Some(e) => out.push(e),
            None => bad += 1,
        }
    }
    (out, bad)
}

/// `ADDRESS:PORT` with IPv6 addresses in brackets.
#[must_use]
pub fn endpoint_string(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 21345 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:0016 0202000A:D3C4 01 00000000:00000000 02:000A7B2E 00000000     0        0 30123 4 0000000000000000 20 4 29 10 -1
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:B6C2 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0000000000000000 20 4 30 10 -1
   2: 000080FE00000000FF005450B6AC2FFE:0016 000080FE00000000FF005450B6AC2FFF:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4244 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn ipv4_lines() {
        let (v, bad) = parse_proc_net(TCP, Proto::Tcp);
        assert_eq!(bad, 0);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(v[0].local_port, 3306);
        assert_eq!(v[0].state, TCP_LISTEN);
        assert_eq!(v[0].uid, 105);
        assert_eq!(v[0].inode, 21345);
        assert_eq!(v[1].local, "10.0.2.15".parse::<IpAddr>().unwrap());
        assert_eq!(v[1].local_port, 22);
        assert_eq!(v[1].remote, "10.0.2.2".parse::<IpAddr>().unwrap());
        assert_eq!(v[1].remote_port, 54212);
        assert_eq!(tcp_state_name(v[1].state), "ESTABLISHED");
    }

    #[test]
    fn ipv6_words_are_little_endian_and_mapped_addresses_become_ipv4() {
        let (v, bad) = parse_proc_net(TCP6, Proto::Tcp);
        assert_eq!(bad, 0);
        assert_eq!(v[0].local, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(v[0].local_port, 80);
        assert_eq!(v[1].local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(v[1].local_port, 8080);
        assert_eq!(
            v[2].local,
            "fe80::5054:ff:fe2f:acb6".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            endpoint_string(v[2].local, 22),
            "[fe80::5054:ff:fe2f:acb6]:22"
        );
    }

    #[test]
    fn bad_lines_are_counted_not_fatal() {
        let (v, bad) = parse_proc_net(
            "sl header\n 0: zz:1 00:00 0A\n\n 1: 0100007F:0050\n",
            Proto::Udp,
        );
        assert!(v.is_empty());
        assert_eq!(bad, 2);
    }

    fn hex_v4(ip: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_le_bytes(ip.octets()))
    }

    fn hex_v6(ip: Ipv6Addr) -> String {
        ip.octets()
            .chunks_exact(4)
            .map(|c| format!("{:08X}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") {
            let _ = parse_proc_net(&s, Proto::Tcp);
        }

        #[test]
        fn round_trips_v4(a in any::<u32>(), b in any::<u32>(), lp in any::<u16>(), rp in any::<u16>(), st in 1u8..=12, inode in any::<u32>()) {
            let (l, r) = (Ipv4Addr::from(a), Ipv4Addr::from(b));
            let line = format!("   7: {}:{lp:04X} {}:{rp:04X} {st:02X} 00000000:00000000 00:00000000 00000000  1000 0 {inode} 1\n", hex_v4(l), hex_v4(r));
            let (v, bad) = parse_proc_net(&line, Proto::Tcp);
            prop_assert_eq!(bad, 0);
            prop_assert_eq!(v[0].local, IpAddr::V4(l));
            prop_assert_eq!(v[0].remote, IpAddr::V4(r));
            prop_assert_eq!((v[0].local_port, v[0].remote_port, v[0].state, v[0].inode), (lp, rp, st, u64::from(inode)));
        }

        #[test]
        fn round_trips_v6(a in any::<u128>(), lp in any::<u16>()) {
            let ip = Ipv6Addr::from(a);
            let line = format!("0: {}:{lp:04X} {}:0000 0A 0:0 0:0 0 0 0 9 1\n", hex_v6(ip), hex_v6(Ipv6Addr::UNSPECIFIED));
            let (v, _) = parse_proc_net(&line, Proto::Tcp);
            let expected = match ip.to_ipv4_mapped() { Some(v4) => IpAddr::V4(v4), None => IpAddr::V6(ip) };
            prop_assert_eq!(v[0].local, expected);
            prop_assert_eq!(v[0].local_port, lp);
        }
    }
}
