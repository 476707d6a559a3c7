//! The ThreatGraph benchmark: a generated fleet, then exposure, paths and
//! scores, then the queries. Run with `crates/graph/bench.sh` (or
//! `cargo bench -p rampart-graph --bench threatgraph -- HOSTS CONTAINERS FINDINGS`).
//! Reports wall times and the peak resident memory (`VmHWM`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rampart_graph::{Analysis, Graph, GroupBy, synth};

fn vm(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unavailable".into())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> ExitCode {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (hosts, containers, findings) = match args.as_slice() {
        [h, c, f, ..] => (*h, *c, *f),
        _ => (10_000, 100_000, 1_000_000),
    };
    println!("fleet: {hosts} hosts, {containers} containers, {findings} findings (seed 7)");
    let t = Instant::now();
    let input = synth::fleet(hosts, containers, findings, 7);
    println!(
        "generate: {} ({} nodes, {} edges); VmHWM so far {}",
        ms(t.elapsed()),
        input.nodes.len(),
        input.edges.len(),
        vm("VmHWM:")
    );
    let t = Instant::now();
    let graph = match Graph::build(input) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let build = t.elapsed();
    let t = Instant::now();
    let analysis = Analysis::from_graph(graph);
    let analyse = t.elapsed();
    let compute = build + analyse;
    let summary = analysis.summary();
    println!(
        "compute: {} = validate and index {} + exposure, paths, scores, ranking {} ({} exposed nodes, {} reachable nodes, {} credential edges)",
        ms(compute),
        ms(build),
        ms(analyse),
        summary.exposed,
        summary.reachable,
        summary.credentials
    );
    println!(
        "score distribution (10-point bands): {:?}; at 100: {}",
        analysis.score_distribution(),
        analysis.at_maximum()
    );
    let mut best = Duration::MAX;
    let mut top = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        top = analysis.top(100);
        best = best.min(t.elapsed());
    }
    println!(
        "top 100 findings with reasons: {} (best of 5); first score {:?}",
        ms(best),
        top.first().map(|f| f.score)
    );
    let t = Instant::now();
    let paths = analysis.top_paths(100);
    println!(
        "top 100 attack paths: {} (longest {} hops)",
        ms(t.elapsed()),
        paths.iter().map(|p| p.hops).max().unwrap_or(0)
    );
    let scan: Vec<String> = (0..10_000)
        .map(|i| format!("f{}", i * 37 % findings.max(1)))
        .collect();
    let t = Instant::now();
    let s = analysis
        .top_for_scan(&scan, 100)
        .map(|v| v.len())
        .unwrap_or(0);
    println!(
        "top 100 of a 10,000-finding scan: {} ({s} results)",
        ms(t.elapsed())
    );
    let t = Instant::now();
    let groups = analysis.groups(GroupBy::Auto, 5);
    println!(
        "grouped view (auto): {} ({} groups)",
        ms(t.elapsed()),
        groups.len()
    );
    println!("peak RSS (VmHWM): {}", vm("VmHWM:"));
    ExitCode::SUCCESS
}
