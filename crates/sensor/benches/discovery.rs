//! Discovery cost on the live host, without a benchmark framework: starts
//! 500 sleeping processes, then times one cold collection (everything read)
//! and warm collections plus the delta against the previous state (what the
//! sensor does every interval). Run with
//! `cargo bench -p rampart-sensor --bench discovery` (release profile);
//! `SENSOR_BENCH_PROCS` and `SENSOR_BENCH_ROUNDS` change the sizes.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_sensor::delta::{diff, snapshot};
use rampart_sensor::{Collector, CollectorConfig};

struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (11 and 12 after the state field).
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

fn main() {
    // cargo bench passes --bench; nothing else is taken.
    let n: usize = std::env::var("SENSOR_BENCH_PROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rounds: usize = std::env::var("SENSOR_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    if !std::path::Path::new("/proc/self/stat").exists() {
        println!("SKIPPED: no /proc");
        return;
    }
    let mut sleepers = Sleepers(Vec::with_capacity(n));
    for _ in 0..n {
        sleepers.0.push(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawning sleep"),
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut cfg = CollectorConfig::live();
    cfg.cloud_metadata_url = None;
    let mut c = Collector::new(cfg);
    let rss0 = status_kib("VmRSS:");

    let t = Instant::now();
    let mut prev = c.collect().unwrap();
    let cold = t.elapsed();
    let snap = snapshot(&prev);
    let procs = prev
        .entities
        .keys()
        .filter(|k| k.kind == rampart_model::agent::EntityKind::Process)
        .count();
    let snap_json = serde_json::to_vec(&snap.upsert).unwrap().len();

    let cpu0 = cpu_secs();
    let mut times = Vec::with_capacity(rounds);
    let mut delta_sizes = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let next = c.collect().unwrap();
        let d = diff(&prev, &next);
        let encoded = serde_json::to_vec(&d.upsert).unwrap().len()
            + serde_json::to_vec(&d.remove).unwrap().len();
        times.push(t.elapsed());
        delta_sizes.push(encoded);
        prev = next;
    }
    let cpu = cpu_secs() - cpu0;
    times.sort();
    let mean = times.iter().sum::<Duration>() / u32::try_from(rounds.max(1)).unwrap();
    let p50 = times[rounds / 2];
    let max = times[rounds - 1];
    println!(
        "sensor discovery benchmark ({} sleeping processes started; {procs} processes, {} entities seen)",
        n,
        prev.entities.len()
    );
    println!(
        "cold collection (everything read):   {:>8.2} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "warm collection + delta, {rounds} rounds: mean {:.2} ms, p50 {:.2} ms, max {:.2} ms",
        mean.as_secs_f64() * 1e3,
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "CPU per warm round:                  {:>8.2} ms (user+sys)",
        cpu * 1e3 / rounds as f64
    );
    println!(
        "at a 10 s interval:                  {:>8.3} % of one core",
        cpu / rounds as f64 / 10.0 * 100.0
    );
    println!(
        "snapshot JSON (entities):            {:>8} bytes",
        snap_json
    );
    println!(
        "delta JSON, mean:                    {:>8} bytes",
        delta_sizes.iter().sum::<usize>() / rounds.max(1)
    );
    println!(
        "RSS: {} KiB before the first collection, {} KiB after (peak {} KiB)",
        rss0,
        status_kib("VmRSS:"),
        status_kib("VmHWM:")
    );
}
