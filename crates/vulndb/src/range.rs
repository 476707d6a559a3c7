//! OSV range semantics, independent of any version scheme: the ordering is
//! injected as a fallible comparator, so a version that does not parse
//! surfaces as an error (reported as "unknown"), never as a guess.
//!
//! The rules, per the OSV schema's evaluation section:
//! - only `ECOSYSTEM` and `SEMVER` ranges are evaluated (`GIT` and unknown
//!   types are ignored);
//! - the events of a range are sorted by version (`introduced: "0"` lowest,
//!   `limit: "*"` highest), whatever order the record lists them in;
//! - walking them in order, `introduced` <= v makes v affected, `fixed` <= v
//!   makes it not affected, `last_affected` < v makes it not affected; the
//!   last event that applies decides;
//! - `limit` <= v means the range does not cover v at all;
//! - a version listed verbatim in `versions[]` is affected whatever the
//!   ranges say.

use std::cmp::Ordering;
use std::fmt::Display;

use crate::osv::{Affected, Event, RangeType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

#[derive(Debug, Clone, Copy)]
struct Ev<'a> {
    kind: Kind,
    version: &'a str,
}

impl Ev<'_> {
    fn is_min(&self) -> bool {
        self.kind == Kind::Introduced && self.version == "0"
    }
    fn is_max(&self) -> bool {
        self.kind == Kind::Limit && self.version == "*"
    }
}

fn events(list: &[Event]) -> Vec<Ev<'_>> {
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let pairs = [
            (Kind::Introduced, &e.introduced),
            (Kind::Fixed, &e.fixed),
            (Kind::LastAffected, &e.last_affected),
            (Kind::Limit, &e.limit),
        ];
        for (kind, v) in pairs {
            if let Some(version) = v.as_deref() {
                out.push(Ev { kind, version });
            }
        }
    }
    out
}

fn cmp_events<F, E>(a: &Ev<'_>, b: &Ev<'_>, cmp: &F) -> Result<Ordering, E>
where
    F: Fn(&str, &str) -> Result<Ordering, E>,
{
    Ok(match (a.is_min(), b.is_min(), a.is_max(), b.is_max()) {
        (true, true, _, _) | (_, _, true, true) => Ordering::Equal,
        (true, _, _, _) | (_, _, _, true) => Ordering::Less,
        (_, true, _, _) | (_, _, true, _) => Ordering::Greater,
        _ => cmp(a.version, b.version)?,
    })
}

/// Stable insertion sort with a fallible comparator (the standard sorts may
/// panic on a comparator that is not a total order; this one cannot).
fn sort_events<F, E>(evs: &mut [Ev<'_>], cmp: &F) -> Result<(), E>
where
    F: Fn(&str, &str) -> Result<Ordering, E>,
{
    for i in 1..evs.len() {
        let mut j = i;
        while j > 0 && cmp_events(&evs[j - 1], &evs[j], cmp)? == Ordering::Greater {
            evs.swap(j - 1, j);
            j -= 1;
        }
    }
    Ok(())
}

/// What one range says about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeHit {
    pub affected: bool,
    /// When affected: the first `fixed` event above the version, if any.
    pub fixed: Option<String>,
}

/// Evaluates one `ECOSYSTEM`/`SEMVER` range's events for `version`.
///
/// # Errors
/// The first comparator error (a version that does not parse).
pub fn evaluate_events<F, E>(version: &str, list: &[Event], cmp: &F) -> Result<RangeHit, E>
where
    F: Fn(&str, &str) -> Result<Ordering, E>,
{
    let mut evs = events(list);
    sort_events(&mut evs, cmp)?;
    let mut affected = false;
    let mut last_applied: Option<usize> = None;
    for (i, e) in evs.iter().enumerate() {
        if e.is_min() {
            affected = true;
            last_applied = Some(i);
            continue;
        }
        if e.is_max() {
            break;
        }
        let ord = cmp(version, e.version)?;
        match e.kind {
            Kind::Limit if ord != Ordering::Less => {
                return Ok(RangeHit {
                    affected: false,
                    fixed: None,
                });
            }
            Kind::Limit => {}
            Kind::Introduced if ord != Ordering::Less => {
                affected = true;
                last_applied = Some(i);
            }
            Kind::Fixed if ord != Ordering::Less => {
                affected = false;
                last_applied = Some(i);
            }
            Kind::LastAffected if ord == Ordering::Greater => {
                affected = false;
                last_applied = Some(i);
            }
            _ => {}
        }
        if ord == Ordering::Less {
            // Every later event is at least this one's version: none of them
            // applies (a later `limit` is above v too), so stop comparing.
            break;
        }
    }
    let fixed = if affected {
        let start = last_applied.map_or(0, |i| i + 1);
        evs.iter()
            .skip(start)
            .find(|e| e.kind == Kind::Fixed)
            .map(|e| e.version.to_string())
    } else {
        None
    };
    Ok(RangeHit { affected, fixed })
}

/// What an `affected[]` entry says about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    NotAffected,
    Affected {
        /// Versions that fix it (empty: no fix recorded, "unfixed").
        fixed: Vec<String>,
        /// Why: the range or list that matched.
        evidence: String,
    },
    /// The version could not be ordered against the advisory's versions.
    Unknown {
        reason: String,
    },
}

fn describe(list: &[Event]) -> String {
    let parts: Vec<String> = events(list)
        .iter()
        .map(|e| {
            let k = match e.kind {
                Kind::Introduced => "introduced",
                Kind::Fixed => "fixed",
                Kind::LastAffected => "last_affected",
                Kind::Limit => "limit",
            };
            format!("{k} {}", e.version)
        })
        .collect();
    parts.join(", ")
}

/// Evaluates an `affected[]` entry: its `ECOSYSTEM`/`SEMVER` ranges and its
/// explicit `versions` list.
pub fn evaluate_affected<F, E>(version: &str, entry: &Affected, cmp: &F) -> Verdict
where
    F: Fn(&str, &str) -> Result<Ordering, E>,
    E: Display,
{
    let mut unknown: Option<String> = None;
    for range in &entry.ranges {
        if !matches!(range.kind, RangeType::Ecosystem | RangeType::Semver) {
            continue;
        }
        match evaluate_events(version, &range.events, cmp) {
            Ok(hit) if hit.affected => {
                let kind = if range.kind == RangeType::Semver {
                    "SEMVER"
                } else {
                    "ECOSYSTEM"
                };
                return Verdict::Affected {
                    fixed: hit.fixed.into_iter().collect(),
                    evidence: format!("{kind} range {}", describe(&range.events)),
                };
            }
            Ok(_) => {}
            Err(e) => {
                if unknown.is_none() {
                    unknown = Some(e.to_string());
                }
            }
        }
    }
    if entry.versions.iter().any(|v| v == version) {
        let mut fixed: Vec<String> = entry
            .ranges
            .iter()
            .filter(|r| matches!(r.kind, RangeType::Ecosystem | RangeType::Semver))
            .flat_map(|r| r.events.iter().filter_map(|e| e.fixed.clone()))
            .collect();
        fixed.sort();
        fixed.dedup();
        return Verdict::Affected {
            fixed,
            evidence: format!("version {version} listed in versions[]"),
        };
    }
    match unknown {
        Some(reason) => Verdict::Unknown { reason },
        None => Verdict::NotAffected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Range;

    /// A test comparator: dot-separated non-negative integers; anything
    /// else is an error.
    fn num(a: &str, b: &str) -> Result<Ordering, String> {
        let parse = |s: &str| -> Result<Vec<u64>, String> {
            s.split('.')
                .map(|p| p.parse::<u64>().map_err(|_| format!("bad version {s:?}")))
                .collect()
        };
        let (mut x, mut y) = (parse(a)?, parse(b)?);
        let n = x.len().max(y.len());
        x.resize(n, 0);
        y.resize(n, 0);
        Ok(x.cmp(&y))
    }

    fn hit(v: &str, evs: &[Event]) -> RangeHit {
        evaluate_events(v, evs, &num).unwrap()
    }

    fn i(v: &str) -> Event {
        Event::introduced(v)
    }
    fn f(v: &str) -> Event {
        Event::fixed(v)
    }

    #[test]
    fn introduced_zero_and_fixed() {
        let r = [i("0"), f("1.2")];
        assert_eq!(
            hit("1.1.9", &r),
            RangeHit {
                affected: true,
                fixed: Some("1.2".into())
            }
        );
        assert!(!hit("1.2", &r).affected);
        assert!(!hit("3", &r).affected);
        assert!(hit("0.0.1", &r).affected);
    }

    #[test]
    fn introduced_zero_alone_needs_no_comparison() {
        let failing = |_: &str, _: &str| -> Result<Ordering, String> { Err("no".into()) };
        let r = evaluate_events("anything", &[i("0")], &failing).unwrap();
        assert!(r.affected);
        assert_eq!(r.fixed, None);
    }

    #[test]
    fn multiple_pairs() {
        let r = [i("1.0"), f("1.5"), i("2.0"), f("2.3")];
        assert!(!hit("0.9", &r).affected);
        assert!(hit("1.0", &r).affected);
        assert!(hit("1.4.9", &r).affected);
        assert!(!hit("1.5", &r).affected);
        assert!(!hit("1.9", &r).affected);
        assert_eq!(hit("2.1", &r).fixed.as_deref(), Some("2.3"));
        assert!(!hit("2.3", &r).affected);
    }

    #[test]
    fn unsorted_events_are_sorted_first() {
        let r = [f("2.3"), i("2.0"), f("1.5"), i("1.0")];
        assert!(hit("1.2", &r).affected);
        assert_eq!(hit("1.2", &r).fixed.as_deref(), Some("1.5"));
        assert!(!hit("1.7", &r).affected);
        assert!(hit("2.2", &r).affected);
        assert!(!hit("2.4", &r).affected);
    }

    #[test]
    fn last_affected_is_inclusive() {
        let r = [i("1.0"), Event::last_affected("1.4")];
        assert!(hit("1.4", &r).affected);
        assert_eq!(hit("1.4", &r).fixed, None);
        assert!(!hit("1.4.1", &r).affected);
        assert!(!hit("0.5", &r).affected);
    }

    #[test]
    fn limit_caps_the_range() {
        let r = [i("0"), Event::limit("2.0")];
        assert!(hit("1.9", &r).affected);
        assert!(!hit("2.0", &r).affected);
        assert!(!hit("5", &r).affected);
        let star = [i("1"), Event::limit("*")];
        assert!(hit("99", &star).affected);
    }

    #[test]
    fn introduced_without_fix_is_unfixed() {
        let r = [i("3.0")];
        assert_eq!(
            hit("3.1", &r),
            RangeHit {
                affected: true,
                fixed: None
            }
        );
        assert!(!hit("2.9", &r).affected);
    }

    #[test]
    fn same_version_introduced_and_fixed_keeps_record_order() {
        // A degenerate range: introduced and fixed at the same version.
        let r = [i("1.0"), f("1.0")];
        assert!(!hit("1.0", &r).affected);
    }

    fn entry(kind: RangeType, evs: Vec<Event>, versions: &[&str]) -> Affected {
        Affected {
            ranges: vec![Range {
                kind,
                repo: None,
                events: evs,
            }],
            versions: versions.iter().map(|s| (*s).to_string()).collect(),
            ..Affected::default()
        }
    }

    #[test]
    fn git_ranges_are_ignored_and_versions_lists_count() {
        let e = entry(RangeType::Git, vec![i("0")], &[]);
        assert_eq!(evaluate_affected("1.0", &e, &num), Verdict::NotAffected);
        let e = entry(RangeType::Git, vec![i("0")], &["1.0", "1.1"]);
        assert!(matches!(
            evaluate_affected("1.1", &e, &num),
            Verdict::Affected { .. }
        ));
    }

    #[test]
    fn unparseable_version_is_unknown_unless_listed() {
        let e = entry(
            RangeType::Ecosystem,
            vec![i("1.0"), f("2.0")],
            &["1.0~weird"],
        );
        match evaluate_affected("1.5~x", &e, &num) {
            Verdict::Unknown { reason } => assert!(reason.contains("1.5~x")),
            other => panic!("{other:?}"),
        }
        match evaluate_affected("1.0~weird", &e, &num) {
            Verdict::Affected { fixed, .. } => assert_eq!(fixed, vec!["2.0".to_string()]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn semver_range_reports_evidence_and_fix() {
        let e = entry(RangeType::Semver, vec![i("0"), f("1.2.0")], &[]);
        match evaluate_affected("1.1.0", &e, &num) {
            Verdict::Affected { fixed, evidence } => {
                assert_eq!(fixed, vec!["1.2.0".to_string()]);
                assert_eq!(evidence, "SEMVER range introduced 0, fixed 1.2.0");
            }
            other => panic!("{other:?}"),
        }
    }
}
