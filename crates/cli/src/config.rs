//! The configuration file: strict TOML (unknown keys are errors), every key
//! optional with a default, overridden by `RAMPART_` variables and flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rampart_model::{ScannerKind, Severity};
use rampart_source::Limits;
use rampart_source::walker::WalkOptions;
use serde::Deserialize;

use crate::args::Format;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub output: OutputConfig,
    pub scan: ScanConfig,
    pub walk: WalkOptions,
    pub limits: Limits,
    pub registry: RegistryConfig,
    pub console: ConsoleFileConfig,
    pub malware: MalwareConfig,
    pub posture: PostureConfig,
}

/// `[console]`: the server's settings (flags and RAMPART_CONSOLE_* win).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleFileConfig {
    pub listen: Option<std::net::SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub admin_username: String,
    pub session_ttl_secs: i64,
    pub lockout_threshold: i64,
    pub lockout_secs: i64,
    pub login_attempts_per_minute: u32,
    pub scan_heartbeat_timeout_secs: i64,
    pub scan_queue_timeout_secs: i64,
    pub scan_max_attempts: i64,
    pub database_pool_size: usize,
    pub scheduler_interval_secs: u64,
    pub threat_refresh_millis: u64,
    pub old_secret_keys: Vec<String>,
    pub report_interval_secs: u64,
    pub max_concurrent_reports: usize,
    pub node_inactive_secs: i64,
    pub node_remove_secs: i64,
    pub finding_retention_days: i64,
}

impl Default for ConsoleFileConfig {
    fn default() -> Self {
        let d = rampart_console::ConsoleConfig::new(PathBuf::new());
        ConsoleFileConfig {
            listen: None,
            data_dir: None,
            database_url: None,
            database_ca: None,
            tls_cert: None,
            tls_key: None,
            admin_username: d.admin_username,
            session_ttl_secs: d.session_ttl_secs,
            lockout_threshold: d.lockout_threshold,
            lockout_secs: d.lockout_secs,
            login_attempts_per_minute: d.login_attempts_per_minute,
            scan_heartbeat_timeout_secs: d.scan_heartbeat_timeout_secs,
            scan_queue_timeout_secs: d.scan_queue_timeout_secs,
            scan_max_attempts: d.scan_max_attempts,
            database_pool_size: d.database_pool_size,
            scheduler_interval_secs: d.scheduler_interval_secs,
            threat_refresh_millis: d.threat_refresh_millis,
            old_secret_keys: d.old_secret_keys,
            report_interval_secs: d.topology.report_interval_secs,
            max_concurrent_reports: d.topology.max_concurrent_reports,
            node_inactive_secs: d.topology.node_inactive_secs,
            node_remove_secs: d.topology.node_remove_secs,
            finding_retention_days: d.topology.finding_retention_days,
        }
    }
}

/// `[posture]`: which benchmarks run by default, extra policies, checks
/// turned off, and the kubeconfig for `k8s:` targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureConfig {
    /// Benchmarks run when `--benchmark` is not given; empty: the ones that
    /// apply to the target.
    pub benchmarks: Vec<String>,
    /// Policy directories always loaded (`--policies` adds more).
    pub policies: Vec<PathBuf>,
    /// Check ids reported as skipped ("disabled by configuration");
    /// `RMP-HOST-SSH-*` matches a prefix.
    pub disabled_checks: Vec<String>,
    /// Kubeconfig for `k8s:CONTEXT` targets (`--kubeconfig` wins).
    pub kubeconfig: Option<PathBuf>,
}

/// `[malware]`: rule sources, the compiled rule cache, scan limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MalwareConfig {
    /// Use the bundled rule pack (`--no-default-rules` turns it off).
    pub default_rules: bool,
    /// Rule files or directories always loaded (`--rules` adds more).
    pub rules: Vec<PathBuf>,
    /// Rule ids whose findings are not reported; `PREFIX*` matches a prefix.
    pub disabled_rules: Vec<String>,
    /// Cache compiled rules on disk.
    pub cache: bool,
    /// Where (default `$XDG_CACHE_HOME/rampart/malware`).
    pub cache_dir: Option<PathBuf>,
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Only files of these types are matched (elf, pe, macho, script,
    /// archive, text, binary); unset: every type.
    pub file_types: Option<Vec<rampart_malware::FileType>>,
    /// Seconds one file (with its archive members) may take; 0: no limit.
    pub file_timeout_secs: u64,
    /// How many archives deep to look.
    pub archive_depth: usize,
    /// Scanning threads; 0 = one per core.
    pub threads: usize,
}

impl Default for MalwareConfig {
    fn default() -> Self {
        let lib = rampart_malware::ScanOptions::default();
        MalwareConfig {
            default_rules: true,
            rules: Vec::new(),
            disabled_rules: Vec::new(),
            cache: true,
            cache_dir: None,
            max_file_size: lib.max_file_bytes,
            file_types: None,
            file_timeout_secs: lib.file_timeout.map_or(0, |d| d.as_secs()),
            archive_depth: lib.archive_depth,
            threads: lib.threads,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    pub format: Option<Format>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    pub scanners: Option<Vec<ScannerKind>>,
    pub fail_on: Option<Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    pub insecure: bool,
    pub docker_config: Option<PathBuf>,
    pub use_docker_config: bool,
    pub timeout_secs: u64,
    pub download_timeout_secs: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure: false,
            docker_config: None,
            use_docker_config: true,
            timeout_secs: 60,
            download_timeout_secs: 3600,
        }
    }
}

/// Environment variables Rampart reads; any other `RAMPART_` variable is an
/// error, so a typo is noticed instead of silently ignored.
pub const KNOWN_ENV: &[&str] = &[
    "RAMPART_CONFIG",
    "RAMPART_FORMAT",
    "RAMPART_FAIL_ON",
    "RAMPART_PLATFORM",
    "RAMPART_INSECURE_REGISTRY",
    "RAMPART_REGISTRY_USERNAME",
    "RAMPART_REGISTRY_PASSWORD",
    "RAMPART_LOG",
    "RAMPART_DB_DIR",
    "RAMPART_CONSOLE_LISTEN",
    "RAMPART_CONSOLE_DATA_DIR",
    "RAMPART_CONSOLE_TLS_CERT",
    "RAMPART_CONSOLE_TLS_KEY",
    "RAMPART_DATABASE_URL",
    "RAMPART_DATABASE_CA",
    "RAMPART_ADMIN_PASSWORD",
    "RAMPART_SENSOR_CONSOLE",
    "RAMPART_SENSOR_ENROLL_TOKEN",
    "RAMPART_SENSOR_STATE_DIR",
    "RAMPART_SENSOR_INTERVAL",
    "RAMPART_SENSOR_CA_CERT",
    "RAMPART_SENSOR_MAX_JOBS",
    "RAMPART_SENSOR_JOB_MEMORY_MIB",
    "RAMPART_SENSOR_METADATA_URL",
    "RAMPART_CONSOLE",
    "RAMPART_CA_CERT",
    "RAMPART_TOKEN",
];

/// Refuses unknown `RAMPART_` variables.
pub fn check_env(vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    let mut unknown: Vec<String> = vars
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("RAMPART_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    bail!(
        "unknown environment variable(s) {}; known: {}",
        unknown.join(", "),
        KNOWN_ENV.join(", ")
    )
}

/// The default configuration file location.
pub fn default_path() -> Option<PathBuf> {
    // An empty XDG_CONFIG_HOME counts as unset (XDG base directory spec).
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("rampart").join("config.toml"))
}

/// Loads `explicit` (which must exist) or the default file (if it exists).
pub fn load(explicit: Option<&Path>) -> Result<Config> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.is_file() => p,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    parse(&text).with_context(|| format!("in config file {}", path.display()))
}

/// Parses configuration text.
pub fn parse(text: &str) -> Result<Config> {
    Ok(toml::from_str(text)?)
}

/// The commented template `rampart init` writes. Every value shown is the
/// default; a test parses it so it cannot drift from the real keys.
pub const TEMPLATE: &str = r#"# Rampart configuration. Every key is optional; the values shown are the
# defaults (a commented-out key has no default unless its comment gives one).
# Precedence: command-line flags, then RAMPART_* environment variables, then
# this file, then built-in defaults. Unknown keys are errors.

[output]
# Report format: "table" or "json" (RAMPART_FORMAT, --format).
# format = "table"

[scan]
# Scanners `rampart scan` runs: "vuln", "secret", "malware", "posture".
# scanners = ["vuln", "secret", "malware", "posture"]
# Exit with code 1 when a finding is at or above this severity
# (RAMPART_FAIL_ON, --fail-on): unknown, info, low, medium, high, critical.
# No default: without it, findings never change the exit code.
# fail_on = "high"

[walk]
# gitignore-style patterns left out of directory, rootfs and host walks;
# --exclude adds to this list.
exclude = []
# Absolute directories never entered (the host target adds /proc, /sys,
# /dev, /run and pseudo or network file systems itself).
exclude_paths = []
# Skip files larger than this many bytes (omit for no limit).
# max_file_size = 104857600
# Directories deeper than this are not entered.
max_depth = 256
# Honour .gitignore files in scanned trees (ignored files can hold secrets).
respect_gitignore = false
# Walker threads; 0 = one per core.
threads = 0

[limits]
# Bounds against hostile images. Raise them only for genuine images.
max_metadata_bytes = 16777216        # manifests, indexes, configs
max_blob_bytes = 34359738368         # one compressed layer (32 GiB)
max_layer_bytes = 68719476736        # one uncompressed layer (64 GiB)
max_compression_ratio = 200          # uncompressed/compressed, checked...
ratio_check_after = 536870912        # ...after this many uncompressed bytes
max_entries_per_layer = 5000000
max_path_bytes = 4096
max_depth = 256
max_layers = 512
max_index_depth = 4

[registry]
# Use plain HTTP (RAMPART_INSECURE_REGISTRY, --insecure-registry); either
# the flag or this key turns it on.
insecure = false
# Read credentials from a Docker config file (default ~/.docker/config.json,
# or $DOCKER_CONFIG/config.json).
use_docker_config = true
# docker_config = "/home/me/.docker/config.json"
# Connect and response timeout in seconds.
timeout_secs = 60
# Longest time one blob download may take, in seconds.
download_timeout_secs = 3600

[console]
# HTTPS address of `rampart console` (RAMPART_CONSOLE_LISTEN, --listen).
# listen = "127.0.0.1:8443"
# SQLite database and generated certificate (RAMPART_CONSOLE_DATA_DIR,
# --data-dir); default $XDG_DATA_HOME/rampart/console.
# data_dir = "/var/lib/rampart/console"
# PostgreSQL instead of SQLite (RAMPART_DATABASE_URL, --database-url).
# database_url = "postgres://rampart:password@db.example/rampart"
# TLS to PostgreSQL is used whenever the server offers it, its certificate
# verified against this CA file (RAMPART_DATABASE_CA, --database-ca; default
# the system bundle); add ?sslmode=disable to the URL for plain TCP.
# database_ca = "/etc/rampart/db-ca.pem"
# A certificate and key (PEM) instead of the generated self-signed pair.
# tls_cert = "/etc/rampart/cert.pem"
# tls_key = "/etc/rampart/key.pem"
# Name of the admin created on first start; its password comes from
# RAMPART_ADMIN_PASSWORD, or is generated and printed once.
admin_username = "admin"
# How long a login session lasts, in seconds.
session_ttl_secs = 43200
# Failed logins in a row that lock an account, and for how many seconds.
lockout_threshold = 5
lockout_secs = 900
# Login attempts allowed per client address per minute.
login_attempts_per_minute = 30
# A running scan whose runner sends no heartbeat for this many seconds is
# retried, up to scan_max_attempts attempts in all, then timed out.
scan_heartbeat_timeout_secs = 120
scan_max_attempts = 3
# A queued scan that no runner takes within this many seconds times out.
scan_queue_timeout_secs = 86400
# At most this many PostgreSQL connections at once (1-256).
database_pool_size = 8
# How often the scheduler looks for due schedules, in seconds (1-3600).
scheduler_interval_secs = 10
# How often the threat analysis checks whether the data changed and, if it
# did, is recomputed, in milliseconds (100-3600000).
threat_refresh_millis = 5000
# Registry passwords are encrypted with RAMPART_SECRET_KEY (base64 of 32
# bytes), else with a key generated into the data directory (secret.key).
# After changing the key, list the old ones here so stored secrets still open.
old_secret_keys = []
# Seconds between an agent's topology reports (doubled while the console is
# busy), and how many reports are ingested at once (more get 429).
report_interval_secs = 10
max_concurrent_reports = 32
# What agents stop reporting goes inactive after node_inactive_secs and is
# removed after node_remove_secs; a removed node's findings are kept for
# finding_retention_days, then deleted with it.
node_inactive_secs = 60
node_remove_secs = 604800
finding_retention_days = 90

[malware]
# Use Rampart's bundled YARA rule pack (--no-default-rules turns it off).
default_rules = true
# Rule files, or directories searched for .yar/.yara files (--rules adds).
rules = []
# Rule ids not reported; "RMP-MAL-ELF-*" matches a prefix.
disabled_rules = []
# Cache compiled rules (default dir: $XDG_CACHE_HOME/rampart/malware).
cache = true
# cache_dir = "/var/cache/rampart/malware"
# Skip files larger than this many bytes (256 MiB).
max_file_size = 268435456
# Match only these file types (from their first bytes): elf, pe, macho,
# script (#!), archive, text, binary. Default: every type.
# file_types = ["elf", "script", "text"]
# Seconds one file, archive members included, may take (0: no limit).
file_timeout_secs = 60
# Archive levels opened (zip, tar, gzip; gzip counts as a level).
archive_depth = 2
# Scanning threads; 0 = one per core.
threads = 0

[posture]
# Benchmarks run when --benchmark is not given (linux, image, k8s); empty:
# the ones that apply to the target.
benchmarks = []
# Directories of Rego policies (with YAML metadata) always loaded
# (--policies adds more).
policies = []
# Checks reported as skipped, "disabled by configuration"; "RMP-HOST-SSH-*"
# matches a prefix. They count neither as passed nor as failed.
disabled_checks = []
# Kubeconfig for k8s:CONTEXT targets (--kubeconfig wins; default the first
# path of KUBECONFIG, else ~/.kube/config).
# kubeconfig = "/home/me/.kube/config"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_the_defaults() {
        let cfg = parse(TEMPLATE).unwrap();
        assert_eq!(cfg.limits, Limits::default());
        assert_eq!(cfg.walk, WalkOptions::default());
        assert!(cfg.registry.use_docker_config);
        let defaults = RegistryConfig::default();
        assert_eq!(cfg.registry.timeout_secs, defaults.timeout_secs);
        assert_eq!(
            cfg.registry.download_timeout_secs,
            defaults.download_timeout_secs
        );
        assert_eq!(cfg.registry.insecure, defaults.insecure);
        let c = ConsoleFileConfig::default();
        assert_eq!(cfg.console.admin_username, c.admin_username);
        assert_eq!(cfg.console.session_ttl_secs, c.session_ttl_secs);
        assert_eq!(cfg.console.lockout_threshold, c.lockout_threshold);
        assert_eq!(cfg.console.lockout_secs, c.lockout_secs);
        assert_eq!(
            cfg.console.login_attempts_per_minute,
            c.login_attempts_per_minute
        );
        assert_eq!(
            cfg.console.scan_heartbeat_timeout_secs,
            c.scan_heartbeat_timeout_secs
        );
        assert_eq!(
            cfg.console.scan_queue_timeout_secs,
            c.scan_queue_timeout_secs
        );
        assert_eq!(cfg.console.scan_max_attempts, c.scan_max_attempts);
        assert_eq!(cfg.console.node_inactive_secs, c.node_inactive_secs);
        assert_eq!(cfg.console.node_remove_secs, c.node_remove_secs);
        assert_eq!(cfg.console.finding_retention_days, c.finding_retention_days);
        assert_eq!(cfg.console.report_interval_secs, c.report_interval_secs);
        assert_eq!(cfg.console.max_concurrent_reports, c.max_concurrent_reports);
        assert!(cfg.console.listen.is_none() && cfg.console.database_url.is_none());
        assert_eq!(cfg.malware, MalwareConfig::default());
        assert!(
            cfg.output.format.is_none()
                && cfg.scan.fail_on.is_none()
                && cfg.scan.scanners.is_none()
        );
        let longest = TEMPLATE.lines().map(str::len).max().unwrap_or(0);
        assert!(
            longest <= 100,
            "template lines stay readable ({longest} chars)"
        );
    }

    #[test]
    fn malware_file_types_are_read() {
        let cfg = parse("[malware]\nfile_types = [\"elf\", \"script\"]\n").unwrap();
        assert_eq!(
            cfg.malware.file_types,
            Some(vec![
                rampart_malware::FileType::Elf,
                rampart_malware::FileType::Script
            ])
        );
        assert!(parse("[malware]\nfile_types = [\"exe\"]\n").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("[walk]\nexcludes = []\n").unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
        assert!(parse("[nonsense]\n").is_err());
        assert!(parse("[scan]\nfail_on = \"severe\"\n").is_err());
    }

    #[test]
    fn unknown_env_vars_are_errors() {
        let ok = vec![
            ("RAMPART_FORMAT".to_string(), "json".to_string()),
            ("HOME".into(), "/".into()),
        ];
        assert!(check_env(ok.into_iter()).is_ok());
        let bad = vec![("RAMPART_FROMAT".to_string(), "json".to_string())];
        let e = check_env(bad.into_iter()).unwrap_err().to_string();
        assert!(e.contains("RAMPART_FROMAT"), "{e}");
    }
}
