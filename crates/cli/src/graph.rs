//! `rampart graph top` and `rampart graph paths NODE`: ThreatGraph answers
//! of a console (`/api/v1/threat/...`), as a table or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

/// The environment variable that holds the API token.
pub const TOKEN_ENV: &str = "RAMPART_TOKEN";

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// The most exploitable findings of the fleet or of one node, with the
    /// reasons for each score.
    Top(TopArgs),
    /// The shortest attack path from the internet to a node.
    Paths(PathsArgs),
}

/// Output formats of `rampart graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The API token (a session or API token of any role) is read from \
RAMPART_TOKEN. Exit codes: 0 success, 2 error."
)]
pub struct ConsoleClientArgs {
    /// The console's base URL (https://HOST:PORT).
    #[arg(long, env = "RAMPART_CONSOLE", value_name = "URL")]
    pub console: String,
    /// CA certificate (PEM) to trust for the console, such as the console's
    /// generated `tls/cert.pem`.
    #[arg(long, env = "RAMPART_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Table)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub client: ConsoleClientArgs,
    /// How many findings, 1-1000.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    /// Only the findings on this node (its id in the console).
    #[arg(long, value_name = "ID")]
    pub node: Option<i64>,
    /// Only the findings a scan reported.
    #[arg(long, value_name = "ID", conflicts_with = "node")]
    pub scan: Option<i64>,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    #[command(flatten)]
    pub client: ConsoleClientArgs,
    /// The target node's id in the console.
    #[arg(value_name = "NODE")]
    pub node: i64,
}

fn http(args: &ConsoleClientArgs) -> Result<ureq::Agent> {
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
        .build()
        .into())
}

/// GETs `path` from the console with the token; the JSON answer.
fn get(args: &ConsoleClientArgs, path: &str) -> Result<Value> {
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| format!("set {TOKEN_ENV} to an API or session token of the console"))?;
    let base = args.console.trim_end_matches('/');
    if !base.starts_with("https://") && !base.starts_with("http://") {
        bail!("--console must be a URL (https://HOST:PORT), not {base:?}");
    }
    let url = format!("{base}{path}");
    let resp = http(args)?
        .get(&url)
        .header("authorization", format!("Bearer {}", token.trim()))
        .call()
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .into_body()
        .read_to_string()
        .with_context(|| format!("reading the answer of GET {url}"))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("GET {url}: {status}, not JSON: {text:.200}"))?;
    if status != 200 {
        let msg = json["error"]["message"].as_str().unwrap_or("no message");
        bail!("GET {url}: {status}: {msg}");
    }
    Ok(json)
}

fn node_label(answer: &Value, id: &str) -> String {
    let kind = answer["nodes"][id]["kind"].as_str().unwrap_or("node");
    match answer["nodes"][id]["name"].as_str() {
        Some(_) if kind == "internet" => "internet".to_string(),
        Some(name) => format!("{name} ({kind} {id})"),
        None => id.to_string(),
    }
}

fn reach(f: &Value) -> String {
    match f["reach"].as_str() {
        Some("hops") => format!("{} hops", f["hops"]),
        Some(r) => r.to_string(),
        None => "-".into(),
    }
}

fn runtime(f: &Value) -> String {
    match f["runtime"]["use"].as_str() {
        Some("in_use") => "in use".into(),
        Some("not_in_use") => "not in use".into(),
        Some("unknown") => "unknown".into(),
        _ => "-".into(),
    }
}

/// Points with a sign and at most two decimals (`+30`, `-15`, `+0.15`).
#[must_use]
pub fn signed_points(v: f64) -> String {
    let s = format!("{v:+.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "+0".into()
    } else {
        s.to_string()
    }
}

fn points(p: &Value) -> String {
    signed_points(p.as_f64().unwrap_or(0.0))
}

/// The table of `graph top`.
#[must_use]
pub fn top_table(answer: &Value) -> String {
    let mut out = String::new();
    let findings = answer["findings"].as_array().map_or(&[][..], Vec::as_slice);
    if findings.is_empty() {
        out.push_str("no findings\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:>4}  {:>5}  {:<8}  {:<20}  {:<10}  {:<10}  NODE",
        "RANK", "SCORE", "SEVERITY", "RULE", "REACH", "RUNTIME"
    );
    for (i, f) in findings.iter().enumerate() {
        let node = f["node"].as_str().unwrap_or("");
        let _ = writeln!(
            out,
            "{:>4}  {:>5.1}  {:<8}  {:<20}  {:<10}  {:<10}  {}",
            i + 1,
            f["score"].as_f64().unwrap_or(0.0),
            f["severity"].as_str().unwrap_or("-"),
            f["rule_id"].as_str().unwrap_or("-"),
            reach(f),
            runtime(f),
            node_label(answer, node),
        );
        for r in f["reasons"].as_array().map_or(&[][..], Vec::as_slice) {
            let _ = writeln!(
                out,
                "        {:<13} {:>6}  {}",
                r["factor"].as_str().unwrap_or("-"),
                points(&r["points"]),
                r["detail"].as_str().unwrap_or("")
            );
        }
    }
    let s = &answer["summary"];
    let _ = writeln!(
        out,
        "\n{} findings on {} nodes; exposed to the internet: {} nodes, reachable from it: {}",
        s["findings"], s["nodes"], s["exposed"], s["reachable"]
    );
    out
}

/// The text of `graph paths`.
#[must_use]
pub fn paths_table(answer: &Value, node: i64) -> String {
    let mut out = String::new();
    let id = node.to_string();
    let paths = answer["paths"].as_array().map_or(&[][..], Vec::as_slice);
    let Some(p) = paths.first() else {
        let why = match answer["reach"]["reach"].as_str() {
            Some("isolated") => "the internet does not reach it (isolated)",
            Some("unknown") => "unknown: its network was not observed",
            _ => "no path known",
        };
        let _ = writeln!(out, "no attack path to {}: {why}", node_label(answer, &id));
        return out;
    };
    let _ = writeln!(
        out,
        "attack path to {}: {} hops, best finding score {:.1}",
        node_label(answer, &id),
        p["hops"],
        p["score"].as_f64().unwrap_or(0.0)
    );
    for (i, s) in p["steps"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            out,
            "{:>3}. {} -> {} ({}): {}",
            i + 1,
            node_label(answer, s["from"].as_str().unwrap_or("")),
            node_label(answer, s["to"].as_str().unwrap_or("")),
            s["kind"].as_str().unwrap_or("-"),
            s["evidence"].as_str().unwrap_or("")
        );
    }
    let findings = p["findings"].as_array().map_or(&[][..], Vec::as_slice);
    if !findings.is_empty() {
        out.push_str("findings along the path:\n");
        for f in findings {
            let id = f["id"].as_str().unwrap_or("-");
            let _ = writeln!(
                out,
                "     {:>5.1}  {} (finding {id}) on {}",
                f["score"].as_f64().unwrap_or(0.0),
                answer["rules"][id].as_str().unwrap_or("-"),
                node_label(answer, f["node"].as_str().unwrap_or(""))
            );
        }
    }
    out
}

fn print(format: GraphFormat, answer: &Value, table: impl FnOnce(&Value) -> String) -> Result<()> {
    let text = match format {
        GraphFormat::Json => {
            let mut s = serde_json::to_string_pretty(answer).context("writing JSON")?;
            s.push('\n');
            s
        }
        GraphFormat::Table => table(answer),
    };
    crate::output::emit(None, &text)
}

/// `rampart graph top`.
///
/// # Errors
/// No token, the console unreachable or refusing.
pub fn top(a: &TopArgs) -> Result<u8> {
    let mut path = format!("/api/v1/threat/top?limit={}", a.limit);
    if let Some(n) = a.node {
        let _ = write!(path, "&node={n}");
    }
    if let Some(s) = a.scan {
        let _ = write!(path, "&scan={s}");
    }
    let answer = get(&a.client, &path)?;
    print(a.client.format, &answer, top_table)?;
    Ok(crate::exit::OK)
}

/// `rampart graph paths NODE`.
///
/// # Errors
/// No token, the console unreachable or refusing, no such node.
pub fn paths(a: &PathsArgs) -> Result<u8> {
    let answer = get(&a.client, &format!("/api/v1/threat/paths?node={}", a.node))?;
    print(a.client.format, &answer, |v| paths_table(v, a.node))?;
    Ok(crate::exit::OK)
}
