//! `rampart up`: a console on its embedded store plus a sensor for this
//! machine, enrolled automatically, in one process, until interrupted.
//!
//! The console starts first (as `rampart console` would, with the same
//! options). On the first run an enrollment token is created directly in the
//! store (audited as `enrollment_token.create` by `rampart up`) and the
//! sensor, whose state lives in `DATA_DIR/sensor`, spends it over HTTPS like
//! any other sensor; later runs reuse the credential kept there. The sensor
//! trusts the console's own certificate. On Ctrl-C or SIGTERM the sensor
//! stops first (a running scan job ends as failed, with the reason), then
//! the console lets open requests finish.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use rampart_console::InitialAdmin;
use rampart_console::auth::{new_secret, secret_hash, secret_prefix};
use rampart_console::store::NewAudit;
use rampart_console::store::agents::NewEnrollment;
use rampart_sensor::{AgentConfig, CollectorConfig, Stop};

use crate::args::ConsoleArgs;
use crate::config::ConsoleFileConfig;
use crate::exit;
use crate::jobs::ChildExecutor;

/// `rampart up`.
#[derive(Debug, Args)]
#[command(
    after_help = "The console's options and variables apply (RAMPART_ADMIN_PASSWORD sets \
the first admin's password; a generated one is printed once). Scans use the advisory database \
in RAMPART_DB_DIR (see `rampart db update`). Stop with Ctrl-C or SIGTERM."
)]
pub struct UpArgs {
    #[command(flatten)]
    pub console: ConsoleArgs,
    /// Seconds between the local sensor's reports.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub interval: u64,
    /// Scan jobs the local sensor runs at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_jobs: usize,
    /// Do not probe the cloud instance metadata service.
    #[arg(long)]
    pub no_cloud_metadata: bool,
}

/// The address the local sensor dials: the listen address, or loopback
/// when the console listens on every interface.
fn dial_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// An enrollment token for the local sensor, created in the store.
async fn local_enrollment_token(store: &rampart_console::store::Store) -> Result<String> {
    let now = rampart_console::clock::now();
    let secret = new_secret("rme").context("generating an enrollment token")?;
    let info = store
        .create_enrollment_token(
            &NewEnrollment {
                name: "rampart up: local sensor",
                token_hash: &secret_hash(&secret),
                prefix: &secret_prefix(&secret),
                created_by: None,
                created_by_name: "rampart up",
                expires_at: now + 3600,
            },
            now,
        )
        .await
        .context("creating the local sensor's enrollment token")?;
    store
        .audit(&NewAudit {
            at: now,
            actor: "rampart up".into(),
            action: "enrollment_token.create".into(),
            target: Some(format!("enrollment_token:{}", info.id)),
            outcome: "success".into(),
            detail: Some(serde_json::json!({"name": info.name, "expires_at": info.expires_at})),
            ..NewAudit::default()
        })
        .await
        .context("auditing the local sensor's enrollment token")?;
    Ok(secret)
}

/// Runs a console and a local sensor until a signal.
#[allow(clippy::too_many_lines)]
pub fn run(file: &ConsoleFileConfig, a: &UpArgs, quiet: bool) -> Result<u8> {
    let cfg = crate::console::config(file, &a.console)?;
    let data_dir = cfg.data_dir.clone();
    let state_dir = data_dir.join("sensor");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rampart-up")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let console = rampart_console::start(cfg)
            .await
            .with_context(|| format!("starting the console (data in {})", data_dir.display()))?;
        crate::console::announce(&console, quiet);
        let url = format!("https://{}", dial_addr(console.local_addr()));

        // The sensor: enrolled once, its credential kept in DATA_DIR/sensor.
        let enrolled = rampart_sensor::agent::load_credential(&state_dir)
            .with_context(|| format!("reading the sensor state in {}", state_dir.display()))?
            .filter(|c| c.console_url == url);
        let enroll_token = if enrolled.is_some() {
            None
        } else {
            Some(local_enrollment_token(console.store()).await?)
        };
        let tls = console.tls();
        let mut collector = CollectorConfig::live();
        if a.no_cloud_metadata {
            collector.cloud_metadata_url = None;
        }
        let sensor_cfg = AgentConfig {
            console_url: url.clone(),
            enroll_token,
            state_dir: state_dir.clone(),
            interval: Duration::from_secs(a.interval),
            // A generated certificate is its own trust anchor; a configured
            // one is trusted through the system's roots.
            ca_cert: tls.self_signed.then(|| tls.cert_path.clone()),
            max_jobs: a.max_jobs,
            job_poll: Duration::from_secs(a.interval.min(10)),
            collector,
        };
        let exe = std::env::current_exe().context("finding the rampart executable")?;
        let executor = Arc::new(ChildExecutor {
            exe,
            work_dir: state_dir.join("jobs"),
            nice: 10,
            memory_limit: 2 << 30,
        });
        let stop = Stop::new();
        let sensor = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("sensor".into())
                .spawn(move || rampart_sensor::run(&sensor_cfg, executor, &stop))
                .context("starting the sensor")?
        };
        let admin = match console.initial_admin() {
            InitialAdmin::Generated { username, .. } => {
                format!("user {username:?} with the password printed above")
            }
            InitialAdmin::FromConfig { username } => {
                format!("user {username:?} with the password in RAMPART_ADMIN_PASSWORD")
            }
            InitialAdmin::Existing => "the users created on an earlier start".to_string(),
        };
        eprintln!(
            "Rampart is up: open {url}/ and log in as {admin}.\n\
             A sensor for this machine reports every {} s (state in {}).\n\
             Ctrl-C stops both.",
            a.interval,
            state_dir.display()
        );

        // Until a signal, or until the sensor stops by itself (revoked,
        // unreachable at start...).
        let sensor_done = {
            let stop = stop.clone();
            tokio::task::spawn_blocking(move || {
                let r = sensor.join();
                stop.stop();
                r
            })
        };
        tokio::pin!(sensor_done);
        let early = tokio::select! {
            why = crate::console::stop_signal() => {
                let why = why?;
                if !quiet {
                    eprintln!("{why}: stopping the sensor, then the console");
                }
                stop.stop();
                None
            }
            r = &mut sensor_done => Some(r),
        };
        let (result, by_itself) = match early {
            Some(r) => (r, true),
            None => (sensor_done.await, false),
        };
        console.shutdown().await;
        match result {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                if by_itself {
                    bail!("the sensor stopped: {e:#}");
                }
                return Err(anyhow::Error::new(e).context("the sensor"));
            }
            Ok(Err(_)) => bail!("the sensor thread panicked"),
            Err(e) => bail!("waiting for the sensor: {e}"),
        }
        Ok(exit::OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sensor_dials_loopback_for_a_wildcard_listener() {
        let a: SocketAddr = "0.0.0.0:8443".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dial_addr(a).to_string(), "127.0.0.1:8443");
        let a: SocketAddr = "[::]:9000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dial_addr(a).to_string(), "[::1]:9000");
        let a: SocketAddr = "10.0.0.5:8443".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dial_addr(a), a);
    }
}
