//! Properties over generated fleets.

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rampart_graph::runtime::{mapped_files, python_record_files};
use rampart_graph::{
    AddressClass, Analysis, Cidr, Reach, classify, parse_address, synth, target_host,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Scores stay within 0-100, the reasons add up to the score (before
    /// clamping), and the fleet ranking is sorted.
    #[test]
    fn scores_are_bounded_and_explained(hosts in 1usize..12, containers in 0usize..60, findings in 0usize..300, seed in any::<u64>()) {
        let a = Analysis::run(synth::fleet(hosts, containers, findings, seed)).unwrap();
        let top = a.top(findings);
        prop_assert_eq!(top.len(), findings);
        for w in top.windows(2) {
            prop_assert!(w[0].score >= w[1].score);
        }
        for f in &top {
            prop_assert!((0.0..=100.0).contains(&f.score), "{}", f.score);
            let sum: f64 = f.reasons.iter().map(|r| r.points).sum();
            let clamped = (sum.clamp(0.0, 100.0) * 10.0).round() / 10.0;
            prop_assert!((clamped - f.score).abs() < 1e-9, "{} vs {}", sum, f.score);
            prop_assert_eq!(Some(f.score), a.score_of(&f.id));
        }
    }

    /// Hop distance grows by exactly one along every path, and a path's
    /// length is its target's distance.
    #[test]
    fn hop_distance_is_monotone_along_paths(hosts in 1usize..12, containers in 0usize..60, seed in any::<u64>()) {
        let a = Analysis::run(synth::fleet(hosts, containers, 50, seed)).unwrap();
        let ids: Vec<String> = a.graph().input().nodes.iter().map(|n| n.id.clone()).collect();
        for id in &ids {
            let reach = a.reach(id).unwrap();
            match a.path_to(id).unwrap() {
                Some(path) => {
                    prop_assert_eq!(reach, Reach::Hops { hops: path.hops });
                    prop_assert_eq!(path.steps.len(), path.hops as usize);
                    prop_assert_eq!(path.steps[0].from.as_str(), "internet");
                    for (i, step) in path.steps.iter().enumerate() {
                        let want = u32::try_from(i + 1).unwrap();
                        prop_assert_eq!(a.reach(&step.to), Some(Reach::Hops { hops: want }));
                    }
                }
                None => prop_assert!(id == "internet" || reach == Reach::Isolated, "{} {:?}", id, reach),
            }
        }
        let paths = a.top_paths(10);
        for w in paths.windows(2) {
            prop_assert!(w[0].score >= w[1].score);
        }
    }

    /// Generation is deterministic.
    #[test]
    fn the_generator_is_deterministic(seed in any::<u64>()) {
        prop_assert_eq!(synth::fleet(4, 20, 100, seed), synth::fleet(4, 20, 100, seed));
    }
}

proptest! {
    /// An IPv4 address and its IPv4-mapped IPv6 form are the same class;
    /// RFC 1918 space is always private.
    #[test]
    fn mapped_addresses_classify_like_ipv4(raw in any::<u32>()) {
        let v4 = Ipv4Addr::from(raw);
        prop_assert_eq!(classify(IpAddr::V4(v4)), classify(IpAddr::V6(v4.to_ipv6_mapped())));
        if v4.octets()[0] == 10 {
            prop_assert_eq!(classify(IpAddr::V4(v4)), AddressClass::Private);
        }
    }

    /// Unique local IPv6 space is never public.
    #[test]
    fn ula_is_never_public(raw in any::<u128>()) {
        let ip = Ipv6Addr::from((raw & !(0x7fu128 << 121)) | (0x7eu128 << 121));
        prop_assert_eq!(classify(IpAddr::V6(ip)), AddressClass::UniqueLocal);
    }

    /// The text readers never panic, whatever they are given.
    #[test]
    fn readers_never_panic(text in ".{0,200}") {
        let _ = parse_address(&text);
        let _ = Cidr::parse(&text);
        let _ = rampart_graph::cvss::attack_vector(&text);
        let _ = target_host(&text);
        let _ = mapped_files(&text);
        let _ = python_record_files("/site", &text);
    }
}
