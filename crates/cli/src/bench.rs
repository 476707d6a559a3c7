//! `rampart bench agents`: a load generator that plays N agents against a
//! real console over HTTPS. It enrolls them (one enrollment token each,
//! created with an admin's credentials), then every agent sends a full
//! snapshot followed by a delta every interval, the way a sensor does
//! (crates/model/src/agent.rs), with some churn: processes start and end,
//! connections open and close. It measures what the console sustains:
//! reports per second, the latency of each report (p50, p90, p99, max),
//! answers by status, resyncs and push-backs, and the console's memory when
//! its pid is given.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rampart_model::agent::{
    Connection, Direction, Entity, EntityRef, HostFacts, Interface, ListenSocket, OsInfo,
    PROTOCOL_VERSION, Process, Proto, RESYNC_CODE, Report, ReportAck,
};
use serde_json::{Value, json};

use crate::exit;

/// Benchmarks against a running console.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Simulate N agents reporting to a console and measure ingestion.
    Agents(AgentsArgs),
}

/// `rampart bench agents`.
#[derive(Debug, Args)]
#[command(
    after_help = "The admin's password is read from RAMPART_ADMIN_PASSWORD. The console \
must allow that many enrollments per minute from one address: raise \
console.login_attempts_per_minute for the run (see docs/BENCHMARKS.md)."
)]
pub struct AgentsArgs {
    /// The console's URL (https://HOST:PORT).
    #[arg(long, value_name = "URL")]
    pub console: String,
    /// PEM certificate to trust for the console (its self-signed one).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Admin user that creates the enrollment tokens.
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Number of simulated agents.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seconds between two reports of one agent.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Seconds of measurement after every agent has sent its snapshot.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Processes per simulated host.
    #[arg(long, default_value_t = 100)]
    pub processes: usize,
    /// Processes replaced (and connections moved) per report.
    #[arg(long, default_value_t = 3)]
    pub churn: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub workers: usize,
    /// The console's pid, to sample its memory (VmRSS, VmHWM).
    #[arg(long, value_name = "PID")]
    pub console_pid: Option<u32>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One simulated host.
struct SimAgent {
    index: usize,
    credential: String,
    host: HostFacts,
    processes: BTreeMap<String, Entity>,
    next_pid: u32,
    seq: u64,
    acked: Option<u64>,
    /// What the console acknowledged: deltas are computed against it, so
    /// a report the console pushed back (429) is folded into the next.
    acked_state: BTreeMap<String, Entity>,
    /// The state the report in flight describes.
    in_flight: BTreeMap<String, Entity>,
    due: Instant,
}

impl SimAgent {
    fn new(index: usize, credential: String, processes: usize, due: Instant) -> Self {
        let a = u8::try_from(index / 250 % 250).unwrap_or(0);
        let b = u8::try_from(index % 250).unwrap_or(0);
        let host = HostFacts {
            machine_id: format!("{index:032x}"),
            hostname: format!("bench-{index}"),
            os: OsInfo {
                id: "debian".into(),
                version_id: Some("12".into()),
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            },
            kernel: "6.1.0-bench".into(),
            arch: "x86_64".into(),
            cpus: 4,
            memory_bytes: 8 << 30,
            boot_time: 1_700_000_000,
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: Some(format!("02:00:00:00:{a:02x}:{b:02x}")),
                addresses: vec![format!("10.{a}.{b}.10/16")],
            }],
            cloud: None,
        };
        let mut s = SimAgent {
            index,
            credential,
            host,
            processes: BTreeMap::new(),
            next_pid: 100,
            seq: 0,
            acked: None,
            acked_state: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            due,
        };
        for _ in 0..processes {
            s.spawn();
        }
        s
    }

    fn addr(&self) -> String {
        let a = self.index / 250 % 250;
        let b = self.index % 250;
        format!("10.{a}.{b}.10")
    }

    /// A new process, with a listening socket for every tenth and an
    /// outbound connection for every third; returns the entities added.
    fn spawn(&mut self) -> Vec<Entity> {
        let pid = self.next_pid;
        self.next_pid += 1;
        let key = format!("{pid}:{}", u64::from(pid) * 7);
        let mut out = vec![Entity::Process(Process {
            key: key.clone(),
            pid,
            ppid: 1,
            name: format!("worker-{}", pid % 17),
            exe: Some(format!("/usr/bin/worker-{}", pid % 17)),
            cmdline: vec![
                format!("/usr/bin/worker-{}", pid % 17),
                "--serve".into(),
                format!("--id={pid}"),
            ],
            uid: 1000,
            user: Some("app".into()),
            start_time: 1_700_000_100 + i64::from(pid),
            container_id: None,
        })];
        if pid.is_multiple_of(10) {
            let port = u16::try_from(8000 + pid % 1000).unwrap_or(8000);
            out.push(Entity::Listen(ListenSocket {
                key: format!("tcp:0.0.0.0:{port}"),
                proto: Proto::Tcp,
                address: "0.0.0.0".into(),
                port,
                process_key: Some(key.clone()),
                pid: Some(pid),
            }));
        }
        if pid.is_multiple_of(3) {
            // Peers are other simulated hosts (private) and a few public ones.
            let peer = if pid.is_multiple_of(9) {
                format!("203.0.113.{}", pid % 200)
            } else {
                let other = (self.index + 1 + usize::try_from(pid).unwrap_or(0)) % 250;
                format!("10.0.{other}.10")
            };
            let local_port = u16::try_from(30000 + pid % 30000).unwrap_or(30000);
            let local = self.addr();
            out.push(Entity::Connection(Connection {
                key: format!("tcp:{local}:{local_port}->{peer}:443"),
                proto: Proto::Tcp,
                local_address: local,
                local_port,
                remote_address: peer,
                remote_port: 443,
                state: "ESTABLISHED".into(),
                direction: Direction::Outbound,
                process_key: Some(key),
                pid: Some(pid),
            }));
        }
        for e in &out {
            self.processes.insert(entity_key(e), e.clone());
        }
        out
    }

    /// The oldest process and what it owned.
    fn reap(&mut self) -> Vec<EntityRef> {
        let Some(victim) = self.processes.iter().find_map(|(_, e)| match e {
            Entity::Process(p) => Some(p.key.clone()),
            _ => None,
        }) else {
            return Vec::new();
        };
        let owned: Vec<String> = self
            .processes
            .iter()
            .filter(|(_, e)| match e {
                Entity::Process(p) => p.key == victim,
                Entity::Listen(l) => l.process_key.as_deref() == Some(&victim),
                Entity::Connection(c) => c.process_key.as_deref() == Some(&victim),
                _ => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        owned
            .into_iter()
            .filter_map(|k| self.processes.remove(&k))
            .map(|e| e.entity_ref())
            .collect()
    }

    fn report(&mut self, churn: usize) -> Report {
        self.seq += 1;
        let collected_at = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        )
        .unwrap_or(0);
        let mut r = Report {
            protocol: PROTOCOL_VERSION,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            seq: self.seq,
            base: self.acked,
            collected_at,
            mode: "procfs".into(),
            host: None,
            upsert: Vec::new(),
            remove: Vec::new(),
            runtime: None,
        };
        if self.acked.is_none() {
            r.host = Some(self.host.clone());
            r.upsert = self.processes.values().cloned().collect();
        } else {
            for _ in 0..churn {
                self.reap();
                self.spawn();
            }
            // Against what the console holds, not the last report sent.
            r.remove = self
                .acked_state
                .iter()
                .filter(|(k, _)| !self.processes.contains_key(*k))
                .map(|(_, e)| e.entity_ref())
                .collect();
            r.upsert = self
                .processes
                .iter()
                .filter(|(k, e)| self.acked_state.get(*k) != Some(e))
                .map(|(_, e)| e.clone())
                .collect();
        }
        self.in_flight.clone_from(&self.processes);
        r
    }

    /// The console took the report in flight.
    fn acknowledged(&mut self, seq: u64) {
        self.acked = Some(seq);
        self.acked_state = std::mem::take(&mut self.in_flight);
    }
}

fn entity_key(e: &Entity) -> String {
    let r = e.entity_ref();
    format!("{}/{}", r.kind.as_str(), r.key)
}

/// What the workers count.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    snapshots: u64,
    deltas: u64,
    resyncs: u64,
    transport_errors: u64,
    bytes_sent: u64,
    late: u64,
}

fn agent(args: &AgentsArgs) -> Result<ureq::Agent> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(ca) = &args.ca_cert {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            bail!("{}: no PEM certificate", ca.display());
        }
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
    }
    Ok(ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(args.workers.max(1))
        .build()
        .into())
}

fn post(
    http: &ureq::Agent,
    url: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Result<(u16, Value, Option<u64>)> {
    let mut req = http.post(url).header("content-type", "application/json");
    if let Some(b) = bearer {
        req = req.header("authorization", &format!("Bearer {b}"));
    }
    let mut resp = req
        .send(body.to_string().as_bytes())
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((status, v, retry))
}

/// Enrolls `count` agents: an enrollment token each (admin), then the
/// exchange, waiting when the console pushes back.
fn enroll_all(args: &AgentsArgs, http: &ureq::Agent, session: &str) -> Result<Vec<String>> {
    let base = args.console.trim_end_matches('/');
    let next = AtomicU64::new(0);
    let out = Mutex::new(vec![String::new(); args.count]);
    let failed = Mutex::new(None::<String>);
    std::thread::scope(|s| {
        for _ in 0..args.workers.clamp(1, 16) {
            s.spawn(|| {
                loop {
                    let i =
                        usize::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap_or(usize::MAX);
                    if i >= args.count || lock(&failed).is_some() {
                        return;
                    }
                    match enroll_one(base, http, session, i) {
                        Ok(c) => lock(&out)[i] = c,
                        Err(e) => {
                            *lock(&failed) = Some(format!("{e:#}"));
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        bail!("enrolling the simulated agents: {e}");
    }
    Ok(out
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn enroll_one(base: &str, http: &ureq::Agent, session: &str, i: usize) -> Result<String> {
    let (st, v, _) = post(
        http,
        &format!("{base}/api/v1/agents/enrollment-tokens"),
        Some(session),
        &json!({"name": format!("bench-{i}"), "expires_in_hours": 1}),
    )?;
    if st != 201 {
        bail!("creating an enrollment token: HTTP {st} {v}");
    }
    let token = v["token"].as_str().unwrap_or_default().to_string();
    loop {
        let (st, v, retry) = post(
            http,
            &format!("{base}/api/v1/agents/enroll"),
            None,
            &json!({"enrollment_token": token, "hostname": format!("bench-{i}")}),
        )?;
        match st {
            201 => return Ok(v["credential"].as_str().unwrap_or_default().to_string()),
            429 | 503 => std::thread::sleep(Duration::from_secs(retry.unwrap_or(1).max(1))),
            _ => bail!("enrolling: HTTP {st} {v}"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads VmRSS and VmHWM (KiB) of `pid`.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    #[allow(clippy::cast_precision_loss)]
    let ms = sorted[i.min(sorted.len() - 1)] as f64 / 1000.0;
    ms
}

/// `rampart bench agents`.
#[allow(clippy::too_many_lines)]
pub fn agents(args: &AgentsArgs) -> Result<u8> {
    if args.count == 0 || args.interval == 0 {
        bail!("--count and --interval must be at least 1");
    }
    let password = std::env::var("RAMPART_ADMIN_PASSWORD")
        .context("set RAMPART_ADMIN_PASSWORD to the admin's password")?;
    let http = agent(args)?;
    let base = args.console.trim_end_matches('/').to_string();
    let (st, v, _) = post(
        &http,
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"username": args.username, "password": password}),
    )?;
    if st != 200 {
        bail!("logging in as {}: HTTP {st} {v}", args.username);
    }
    let session = v["token"].as_str().unwrap_or_default().to_string();
    let t0 = Instant::now();
    let creds = enroll_all(args, &http, &session)?;
    let enroll_secs = t0.elapsed().as_secs_f64();

    // Snapshots spread over the first interval, then one report per agent
    // per interval; each worker drives its share of the agents.
    let start = Instant::now();
    let interval = Duration::from_secs(args.interval);
    let workers = args.workers.clamp(1, args.count);
    let mut shares: Vec<Vec<SimAgent>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, c) in creds.into_iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let offset = interval.mul_f64(i as f64 / args.count as f64);
        shares[i % workers].push(SimAgent::new(i, c, args.processes, start + offset));
    }
    let measure_from = start + interval;
    let end = measure_from + Duration::from_secs(args.duration);
    let stop = AtomicBool::new(false);
    let peak = Mutex::new((0u64, 0u64));
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        if let Some(pid) = args.console_pid {
            let peak = &peak;
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some((rss, hwm)) = memory_kib(pid) {
                        let mut p = lock(peak);
                        p.0 = p.0.max(rss);
                        p.1 = p.1.max(hwm);
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        }
        let handles: Vec<_> = shares
            .into_iter()
            .map(|mut share| {
                let http = &http;
                let base = &base;
                s.spawn(move || {
                    let mut t = Tally::default();
                    while let Some(a) = share.iter_mut().min_by_key(|a| a.due) {
                        if a.due >= end {
                            break;
                        }
                        let now = Instant::now();
                        if a.due > now {
                            std::thread::sleep(a.due - now);
                        } else if now - a.due > Duration::from_secs(1) {
                            t.late += 1;
                        }
                        let snapshot = a.acked.is_none();
                        let report = a.report(args.churn);
                        let body = serde_json::to_vec(&report).unwrap_or_default();
                        let sent = Instant::now();
                        let resp = http
                            .post(format!("{base}/api/v1/agent/report"))
                            .header("content-type", "application/json")
                            .header("authorization", &format!("Bearer {}", a.credential))
                            .send(&body[..]);
                        let elapsed = sent.elapsed();
                        let measured = sent >= measure_from;
                        let mut wait = interval;
                        match resp {
                            Err(_) => {
                                t.transport_errors += 1;
                                a.acked = None;
                            }
                            Ok(mut r) => {
                                let st = r.status().as_u16();
                                let retry = r
                                    .headers()
                                    .get("retry-after")
                                    .and_then(|v| v.to_str().ok())
                                    .and_then(|v| v.parse::<u64>().ok());
                                let text = r.body_mut().read_to_string().unwrap_or_default();
                                if measured {
                                    *t.by_status.entry(st).or_default() += 1;
                                    t.latencies_us.push(
                                        u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                                    );
                                    t.bytes_sent += body.len() as u64;
                                    if snapshot {
                                        t.snapshots += 1;
                                    } else {
                                        t.deltas += 1;
                                    }
                                }
                                match st {
                                    200 => {
                                        if let Ok(ack) = serde_json::from_str::<ReportAck>(&text) {
                                            a.acknowledged(ack.acked);
                                            wait = Duration::from_secs(
                                                ack.interval_secs.max(args.interval),
                                            );
                                        }
                                    }
                                    409 if text.contains(RESYNC_CODE) => {
                                        t.resyncs += 1;
                                        a.acked = None;
                                        wait = Duration::from_millis(100);
                                    }
                                    429 | 503 => {
                                        // Not taken: the next delta, still
                                        // against the acknowledged state,
                                        // carries these changes too.
                                        wait = Duration::from_secs(retry.unwrap_or(1).max(1));
                                    }
                                    _ => a.acked = None,
                                }
                            }
                        }
                        a.due = a.due.max(sent) + wait;
                    }
                    t
                })
            })
            .collect();
        let t: Vec<Tally> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        stop.store(true, Ordering::Relaxed);
        t
    });

    let mut all = Tally::default();
    for t in tallies {
        all.latencies_us.extend(t.latencies_us);
        for (k, v) in t.by_status {
            *all.by_status.entry(k).or_default() += v;
        }
        all.snapshots += t.snapshots;
        all.deltas += t.deltas;
        all.resyncs += t.resyncs;
        all.transport_errors += t.transport_errors;
        all.bytes_sent += t.bytes_sent;
        all.late += t.late;
    }
    all.latencies_us.sort_unstable();
    let ok = all.by_status.get(&200).copied().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let per_sec = ok as f64 / args.duration.max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let target = args.count as f64 / args.interval as f64;
    let (rss, hwm) = lock(&peak).to_owned();
    let result = json!({
        "agents": args.count,
        "interval_secs": args.interval,
        "duration_secs": args.duration,
        "processes_per_agent": args.processes,
        "churn_per_report": args.churn,
        "enrollment_secs": (enroll_secs * 10.0).round() / 10.0,
        "reports_ok": ok,
        "reports_per_sec": (per_sec * 10.0).round() / 10.0,
        "target_reports_per_sec": (target * 10.0).round() / 10.0,
        "snapshots": all.snapshots,
        "deltas": all.deltas,
        "resyncs": all.resyncs,
        "by_status": all.by_status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "transport_errors": all.transport_errors,
        "late_reports": all.late,
        "mean_report_bytes": if all.latencies_us.is_empty() { 0 } else { all.bytes_sent / all.latencies_us.len() as u64 },
        "latency_ms": {
            "p50": percentile(&all.latencies_us, 0.50),
            "p90": percentile(&all.latencies_us, 0.90),
            "p99": percentile(&all.latencies_us, 0.99),
            "max": percentile(&all.latencies_us, 1.0),
        },
        "console_rss_peak_mib": rss / 1024,
        "console_hwm_mib": hwm / 1024,
    });
    if args.json {
        crate::output::emit_json(None, &result)?;
    } else {
        let mut text = String::new();
        for (k, v) in result.as_object().into_iter().flatten() {
            text.push_str(&format!("{k:<24} {v}\n"));
        }
        crate::output::emit(None, &text)?;
    }
    let failed = all.transport_errors > 0 || ok == 0;
    Ok(if failed { exit::ERROR } else { exit::OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applying each delta to the previous state gives the agent's state:
    /// the simulated agents send what a real sensor would.
    #[test]
    fn deltas_replay_to_the_state() {
        let mut a = SimAgent::new(7, String::new(), 40, Instant::now());
        let snap = a.report(3);
        assert!(snap.base.is_none() && snap.host.is_some());
        let mut state: BTreeMap<String, Entity> = snap
            .upsert
            .iter()
            .map(|e| (entity_key(e), e.clone()))
            .collect();
        a.acknowledged(snap.seq);
        for i in 0..10 {
            let d = a.report(3);
            assert_eq!(d.base, a.acked);
            let gone = d
                .remove
                .iter()
                .filter(|r| r.kind == rampart_model::agent::EntityKind::Process)
                .count();
            assert!(gone == 3 || gone == 6, "{gone}");
            for r in &d.remove {
                assert!(
                    state
                        .remove(&format!("{}/{}", r.kind.as_str(), r.key))
                        .is_some()
                );
            }
            for e in &d.upsert {
                state.insert(entity_key(e), e.clone());
            }
            a.acknowledged(d.seq);
            if i % 3 == 0 {
                // A report the console pushes back is never applied; the
                // next delta must still lead from the acknowledged state.
                let _lost = a.report(3);
            }
        }
        assert_eq!(state, a.acked_state);
    }
}
