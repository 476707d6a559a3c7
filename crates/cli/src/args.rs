//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rampart_model::{ScannerKind, Severity};

/// Rampart: find vulnerabilities, secrets, malware and misconfigurations in
/// directories, hosts, container images and registries.
#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    propagate_version = true,
    disable_help_subcommand = true
)]
#[command(
    after_help = "Exit codes: 0 success, 1 findings at or above --fail-on, 2 error.\n\
Targets: dir:PATH, rootfs:PATH, host, docker-archive:PATH[:TAG], oci-archive:PATH[:TAG],\n\
oci-dir:PATH[:TAG], registry:REF, sbom:PATH, or a bare path (detected)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More output on stderr (-v info, -vv debug, -vvv trace); errors show
    /// their full cause chain.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Configuration file (TOML). Default: $XDG_CONFIG_HOME/rampart/config.toml
    /// when it exists.
    #[arg(long, global = true, env = "RAMPART_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Output formats a command can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// Rampart's JSON document (see docs/formats/json.md).
    Json,
}

/// Flags that choose and reach a target.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// What to read: dir:PATH, rootfs:PATH, host, docker-archive:PATH[:TAG],
    /// oci-archive:PATH[:TAG], oci-dir:PATH[:TAG], registry:REF, sbom:PATH,
    /// or a bare path.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Platform to pick from a multi-platform image (os/arch[/variant]).
    #[arg(long, env = "RAMPART_PLATFORM", value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Talk to the registry over plain HTTP instead of HTTPS.
    #[arg(long, env = "RAMPART_INSECURE_REGISTRY", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure_registry: bool,
    /// Registry user name (overrides ~/.docker/config.json).
    #[arg(long, env = "RAMPART_REGISTRY_USERNAME", value_name = "USER")]
    pub username: Option<String>,
    /// Registry password or token; prefer the environment variable.
    #[arg(
        long,
        env = "RAMPART_REGISTRY_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// gitignore-style pattern of paths to leave out (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Skip files larger than this many bytes when walking directories.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
}

/// Flags that choose where output goes.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, env = "RAMPART_FORMAT")]
    pub format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a target for vulnerabilities, secrets, malware and misconfigurations.
    Scan(ScanArgs),
    /// Generate a software bill of materials for a target.
    Sbom(SbomArgs),
    /// Inspect targets as Rampart reads them.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Manage the local advisory database.
    #[command(subcommand)]
    Db(crate::db::DbCommand),
    /// Write a commented configuration file template.
    Init(InitArgs),
    /// Print version and build information.
    Version,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// List and check the built-in detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Compliance posture: benchmarks, checks, frameworks, facts.
    #[command(subcommand)]
    Posture(PostureCommand),
    /// Run the console: the HTTPS API server with users, tokens and the audit log.
    Console(ConsoleArgs),
    /// Start a console and a sensor for this machine, enrolled automatically.
    Up(crate::up::UpArgs),
    /// ThreatGraph answers of a console: the most exploitable findings and
    /// attack paths.
    #[command(subcommand)]
    Graph(crate::graph::GraphCommand),
    /// Load generators and measurements against a running console.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Run the host sensor: discover processes, sockets, containers and pods,
    /// report them to a console and run its scan jobs.
    Sensor(SensorArgs),
    /// Internal: run a sensor scan job's command under a lower priority and a
    /// memory cap (used by `rampart sensor`).
    #[command(name = "sensor-job-exec", hide = true)]
    SensorJobExec(SensorJobExecArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "The first run spends --enroll-token and keeps the agent's credential in \
--state-dir (mode 0600); later runs need no token.\n\
Discovery mode: procfs polling (eBPF is not built yet).\n\
Stop with Ctrl-C or SIGTERM."
)]
pub struct SensorArgs {
    /// The console's base URL (https://HOST:PORT).
    #[arg(long, env = "RAMPART_SENSOR_CONSOLE", value_name = "URL")]
    pub console: String,
    /// One-time enrollment token (rme_...) from an admin; needed on the
    /// first run only. Prefer the environment variable.
    #[arg(
        long,
        env = "RAMPART_SENSOR_ENROLL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub enroll_token: Option<String>,
    /// Where the agent's credential is kept. Default: $XDG_STATE_HOME/rampart/sensor,
    /// else ~/.local/state/rampart/sensor (/var/lib/rampart/sensor as root).
    #[arg(long, env = "RAMPART_SENSOR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Seconds between reports (the console may ask for longer).
    #[arg(long, env = "RAMPART_SENSOR_INTERVAL", value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub interval: u64,
    /// CA certificate (PEM) to trust for the console, such as the console's
    /// generated DATA_DIR/tls/cert.pem. Default: the built-in web PKI roots.
    #[arg(long, env = "RAMPART_SENSOR_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Scan jobs run at once (0: run none).
    #[arg(
        long,
        env = "RAMPART_SENSOR_MAX_JOBS",
        value_name = "N",
        default_value_t = 2
    )]
    pub max_jobs: usize,
    /// Address-space cap of each scan job's process, in MiB.
    #[arg(long, env = "RAMPART_SENSOR_JOB_MEMORY_MIB", value_name = "MIB", default_value_t = 2048,
          value_parser = clap::value_parser!(u64).range(64..))]
    pub job_memory_mib: u64,
    /// Niceness of scan job processes (0-19).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub job_nice: i32,
    /// Do not probe the cloud instance metadata service.
    #[arg(long)]
    pub no_cloud_metadata: bool,
    /// Base URL of the cloud instance metadata service.
    #[arg(
        long,
        env = "RAMPART_SENSOR_METADATA_URL",
        value_name = "URL",
        default_value = "http://169.254.169.254"
    )]
    pub metadata_url: String,
    /// Kubernetes API through this kubeconfig (its current context: token,
    /// token file or client certificate). Without it, the API is used when
    /// the sensor runs in a pod with a service account.
    #[arg(long, env = "RAMPART_SENSOR_KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Report the cluster's Services and Ingresses (every node's sensor
    /// would report the same ones: enable it on one). Default: on in a pod
    /// with a service account, off with --kubeconfig.
    #[arg(long, env = "RAMPART_SENSOR_KUBE_CLUSTER_OBJECTS", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true")]
    pub kube_cluster_objects: Option<bool>,
    /// The cluster's name on reported objects. Default: the kubeconfig
    /// context's cluster, or `in-cluster`.
    #[arg(long, env = "RAMPART_SENSOR_KUBE_CLUSTER", value_name = "NAME")]
    pub kube_cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct SensorJobExecArgs {
    /// Niceness to take.
    #[arg(long, default_value_t = 10)]
    pub nice: i32,
    /// RLIMIT_AS in bytes.
    #[arg(long)]
    pub memory_limit: u64,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The first start creates the user `admin` with the password in \
RAMPART_ADMIN_PASSWORD, or a generated one printed once on stderr.\n\
Stop with Ctrl-C or SIGTERM: open requests finish first."
)]
pub struct ConsoleArgs {
    /// Address and port to serve HTTPS on. Default: `console.listen` from the
    /// configuration, else 127.0.0.1:8443.
    #[arg(long, env = "RAMPART_CONSOLE_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Where the SQLite database and the generated certificate live.
    /// Default: `console.data_dir`, else $XDG_DATA_HOME/rampart/console.
    #[arg(long, env = "RAMPART_CONSOLE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store in PostgreSQL instead of SQLite (postgres://user:password@host/db);
    /// prefer the environment variable, which `ps` does not show.
    #[arg(
        long,
        env = "RAMPART_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// CA certificate (PEM) that signed the PostgreSQL server's certificate.
    /// Default: the system bundle. TLS is used whenever the server offers it
    /// (always verified) unless the URL says sslmode=disable.
    #[arg(long, env = "RAMPART_DATABASE_CA", value_name = "FILE")]
    pub database_ca: Option<PathBuf>,
    /// Certificate chain (PEM) to serve instead of the generated self-signed one.
    #[arg(
        long,
        env = "RAMPART_CONSOLE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "RAMPART_CONSOLE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// Report formats of `rampart scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Aligned text for people.
    Table,
    /// Rampart's JSON document (see docs/formats/json.md).
    Json,
    /// SARIF 2.1.0, for code scanning dashboards (see docs/formats/sarif.md).
    Sarif,
    /// JUnit XML, for CI test reports (see docs/formats/junit.md).
    Junit,
    /// CycloneDX 1.6 with a `vulnerabilities` array (vuln scanner only).
    Cyclonedx,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format. Default: `output.format` from the configuration, else table.
    #[arg(short, long, value_enum, env = "RAMPART_FORMAT")]
    pub format: Option<ScanFormat>,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Scanners to run (comma-separated); default: all.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub scanners: Vec<ScannerKind>,
    /// Exit with code 1 when a finding at or above this severity is reported.
    #[arg(long, env = "RAMPART_FAIL_ON", value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Secret findings to suppress: fingerprints, rule:ID or path:GLOB lines
    /// (repeatable). A directory target's own .rampartignore is read too.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Vec<PathBuf>,
    /// Seconds the secret scanner may spend on one file (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub file_time_budget: u64,
    /// Do not scan the printable strings of binary files for secrets.
    #[arg(long)]
    pub no_binaries: bool,
    /// Also open compressed package documentation (.gz under
    /// /usr/share/{man,doc,info}) for secrets.
    #[arg(long)]
    pub scan_package_docs: bool,
    #[command(flatten)]
    pub malware: MalwareRuleArgs,
    #[command(flatten)]
    pub db: crate::db::DbDirArgs,
    /// Report only vulnerabilities at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub severity: Option<Severity>,
    /// Leave out vulnerabilities that have no fix yet.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// OpenVEX or CycloneDX VEX document whose `not_affected` statements
    /// suppress vulnerability findings (repeatable; suppressions are listed
    /// in the report).
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Warn when an advisory source is older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub max_db_age: u64,
    #[command(flatten)]
    pub posture: PostureArgs,
}

/// What selects and extends the posture checks.
#[derive(Debug, Args, Clone, Default)]
pub struct PostureArgs {
    /// Posture benchmark to run (repeatable): linux, image, k8s. Default:
    /// the ones that apply to the target.
    #[arg(long, value_name = "NAME")]
    pub benchmark: Vec<String>,
    /// Directory of Rego policies (with YAML metadata beside them) to add
    /// to the built-in checks (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Kubeconfig for k8s:CONTEXT targets. Default: the first path of
    /// KUBECONFIG, else ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PostureCommand {
    /// List the benchmarks, the checks and the frameworks they map to.
    List(PostureListArgs),
    /// Show one check in full: rationale, remediation, framework controls.
    Explain(PostureExplainArgs),
    /// Write the facts document the policies of a benchmark read (JSON).
    Facts(PostureFactsArgs),
    /// Evaluate every check on its passing and failing fixtures.
    Check(PostureCheckArgs),
}

#[derive(Debug, Args)]
pub struct PostureListArgs {
    /// Only this benchmark's checks.
    #[arg(long, value_name = "NAME")]
    pub benchmark: Option<String>,
    /// Directory of extra policies to list too (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PostureExplainArgs {
    /// The check id (RMP-HOST-SSH-003).
    pub id: String,
    /// Directory of extra policies (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PostureFactsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The benchmark whose facts to collect. Default: the first that
    /// applies to the target.
    #[arg(long, value_name = "NAME")]
    pub benchmark: Option<String>,
    /// Write the facts to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Kubeconfig for k8s:CONTEXT targets. Default: the first path of
    /// KUBECONFIG, else ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PostureCheckArgs {
    /// Directory of extra policies whose examples to check too (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// Aligned text for people.
    Table,
    /// Rampart's JSON document (see docs/formats/json.md).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: SbomFormat,
    /// Write the SBOM to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// List the files of a target: for images the merged view with each
    /// file's layer, plus (with --history) what later layers deleted.
    Ls(LsArgs),
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also list versions deleted or replaced by later layers (table format;
    /// JSON always includes them).
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the template; `-` for standard output. Default: the
    /// default configuration file, $XDG_CONFIG_HOME/rampart/config.toml.
    #[arg(value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where malware (YARA) rules come from.
#[derive(Debug, Clone, Default, Args)]
pub struct MalwareRuleArgs {
    /// YARA rule file, or directory searched recursively for .yar/.yara
    /// files, added to the malware rules (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Leave out Rampart's bundled malware rule pack.
    #[arg(long)]
    pub no_default_rules: bool,
}

/// Kinds of detection rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleKind {
    /// Secret detection rules.
    Secret,
    /// Malware (YARA-X) rules.
    Malware,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile every rule and assert its examples and negative examples
    /// (malware: also compile --rules paths, reporting file and line of errors).
    Check(RulesCheckArgs),
    /// List the rules: id, severity, confidence or class, and name.
    List(RulesListArgs),
}

#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Which rules to check (default: all kinds).
    #[arg(long, value_enum)]
    pub kind: Option<RuleKind>,
    #[command(flatten)]
    pub malware: MalwareRuleArgs,
}

#[derive(Debug, Args)]
pub struct RulesListArgs {
    /// Which rules to list (default: all kinds).
    #[arg(long, value_enum)]
    pub kind: Option<RuleKind>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub malware: MalwareRuleArgs,
}
