//! The Rampart console: an HTTPS API with users, roles, API tokens and an
//! audit log, on SQLite (embedded) or PostgreSQL.
//!
//! [`start`] runs a console in the current Tokio runtime; the `rampart
//! console` command is a thin wrapper around it.

pub mod addr;
pub mod api;
pub mod auth;
pub mod clock;
pub mod cron;
pub mod crypto;
pub mod error;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod runner;
pub mod scheduler;
mod server;
pub mod store;
pub mod threat;
pub mod tls;
pub mod topology;
pub mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::{ConsoleError, StoreError};
pub use server::{Console, InitialAdmin, start};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

/// Everything a console needs to start.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// Address to serve HTTPS on.
    pub listen: SocketAddr,
    /// Where the SQLite file and the generated certificate live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL instead of SQLite.
    pub database_url: Option<String>,
    /// The CA (PEM) that signed the PostgreSQL server's certificate; default:
    /// the system bundle. `sslmode=disable` in the URL turns TLS off.
    pub database_ca: Option<PathBuf>,
    /// A certificate chain (PEM) to serve instead of the generated one.
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// The first admin's name.
    pub admin_username: String,
    /// The first admin's password; generated (and reported once) if absent.
    pub admin_password: Option<String>,
    /// How long a login session lasts, in seconds.
    pub session_ttl_secs: i64,
    /// Failed logins in a row that lock an account.
    pub lockout_threshold: i64,
    /// How long a lock lasts, in seconds.
    pub lockout_secs: i64,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_minute: u32,
    /// A running scan without a heartbeat for this long is retried or
    /// timed out, in seconds.
    pub scan_heartbeat_timeout_secs: i64,
    /// A queued scan nobody takes for this long times out, in seconds.
    pub scan_queue_timeout_secs: i64,
    /// Attempts a scan gets when its runner goes silent.
    pub scan_max_attempts: i64,
    /// At most this many PostgreSQL connections at once (default 8).
    pub database_pool_size: usize,
    /// The key (base64 of 32 bytes) that encrypts registry credentials at
    /// rest; default: generated into `DATA_DIR/secret.key`.
    pub secret_key: Option<String>,
    /// Earlier keys, still accepted to decrypt (key rotation).
    pub old_secret_keys: Vec<String>,
    /// How often the scheduler looks for due schedules, in seconds.
    pub scheduler_interval_secs: u64,
    /// What runs central (registry) scans; without one they stay queued
    /// and time out (`no central scanner configured`).
    pub executor: Option<Arc<dyn runner::ScanExecutor>>,
    /// Topology: report interval, ingestion limit, inactivity and retention.
    pub topology: TopologyConfig,
    /// How often the threat analysis checks whether the data changed (and
    /// recomputes if it did), in milliseconds: 100-3600000 (default 5000).
    pub threat_refresh_millis: u64,
}

/// How agents report and how long what they report is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopologyConfig {
    /// Seconds between an agent's reports (the ack's `interval_secs`).
    pub report_interval_secs: u64,
    /// Reports ingested at once; more are answered `429` with `Retry-After`.
    pub max_concurrent_reports: usize,
    /// A node or edge not reported for this long becomes inactive.
    pub node_inactive_secs: i64,
    /// An inactive node or edge is removed after this long without a report.
    pub node_remove_secs: i64,
    /// Findings of a removed node are kept this many days, then deleted
    /// with the node.
    pub finding_retention_days: i64,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            report_interval_secs: 10,
            max_concurrent_reports: 32,
            node_inactive_secs: 60,
            node_remove_secs: 7 * 86_400,
            finding_retention_days: 90,
        }
    }
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(store::redact_url),
            )
            .field("database_ca", &self.database_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("admin_username", &self.admin_username)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("lockout_threshold", &self.lockout_threshold)
            .field("lockout_secs", &self.lockout_secs)
            .field("login_attempts_per_minute", &self.login_attempts_per_minute)
            .field(
                "scan_heartbeat_timeout_secs",
                &self.scan_heartbeat_timeout_secs,
            )
            .field("scan_queue_timeout_secs", &self.scan_queue_timeout_secs)
            .field("scan_max_attempts", &self.scan_max_attempts)
            .field("database_pool_size", &self.database_pool_size)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("old_secret_keys", &self.old_secret_keys.len())
            .field("scheduler_interval_secs", &self.scheduler_interval_secs)
            .field("threat_refresh_millis", &self.threat_refresh_millis)
            .field("executor", &self.executor)
            .field("topology", &self.topology)
            .finish()
    }
}

impl ConsoleConfig {
    /// The defaults, with the given data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        ConsoleConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            data_dir,
            database_url: None,
            database_ca: None,
            tls_cert: None,
            tls_key: None,
            admin_username: "admin".into(),
            admin_password: None,
            session_ttl_secs: 12 * 3600,
            lockout_threshold: 5,
            lockout_secs: 15 * 60,
            login_attempts_per_minute: 30,
            scan_heartbeat_timeout_secs: 120,
            scan_queue_timeout_secs: 24 * 3600,
            scan_max_attempts: 3,
            database_pool_size: store::DEFAULT_POOL_SIZE,
            secret_key: None,
            old_secret_keys: Vec::new(),
            scheduler_interval_secs: 10,
            executor: None,
            topology: TopologyConfig::default(),
            threat_refresh_millis: 5000,
        }
    }

    /// Refuses values that cannot work.
    pub fn validate(&self) -> Result<(), ConsoleError> {
        if let Some(p) = &self.admin_password
            && p.chars().count() < auth::MIN_PASSWORD_LEN
        {
            return Err(ConsoleError::Config(format!(
                "the admin password must have at least {} characters",
                auth::MIN_PASSWORD_LEN
            )));
        }
        if self.session_ttl_secs < 60 {
            return Err(ConsoleError::Config(
                "sessions must last at least 60 seconds".into(),
            ));
        }
        if self.lockout_threshold < 1 || self.lockout_secs < 1 {
            return Err(ConsoleError::Config(
                "the lockout threshold and duration must be positive".into(),
            ));
        }
        if self.login_attempts_per_minute < 1 {
            return Err(ConsoleError::Config(
                "allow at least one login attempt per minute".into(),
            ));
        }
        if self.scan_heartbeat_timeout_secs < 1
            || self.scan_queue_timeout_secs < 1
            || self.scan_max_attempts < 1
        {
            return Err(ConsoleError::Config(
                "scan timeouts and attempts must be positive".into(),
            ));
        }
        if !(1..=256).contains(&self.database_pool_size) {
            return Err(ConsoleError::Config(
                "the database pool size is 1-256 connections".into(),
            ));
        }
        if !(100..=3_600_000).contains(&self.threat_refresh_millis) {
            return Err(ConsoleError::Config(
                "the threat refresh interval must be between 100 ms and 1 hour".into(),
            ));
        }
        if !(1..=3600).contains(&self.scheduler_interval_secs) {
            return Err(ConsoleError::Config(
                "the scheduler interval is 1-3600 seconds".into(),
            ));
        }
        let t = &self.topology;
        if t.report_interval_secs < 1
            || t.max_concurrent_reports < 1
            || t.node_inactive_secs < 1
            || t.finding_retention_days < 1
        {
            return Err(ConsoleError::Config(
                "the report interval, report limit, inactivity time and finding retention \
                 must be positive"
                    .into(),
            ));
        }
        if t.node_remove_secs < t.node_inactive_secs {
            return Err(ConsoleError::Config(
                "node_remove_secs must not be shorter than node_inactive_secs".into(),
            ));
        }
        if self.admin_username.is_empty() {
            return Err(ConsoleError::Config("the admin user name is empty".into()));
        }
        Ok(())
    }
}
