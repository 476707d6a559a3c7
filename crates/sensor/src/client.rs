//! The agent's HTTP client for the console's agent API.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rampart_model::agent::{Job, JobOutcome, RESYNC_CODE, Report, ReportAck, ScanResults};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};

/// Bodies above this are sent gzip-compressed (`Content-Encoding: gzip`).
pub const GZIP_THRESHOLD: usize = 1 << 20;
/// Used when a 429/503 has no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How the console answered a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    Acked(ReportAck),
    /// `409 resync`: send a full snapshot next.
    Resync,
    /// `429`/`503`: wait this long before the next report.
    Backoff(Duration),
}

/// What `POST /api/v1/agents/enroll` answers (the parts the agent keeps).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolled {
    pub agent: EnrolledAgent,
    pub credential: String,
}

/// The enrolled agent's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolledAgent {
    pub id: i64,
    pub hostname: String,
}

/// A connection to one console.
#[derive(Debug, Clone)]
pub struct ConsoleClient {
    base: String,
    agent: ureq::Agent,
    credential: Option<String>,
    /// Where the credential lives (named in the 401 error).
    state_file: PathBuf,
}

type Resp = ureq::http::Response<ureq::Body>;

fn read_body(resp: &mut Resp) -> String {
    resp.body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_string()
        .unwrap_or_default()
}

/// The `code` and `message` of the console's error shape.
fn error_of(body: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = v
        .pointer("/error/code")
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_string();
    let msg = v
        .pointer("/error/message")
        .and_then(|c| c.as_str())
        .map_or_else(|| body.chars().take(200).collect(), str::to_string);
    (code, msg)
}

/// `Retry-After` in seconds (the HTTP-date form falls back to the default).
fn retry_after(resp: &Resp) -> Duration {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, |s| {
            Duration::from_secs(s).min(MAX_RETRY_AFTER)
        })
}

impl ConsoleClient {
    /// A client for `console_url` (`https://...`; plain `http://` only to a
    /// loopback address), trusting `ca_cert` (PEM) when given, else the
    /// built-in web PKI roots. Certificates are always verified.
    ///
    /// # Errors
    /// A bad URL or an unreadable or empty CA file.
    pub fn new(console_url: &str, ca_cert: Option<&Path>, state_file: PathBuf) -> Result<Self> {
        let base = console_url.trim_end_matches('/').to_string();
        let plain = base.strip_prefix("http://");
        if let Some(rest) = plain {
            let host = rest.split(['/', '?']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(SensorError::Config(format!(
                    "console URL {base}: plain http is allowed only to a loopback address; use https"
                )));
            }
        } else if !base.starts_with("https://") {
            return Err(SensorError::Config(format!(
                "console URL {base}: must start with https://"
            )));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = ca_cert {
            let pem = std::fs::read(ca).map_err(|e| SensorError::io(ca, e))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(SensorError::Config(format!(
                    "{}: no certificate in this PEM file",
                    ca.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("rampart-sensor/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(ConsoleClient {
            base,
            agent,
            credential: None,
            state_file,
        })
    }

    /// Uses this agent credential from now on.
    pub fn set_credential(&mut self, credential: String) {
        self.credential = Some(credential);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Resp> {
        let url = self.url(path);
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(c) = &self.credential {
            req = req.header("Authorization", &format!("Bearer {c}"));
        }
        let result = if body.len() > GZIP_THRESHOLD {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            gz.write_all(body)
                .and_then(|()| gz.finish())
                .map_err(|e| SensorError::Console(format!("compressing the body for {url}: {e}")))
                .map(|z| req.header("Content-Encoding", "gzip").send(&z[..]))?
        } else {
            req.send(body)
        };
        let resp = result.map_err(|e| SensorError::Console(format!("POST {url}: {e}")))?;
        if resp.status().as_u16() == 401 && self.credential.is_some() {
            return Err(SensorError::Unauthorized {
                state: self.state_file.clone(),
            });
        }
        Ok(resp)
    }

    fn unexpected(path: &str, resp: &mut Resp) -> SensorError {
        let status = resp.status().as_u16();
        let (code, msg) = error_of(&read_body(resp));
        SensorError::Console(format!("POST {path}: {status} {code}: {msg}"))
    }

    fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(v).map_err(|e| SensorError::Console(format!("encoding a request: {e}")))
    }

    /// Spends an enrollment token.
    ///
    /// # Errors
    /// The console refused the token or could not be reached.
    pub fn enroll(&self, token: &str, hostname: &str) -> Result<Enrolled> {
        let body =
            Self::json(&serde_json::json!({"enrollment_token": token, "hostname": hostname}))?;
        let mut resp = self.post("/api/v1/agents/enroll", &body)?;
        let status = resp.status().as_u16();
        let text = read_body(&mut resp);
        if status != 200 && status != 201 {
            let (code, msg) = error_of(&text);
            return Err(SensorError::Enrollment {
                status,
                message: format!("{code}: {msg}"),
            });
        }
        serde_json::from_str(&text)
            .map_err(|e| SensorError::Console(format!("enrollment answer: {e}")))
    }

    /// Sends one report.
    ///
    /// # Errors
    /// A revoked credential (401), an unreachable console, an unexpected answer.
    pub fn report(&self, report: &Report) -> Result<ReportOutcome> {
        let path = "/api/v1/agent/report";
        let mut resp = self.post(path, &Self::json(report)?)?;
        match resp.status().as_u16() {
            200..=202 => {
                let text = read_body(&mut resp);
                serde_json::from_str(&text)
                    .map(ReportOutcome::Acked)
                    .map_err(|e| SensorError::Console(format!("{path}: bad acknowledgement: {e}")))
            }
            409 => {
                let text = read_body(&mut resp);
                let (code, msg) = error_of(&text);
                if code == RESYNC_CODE {
                    Ok(ReportOutcome::Resync)
                } else {
                    Err(SensorError::Console(format!("{path}: 409 {code}: {msg}")))
                }
            }
            429 | 503 => Ok(ReportOutcome::Backoff(retry_after(&resp))),
            _ => Err(Self::unexpected(path, &mut resp)),
        }
    }

    /// Claims the next scan job, if any.
    ///
    /// # Errors
    /// As [`ConsoleClient::report`].
    pub fn claim(&self) -> Result<Option<Job>> {
        let path = "/api/v1/agent/scans/claim";
        let mut resp = self.post(path, b"{}")?;
        match resp.status().as_u16() {
            204 => Ok(None),
            200 => {
                let text = read_body(&mut resp);
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| SensorError::Console(format!("{path}: not a job: {e}")))
            }
            _ => Err(Self::unexpected(path, &mut resp)),
        }
    }

    /// Sends a heartbeat: `true` to go on, `false` when the console says stop (409).
    ///
    /// # Errors
    /// As [`ConsoleClient::report`].
    pub fn heartbeat(&self, scan_id: i64) -> Result<bool> {
        let path = format!("/api/v1/agent/scans/{scan_id}/heartbeat");
        let mut resp = self.post(&path, b"{}")?;
        match resp.status().as_u16() {
            200 | 204 => Ok(true),
            409 | 404 => Ok(false),
            _ => Err(Self::unexpected(&path, &mut resp)),
        }
    }

    /// Uploads one target's results.
    ///
    /// # Errors
    /// As [`ConsoleClient::report`].
    pub fn results(&self, scan_id: i64, results: &ScanResults) -> Result<()> {
        let path = format!("/api/v1/agent/scans/{scan_id}/results");
        let mut resp = self.post(&path, &Self::json(results)?)?;
        match resp.status().as_u16() {
            200 | 201 | 202 | 204 => Ok(()),
            _ => Err(Self::unexpected(&path, &mut resp)),
        }
    }

    /// Reports how a job ended.
    ///
    /// # Errors
    /// As [`ConsoleClient::report`].
    pub fn finish(&self, scan_id: i64, outcome: &JobOutcome) -> Result<()> {
        let path = format!("/api/v1/agent/scans/{scan_id}/finish");
        let mut resp = self.post(&path, &Self::json(outcome)?)?;
        match resp.status().as_u16() {
            200 | 204 => Ok(()),
            _ => Err(Self::unexpected(&path, &mut resp)),
        }
    }
}
