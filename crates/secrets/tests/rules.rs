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
    let old: Vec<&str> = expected.lines().collect();
    let added: Vec<&&str> = ids.iter().filter(|i| !old.contains(i)).collect();
    let removed: Vec<&&str> = old.iter().filter(|i| !ids.contains(i)).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "rule ids differ from tests/golden/rule-ids.txt: added {added:?}, removed {removed:?} \
         (UPDATE_GOLDEN=1 rewrites it)"
    );
}

#[test]
fn every_rule_is_listed_in_the_documentation() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/secrets.md"),
    )
    .expect("docs/secrets.md");
    let missing: Vec<&str> = rules
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !doc.contains(&format!("`{id}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/secrets.md: {missing:?}");
}
