//! Properties over generated fleets.

use proptest::prelude::*;
use rampart_graph::{Analysis, Reach, synth};

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
