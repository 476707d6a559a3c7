//! Accuracy on the labeled corpus (planted secrets and planted decoys):
//! precision and recall must both stay at or above 0.95.

use rampart_secrets::{Engine, RuleSet, ScanOptions, corpus};

#[test]
fn precision_and_recall_on_the_labeled_corpus() {
    let rules = RuleSet::builtin().expect("rules");
    let engine = Engine::new(&rules, ScanOptions::default());
    let c = corpus::generate(0x05EC_2E75, 400);
    let mut findings = Vec::new();
    for (path, data) in &c.files {
        findings.extend(engine.scan_bytes(path, data));
    }
    let e = corpus::evaluate(&c, &findings);
    println!(
        "corpus: {} files, {} planted secrets, {} decoys; TP {} FP {} FN {}; precision {:.4} recall {:.4}",
        c.files.len(),
        c.planted.len(),
        c.decoys,
        e.true_positives,
        e.false_positives,
        e.false_negatives,
        e.precision,
        e.recall
    );
    for m in &e.missed {
        println!("missed: {} line {} ({})", m.path, m.line, m.kind);
    }
    for (p, l, r) in &e.spurious {
        println!("false positive: {p} line {l} ({r})");
    }
    assert!(c.planted.len() > 300, "corpus too small");
    assert!(e.precision >= 0.95, "precision {:.4}", e.precision);
    assert!(e.recall >= 0.95, "recall {:.4}", e.recall);
}
