#![allow(clippy::print_stderr)]
//! The `rampart` binary: parses arguments, loads configuration, runs one
//! command and turns its outcome into an exit code. No scanning logic lives
//! here.

mod args;
mod bench;
mod central;
mod commands;
mod config;
mod console;
mod db;
mod graph;
mod jobs;
mod malware;
mod output;
mod posture;
mod progress;
mod report;
mod secret;
mod sensor;
mod up;
mod vuln;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// Documented exit codes.
pub mod exit {
    /// Success, and nothing at or above the `--fail-on` threshold.
    pub const OK: u8 = 0;
    /// Findings at or above the `--fail-on` threshold.
    pub const FINDINGS: u8 = 1;
    /// An error: bad arguments, unreadable target, failed I/O.
    pub const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if cli.global.verbose > 0 {
                eprintln!("error: {err:?}");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Version => commands::version(),
        Command::Completions(a) => commands::completions(a),
        Command::Init(a) => commands::init(a),
        Command::Db(c) => {
            config::check_env(std::env::vars())?;
            db::run(c, cli.global.quiet)
        }
        Command::Rules(args::RulesCommand::Check(a)) => {
            commands::rules_check(a, &config::load(cli.global.config.as_deref())?)
        }
        Command::Rules(args::RulesCommand::List(a)) => {
            commands::rules_list(a, &config::load(cli.global.config.as_deref())?)
        }
        Command::Posture(args::PostureCommand::List(a)) => commands::posture_list(a),
        Command::Posture(args::PostureCommand::Explain(a)) => commands::posture_explain(a),
        Command::Posture(args::PostureCommand::Check(a)) => commands::posture_check(a),
        Command::Bench(crate::bench::BenchCommand::Agents(a)) => bench::agents(a),
        Command::Graph(crate::graph::GraphCommand::Top(a)) => graph::top(a),
        Command::Graph(crate::graph::GraphCommand::Paths(a)) => graph::paths(a),
        Command::SensorJobExec(a) => sensor::job_exec(a),
        Command::Sensor(a) => {
            config::check_env(std::env::vars())?;
            sensor::run(a)
        }
        other => {
            // Commands that read configuration refuse unknown RAMPART_
            // variables, so a misspelt setting is noticed.
            config::check_env(std::env::vars())?;
            let cfg = config::load(cli.global.config.as_deref())?;
            let ctx = commands::Ctx::new(cfg, &cli.global);
            match other {
                Command::Scan(a) => commands::scan(&ctx, a),
                Command::Sbom(a) => commands::sbom(&ctx, a),
                Command::Source(args::SourceCommand::Ls(a)) => commands::source_ls(&ctx, a),
                Command::Posture(args::PostureCommand::Facts(a)) => {
                    commands::posture_facts(&ctx, a)
                }
                Command::Console(a) => console::run(&ctx.cfg.console, a, cli.global.quiet),
                Command::Up(a) => up::run(&ctx.cfg.console, a, cli.global.quiet),
                Command::Version
                | Command::Completions(_)
                | Command::Init(_)
                | Command::Db(_)
                | Command::Rules(_)
                | Command::Bench(_)
                | Command::Graph(_)
                | Command::Sensor(_)
                | Command::SensorJobExec(_)
                | Command::Posture(_) => Ok(exit::OK),
            }
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
