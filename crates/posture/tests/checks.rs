//! Every check against its fixtures: it passes on the benchmark's compliant
//! baseline (or its own passing example) and fails on its failing example,
//! with evidence. The list of check ids is snapshotted.

use std::collections::BTreeSet;

use rampart_posture::{PolicySet, Status, fixture_facts};
use serde_json::Value;

#[test]
fn every_check_passes_and_fails_on_its_fixtures() {
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for check in set.checks() {
        let eval = |facts: &Value| {
            set.evaluate_check(&check.id, facts)
                .unwrap_or_else(|e| panic!("{}: {e}", check.id))
        };
        let pass = eval(&fixture_facts(
            &check.benchmark,
            check.examples.pass.as_ref(),
        ));
        if pass.status != Status::Pass {
            problems.push(format!(
                "{}: expected pass, got {:?} {:?} {:?}",
                check.id, pass.status, pass.reason, pass.evidence
            ));
        }
        let Some(fail_ex) = check.examples.fail.as_ref() else {
            problems.push(format!("{}: no failing example", check.id));
            continue;
        };
        let fail = eval(&fixture_facts(&check.benchmark, Some(fail_ex)));
        if fail.status != Status::Fail || fail.evidence.is_empty() {
            problems.push(format!(
                "{}: expected fail with evidence, got {:?} {:?}",
                check.id, fail.status, fail.reason
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn check_ids_are_unique_and_snapshotted() {
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();
    let mut listing = String::new();
    for c in set.checks() {
        assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
    }
    for id in &seen {
        let c = set.check(id).unwrap_or_else(|| panic!("{id}"));
        listing.push_str(&format!(
            "{id}\t{}\t{}\t{}\n",
            c.benchmark, c.severity, c.title
        ));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/check-ids.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(&path)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, &listing).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    let have: BTreeSet<&str> = listing.lines().collect();
    let had: BTreeSet<&str> = want.lines().collect();
    let added: Vec<_> = have.difference(&had).collect();
    let removed: Vec<_> = had.difference(&have).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "check list changed (rerun with UPDATE_GOLDEN=1 and review):\nadded: {added:#?}\nremoved: {removed:#?}"
    );
}

#[test]
fn every_check_has_complete_metadata() {
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    for c in set.checks() {
        assert!(
            !c.title.is_empty() && !c.description.is_empty() && !c.remediation.is_empty(),
            "{}",
            c.id
        );
        assert!(!c.rationale.is_empty(), "{}", c.id);
        for fw in ["pci-dss-4.0", "nist-800-53r5"] {
            assert!(
                c.frameworks.contains_key(fw),
                "{} has no {fw} mapping",
                c.id
            );
        }
    }
}
