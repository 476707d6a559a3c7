//! Every built-in rule against its own examples, and the list of rule ids
//! against its snapshot (a rename or removal is a visible decision).

use rampart_secrets::RuleSet;

#[test]
fn every_rule_passes_its_examples() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let failures = rules.check();
    for f in &failures {
        eprintln!("{}: {}", f.rule_id, f.message);
    }
    assert!(
        failures.is_empty(),
        "{} rule check failures",
        failures.len()
    );
    assert!(
        rules.rules().len() >= 150,
        "only {} rules",
        rules.rules().len()
    );
}

#[test]
fn rule_ids_are_unique_and_match_the_snapshot() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let mut ids: Vec<&str> = rules.rules().iter().map(|r| r.id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate rule ids");
    let text = ids.join("\n") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rule-ids.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        expected, text,
        "rule ids differ from tests/golden/rule-ids.txt (UPDATE_GOLDEN=1 rewrites it)"
    );
}
