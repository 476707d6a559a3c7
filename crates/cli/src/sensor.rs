//! `rampart sensor`: wires the sensor library to the command line (state
//! directory, signals, the child-process job executor), and
//! `rampart sensor-job-exec`, the small trampoline that lowers a scan job's
//! priority and caps its memory before running it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{SigSet, Signal};
use rampart_sensor::kube::KubeSetup;
use rampart_sensor::{AgentConfig, CollectorConfig, Stop};

/// The longest one Kubernetes API request may take.
const KUBE_TIMEOUT: Duration = Duration::from_secs(15);

use crate::args::{SensorArgs, SensorJobExecArgs};
use crate::exit;
use crate::jobs::ChildExecutor;

/// /var/lib/rampart/sensor for root; else $XDG_STATE_HOME/rampart/sensor or
/// ~/.local/state/rampart/sensor.
fn default_state_dir() -> Option<PathBuf> {
    if rustix::process::geteuid().is_root() {
        return Some(PathBuf::from("/var/lib/rampart/sensor"));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("rampart").join("sensor"))
}

/// Stops `stop` on the first SIGINT or SIGTERM. The signals are blocked in
/// this thread before any other starts (threads inherit the mask), and one
/// thread waits for them; child processes start with an empty mask.
fn stop_on_signals(stop: &Stop) -> Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block().context("blocking SIGINT and SIGTERM")?;
    let stop = stop.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                tracing::info!("{sig}: stopping");
                stop.stop();
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// Runs the sensor until a signal.
pub fn run(a: &SensorArgs) -> Result<u8> {
    let state_dir = match &a.state_dir {
        Some(d) => d.clone(),
        None => {
            default_state_dir().context("no state directory: HOME is unset; give --state-dir")?
        }
    };
    let stop = Stop::new();
    stop_on_signals(&stop)?;
    let mut collector = CollectorConfig::live();
    collector.cloud_metadata_url = (!a.no_cloud_metadata).then(|| a.metadata_url.clone());
    let kube = rampart_sensor::kube::setup(
        a.kubeconfig.as_deref(),
        a.kube_cluster_objects,
        a.kube_cluster.clone(),
        |k| std::env::var(k).ok(),
        Path::new(rampart_sensor::kube::SERVICE_ACCOUNT_DIR),
        KUBE_TIMEOUT,
    )
    .context("Kubernetes API")?;
    let kube_line = match kube {
        KubeSetup::None => None,
        KubeSetup::NotCollecting { origin } => Some(format!(
            "Kubernetes API via {origin}: cluster objects not collected (--kube-cluster-objects)"
        )),
        KubeSetup::Collecting(k) => {
            let line = format!(
                "Kubernetes API via {}: Services and Ingresses of cluster {} every {} reports",
                k.api.origin, k.api.cluster, k.every
            );
            collector.kube = Some(k);
            Some(line)
        }
    };
    let cfg = AgentConfig {
        console_url: a.console.clone(),
        enroll_token: a.enroll_token.clone().filter(|t| !t.is_empty()),
        state_dir: state_dir.clone(),
        interval: Duration::from_secs(a.interval),
        ca_cert: a.ca_cert.clone(),
        max_jobs: a.max_jobs,
        job_poll: Duration::from_secs(a.interval.min(10)),
        collector,
    };
    let exe = std::env::current_exe().context("finding the rampart executable for scan jobs")?;
    let executor = Arc::new(ChildExecutor {
        exe,
        work_dir: state_dir.join("jobs"),
        nice: a.job_nice,
        memory_limit: a.job_memory_mib.saturating_mul(1 << 20),
    });
    eprintln!(
        "sensor reporting to {} every {} s (mode: {}; state in {})",
        a.console,
        a.interval,
        rampart_sensor::MODE,
        state_dir.display()
    );
    if let Some(l) = kube_line {
        eprintln!("{l}");
    }
    rampart_sensor::run(&cfg, executor, &stop).context("sensor")?;
    Ok(exit::OK)
}

/// Lowers the priority, caps the address space, then becomes the command.
pub fn job_exec(a: &SensorJobExecArgs) -> Result<u8> {
    rustix::process::setpriority_process(None, a.nice).context("setpriority")?;
    let limit = rustix::process::Rlimit {
        current: Some(a.memory_limit),
        maximum: Some(a.memory_limit),
    };
    rustix::process::setrlimit(rustix::process::Resource::As, limit)
        .context("setrlimit(RLIMIT_AS)")?;
    let Some((program, args)) = a.command.split_first() else {
        bail!("no command to run");
    };
    let err = std::process::Command::new(program).args(args).exec();
    Err(err).with_context(|| format!("running {}", program.to_string_lossy()))
}
