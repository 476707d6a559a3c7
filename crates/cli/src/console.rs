//! `rampart console`: builds the console's configuration (flags, then
//! RAMPART_ variables, then the file, then defaults), runs it until Ctrl-C
//! or SIGTERM, and says on stderr where it listens.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rampart_console::{ConsoleConfig, InitialAdmin};

use crate::args::ConsoleArgs;
use crate::config::ConsoleFileConfig;
use crate::exit;

/// $XDG_DATA_HOME/rampart/console, or ~/.local/share/rampart/console.
fn default_data_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share"))
        })?;
    Some(base.join("rampart").join("console"))
}

/// The console's configuration from every source.
pub fn config(file: &ConsoleFileConfig, a: &ConsoleArgs) -> Result<ConsoleConfig> {
    let data_dir = match a.data_dir.clone().or_else(|| file.data_dir.clone()) {
        Some(d) => d,
        None => default_data_dir()
            .context("no data directory: HOME and XDG_DATA_HOME are unset; give --data-dir")?,
    };
    let mut cfg = ConsoleConfig::new(data_dir);
    if let Some(l) = a.listen.or(file.listen) {
        cfg.listen = l;
    }
    cfg.database_url = a
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
        .filter(|u| !u.is_empty());
    cfg.database_ca = a.database_ca.clone().or_else(|| file.database_ca.clone());
    match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => {
            cfg.tls_cert = Some(c.clone());
            cfg.tls_key = Some(k.clone());
        }
        _ => {
            cfg.tls_cert.clone_from(&file.tls_cert);
            cfg.tls_key.clone_from(&file.tls_key);
        }
    }
    cfg.admin_username.clone_from(&file.admin_username);
    cfg.admin_password = std::env::var("RAMPART_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    cfg.session_ttl_secs = file.session_ttl_secs;
    cfg.lockout_threshold = file.lockout_threshold;
    cfg.lockout_secs = file.lockout_secs;
    cfg.login_attempts_per_minute = file.login_attempts_per_minute;
    cfg.scan_heartbeat_timeout_secs = file.scan_heartbeat_timeout_secs;
    cfg.scan_queue_timeout_secs = file.scan_queue_timeout_secs;
    cfg.scan_max_attempts = file.scan_max_attempts;
    cfg.database_pool_size = file.database_pool_size;
    cfg.scheduler_interval_secs = file.scheduler_interval_secs;
    cfg.threat_refresh_millis = file.threat_refresh_millis;
    cfg.old_secret_keys.clone_from(&file.old_secret_keys);
    cfg.secret_key = std::env::var("RAMPART_SECRET_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    cfg.topology = rampart_console::TopologyConfig {
        report_interval_secs: file.report_interval_secs,
        max_concurrent_reports: file.max_concurrent_reports,
        node_inactive_secs: file.node_inactive_secs,
        node_remove_secs: file.node_remove_secs,
        finding_retention_days: file.finding_retention_days,
    };
    // Central (registry) scans run as child `rampart scan` processes.
    let exe = std::env::current_exe().context("finding the rampart executable for scans")?;
    cfg.executor = Some(std::sync::Arc::new(crate::central::CentralExecutor::new(
        &exe,
        &cfg.data_dir.join("jobs"),
    )));
    Ok(cfg)
}

pub async fn stop_signal() -> Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map(|()| "interrupt").context("waiting for Ctrl-C"),
        _ = term.recv() => Ok("SIGTERM"),
    }
}

/// Runs the console until it is told to stop.
pub fn run(file: &ConsoleFileConfig, a: &ConsoleArgs, quiet: bool) -> Result<u8> {
    let cfg = config(file, a)?;
    let data_dir = cfg.data_dir.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rampart-console")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let console = rampart_console::start(cfg)
            .await
            .with_context(|| format!("starting the console (data in {})", data_dir.display()))?;
        announce(&console, quiet);
        let why = stop_signal().await?;
        if !quiet {
            eprintln!("{why}: stopping");
        }
        console.shutdown().await;
        Ok(exit::OK)
    })
}

/// Says on stderr how to reach the console: the first admin's password
/// when this start generated it (even with `quiet`: it is shown once), the
/// certificate, the address.
pub fn announce(console: &rampart_console::Console, quiet: bool) {
    {
        let tls = console.tls();
        match console.initial_admin() {
            InitialAdmin::Generated { username, password } => {
                // Shown even with --quiet: it is the only time it is shown.
                eprintln!(
                    "created user {username:?} with the generated password: {password}\n\
                     (shown once; change it with PUT /api/v1/auth/password)"
                );
            }
            InitialAdmin::FromConfig { username } if !quiet => {
                eprintln!("created user {username:?} with the password in RAMPART_ADMIN_PASSWORD");
            }
            _ => {}
        }
        if !quiet {
            if tls.self_signed {
                let state = if tls.generated_now {
                    "generated"
                } else {
                    "reused"
                };
                eprintln!(
                    "TLS: self-signed certificate {} ({state}); clients must trust it",
                    tls.cert_path.display()
                );
            }
            eprintln!(
                "console listening on https://{} ({} database)",
                console.local_addr(),
                console.store().kind().name()
            );
        }
    }
}
