//! Writes the labeled corpus to a directory (files plus `labels.json`), or
//! scores a gitleaks/trivy/rampart JSON report against it:
//!
//! ```text
//! cargo run -p rampart-secrets --example corpus -- write DIR [FILES]
//! cargo run -p rampart-secrets --example corpus -- score DIR TOOL REPORT.json
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;

use rampart_secrets::corpus;

const SEED: u64 = 0x05EC_2E75;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") if args.len() >= 2 => {
            let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(400);
            let c = corpus::generate(SEED, n);
            let dir = Path::new(&args[1]);
            for (path, data) in &c.files {
                let p = dir.join(path.trim_start_matches('/'));
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(p, data)?;
            }
            std::fs::write(
                dir.join("labels.json"),
                serde_json::to_vec_pretty(&c.planted)?,
            )?;
            println!(
                "{} files, {} secrets, {} decoys",
                c.files.len(),
                c.planted.len(),
                c.decoys
            );
            Ok(())
        }
        Some("score") if args.len() == 4 => {
            let n = 400;
            let c = corpus::generate(SEED, n);
            let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&args[3])?)?;
            let found = findings(&args[2], &report);
            let e = corpus::evaluate_lines(&c, &found);
            println!(
                "{}: TP {} FP {} FN {} precision {:.4} recall {:.4}",
                args[2],
                e.true_positives,
                e.false_positives,
                e.false_negatives,
                e.precision,
                e.recall
            );
            Ok(())
        }
        _ => Err(
            "usage: corpus write DIR [FILES] | corpus score DIR gitleaks|trivy|rampart REPORT"
                .into(),
        ),
    }
}

/// `(path, line, rule)` from each tool's JSON report, paths made absolute
/// from the corpus root.
fn findings(tool: &str, v: &serde_json::Value) -> Vec<(String, u64, String)> {
    let abs = |p: &str| {
        let p = p.trim_start_matches("./");
        p.split("project")
            .nth(1)
            .map_or(p.to_string(), |rest| format!("/project{rest}"))
    };
    let mut out = Vec::new();
    match tool {
        "gitleaks" => {
            for f in v.as_array().into_iter().flatten() {
                out.push((
                    abs(f["File"].as_str().unwrap_or_default()),
                    f["StartLine"].as_u64().unwrap_or(0),
                    f["RuleID"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        "trivy" => {
            for r in v["Results"].as_array().into_iter().flatten() {
                let target = r["Target"].as_str().unwrap_or_default();
                for s in r["Secrets"].as_array().into_iter().flatten() {
                    out.push((
                        abs(target),
                        s["StartLine"].as_u64().unwrap_or(0),
                        s["RuleID"].as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
        }
        _ => {
            for f in v["findings"].as_array().into_iter().flatten() {
                out.push((
                    abs(f["path"].as_str().unwrap_or_default()),
                    f["line"].as_u64().unwrap_or(0),
                    f["rule_id"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    out
}
