//! What agents upload: topology reports and scan results. Both may be
//! gzip-compressed (`Content-Encoding: gzip`); the decompressed size is
//! bounded, so a compression bomb is refused with `413`.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use flate2::read::GzDecoder;
use rampart_model::agent::{Entity, PROTOCOL_VERSION, RESYNC_CODE, Report, ReportAck, ScanResults};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{AgentCaller, IdPath};
use crate::clock;
use crate::store::inventory::{FINDING_KINDS, FindingReport};
use crate::store::topology::Applied;

/// The largest compressed (or plain) upload.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
/// The largest upload once decompressed.
pub const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// The most entities a report may carry.
pub const MAX_ENTITIES: usize = 200_000;
/// The most findings one results upload may carry.
pub const MAX_FINDINGS: usize = 200_000;

/// The paths whose bodies may be up to [`MAX_UPLOAD_BYTES`].
pub fn is_upload(path: &str) -> bool {
    path == "/api/v1/agent/report" || path == "/api/v1/agent/scans/{id}/results"
}

/// Reports being ingested now (to refuse more than the configured limit).
#[derive(Debug, Default)]
pub struct Ingest {
    in_flight: AtomicUsize,
}

struct Permit<'a>(&'a AtomicUsize);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Ingest {
    /// A slot, or `None` when `max` reports are in flight; with the count
    /// in flight before this one.
    fn enter(&self, max: usize) -> Option<(Permit<'_>, usize)> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(&self.in_flight);
        (before < max).then_some((permit, before))
    }
}

/// The (already bounded and buffered, see `observe`) body; axum's `Bytes`
/// extractor would apply its own 2 MB default instead.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| too_large("the body", MAX_UPLOAD_BYTES))
}

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "payload_too_large",
        message: format!("{what} is limited to {limit} bytes"),
        retry_after: None,
    }
}

/// The body as JSON, gunzipped first when `Content-Encoding: gzip`.
pub fn decode<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let decoded;
    let bytes: &[u8] = match encoding.as_deref() {
        None | Some("identity" | "") => body,
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::new();
            let limit = u64::try_from(MAX_DECODED_BYTES).unwrap_or(u64::MAX);
            GzDecoder::new(&body[..])
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::bad_request(format!("the body is not valid gzip: {e}")))?;
            if out.len() > MAX_DECODED_BYTES {
                return Err(too_large("the decompressed body", MAX_DECODED_BYTES));
            }
            decoded = out;
            &decoded
        }
        Some(other) => {
            return Err(ApiError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "bad_request",
                message: format!("Content-Encoding {other:?} is not supported; use gzip or none"),
                retry_after: None,
            });
        }
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn check_report(r: &Report) -> Result<(), ApiError> {
    if r.protocol != PROTOCOL_VERSION {
        return Err(ApiError::bad_request(format!(
            "protocol {} is not supported; this console speaks protocol {PROTOCOL_VERSION}",
            r.protocol
        )));
    }
    match r.base {
        None => {
            if r.host.is_none() {
                return Err(ApiError::bad_request(
                    "a snapshot (no base) must carry host",
                ));
            }
            if !r.remove.is_empty() {
                return Err(ApiError::bad_request(
                    "a snapshot (no base) removes nothing",
                ));
            }
        }
        Some(base) if r.seq <= base => {
            return Err(ApiError::bad_request("seq must be greater than base"));
        }
        Some(_) => {}
    }
    if let Some(h) = &r.host
        && (h.machine_id.trim().is_empty() || h.machine_id.len() > 256)
    {
        return Err(ApiError::bad_request(
            "host.machine_id has 1-256 characters",
        ));
    }
    if r.upsert.len() + r.remove.len() > MAX_ENTITIES {
        return Err(ApiError::bad_request(format!(
            "a report carries at most {MAX_ENTITIES} entities"
        )));
    }
    let bad_key = |k: &str| k.is_empty() || k.len() > 1024;
    if r.upsert.iter().any(|e| bad_key(&e.entity_ref().key))
        || r.remove.iter().any(|e| bad_key(&e.key))
    {
        return Err(ApiError::bad_request("entity keys have 1-1024 bytes"));
    }
    if r.upsert
        .iter()
        .any(|e| matches!(e, Entity::Process(p) if p.key.contains('/')))
    {
        return Err(ApiError::bad_request("process keys contain no '/'"));
    }
    Ok(())
}

/// Takes an agent's topology report, a full snapshot or a delta against
/// the last acknowledged one (`model::agent::Report`), and answers
/// `ReportAck`. The body may be gzip-compressed and is limited to 32 MiB
/// (64 MiB decompressed). `409` with code `resync` asks for a snapshot;
/// `429` with `Retry-After` means the console is busy. Role: agent.
#[utoipa::path(
    post,
    path = "/api/v1/agent/report",
    tag = "agents",
    request_body(content = Object, description = "model::agent::Report (JSON, optionally gzip)"),
    responses(
        (status = 200, description = "Acknowledged: ReportAck {acked, interval_secs}", body = Object),
        (status = 400, description = "Malformed report or unsupported protocol", body = ErrorBody),
        (status = 401, description = "Not an agent credential", body = ErrorBody),
        (status = 409, description = "Code `resync`: send a full snapshot", body = ErrorBody),
        (status = 413, description = "Too large (compressed or not)", body = ErrorBody),
        (status = 429, description = "Console busy; retry after Retry-After seconds", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    agent: AgentCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ReportAck>, ApiError> {
    let cfg = state.config.topology;
    let Some((_permit, before)) = state.ingest.enter(cfg.max_concurrent_reports) else {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: "the console is busy ingesting reports; retry later".into(),
            retry_after: Some(i64::try_from(cfg.report_interval_secs).unwrap_or(10)),
        });
    };
    let report: Report = decode(&headers, &read_body(body).await?)?;
    check_report(&report)?;
    match state
        .store
        .apply_report(agent.agent_id, &report, clock::now())
        .await?
    {
        Applied::Resync => Err(ApiError {
            status: StatusCode::CONFLICT,
            code: RESYNC_CODE,
            message: "the console does not hold this report's base; send a full snapshot".into(),
            retry_after: None,
        }),
        Applied::Acked {
            nodes_written,
            edges_written,
        } => {
            tracing::debug!(
                "agent {} report {}: {nodes_written} node and {edges_written} edge writes",
                agent.agent_id,
                report.seq
            );
            // Ask for slower reports while more than half the slots are taken.
            let interval = if before.saturating_mul(2) > cfg.max_concurrent_reports {
                cfg.report_interval_secs.saturating_mul(2)
            } else {
                cfg.report_interval_secs
            };
            Ok(Json(ReportAck {
                acked: report.seq,
                interval_secs: interval,
            }))
        }
    }
}

/// What a results upload changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsRecorded {
    /// The node the target is.
    pub node_id: i64,
    /// New or reopened findings.
    pub added: u64,
    /// Findings of the scanned kinds no longer reported (now fixed).
    pub fixed: u64,
}

/// The finding kind a scanner produces.
fn kind_of(scanner: &str) -> Option<&'static str> {
    match scanner {
        "vuln" => Some("vulnerability"),
        "secret" => Some("secret"),
        "malware" => Some("malware"),
        "posture" => Some("posture"),
        _ => None,
    }
}

/// Uploads what one target of a running job produced
/// (`model::agent::ScanResults`, optionally gzip): findings are recorded on
/// the target's node, deduplicated, with history. Only for the scan the
/// agent runs. Role: agent.
#[utoipa::path(
    post,
    path = "/api/v1/agent/scans/{id}/results",
    tag = "agents",
    params(("id" = i64, Path, description = "Scan id")),
    request_body(content = Object, description = "model::agent::ScanResults (JSON, optionally gzip)"),
    responses(
        (status = 200, description = "Recorded", body = ResultsRecorded),
        (status = 400, description = "Unknown target, scanner or finding kind", body = ErrorBody),
        (status = 401, description = "Not an agent credential", body = ErrorBody),
        (status = 409, description = "The scan is not running for this agent", body = ErrorBody),
        (status = 413, description = "Too large (compressed or not)", body = ErrorBody),
    )
)]
pub async fn results(
    State(state): State<AppState>,
    agent: AgentCaller,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ResultsRecorded>, ApiError> {
    let runner = agent.runner();
    let Some((targets, scanners)) = state.store.running_job(id, &runner).await? else {
        return Err(ApiError::conflict("this scan is not running for you"));
    };
    let r: ScanResults = decode(&headers, &read_body(body).await?)?;
    let target = targets
        .iter()
        .find(|t| t.target == r.target)
        .ok_or_else(|| {
            let names: Vec<&str> = targets.iter().map(|t| t.target.as_str()).collect();
            ApiError::bad_request(format!(
                "target {:?} is not one of this job's: {}",
                r.target,
                names.join(", ")
            ))
        })?;
    let mut kinds: Vec<&'static str> = Vec::new();
    for s in &r.scanners {
        let kind = kind_of(s).filter(|_| scanners.contains(s)).ok_or_else(|| {
            ApiError::bad_request(format!(
                "scanner {s:?} is not one of this job's: {}",
                scanners.join(", ")
            ))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if r.findings.len() > MAX_FINDINGS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_FINDINGS} findings per upload"
        )));
    }
    let mut reports = Vec::with_capacity(r.findings.len());
    for f in &r.findings {
        if !FINDING_KINDS.contains(&f.kind.as_str()) {
            return Err(ApiError::bad_request(format!(
                "finding kind {:?} is not one of {}",
                f.kind,
                FINDING_KINDS.join(", ")
            )));
        }
        if !kinds.contains(&f.kind.as_str()) {
            return Err(ApiError::bad_request(format!(
                "a {} finding, but no scanner producing it is listed in scanners",
                f.kind
            )));
        }
        let bounded = |s: &str| !s.is_empty() && s.len() <= 1024;
        if !bounded(&f.rule_id) || !bounded(&f.fingerprint) {
            return Err(ApiError::bad_request(
                "rule_id and fingerprint have 1-1024 bytes",
            ));
        }
        reports.push(FindingReport {
            kind: f.kind.clone(),
            rule_id: f.rule_id.clone(),
            fingerprint: f.fingerprint.clone(),
            severity: f.severity,
            title: f.title.chars().take(2000).collect(),
            evidence: f.evidence.clone(),
        });
    }
    let now = clock::now();
    let (added, fixed) = state
        .store
        .record_findings(target.node_id, Some(id), &kinds, &reports, now)
        .await?;
    // An upload is a sign of life.
    state.store.heartbeat_scan(id, &runner, now).await?;
    Ok(Json(ResultsRecorded {
        node_id: target.node_id,
        added,
        fixed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_slots_are_bounded_and_released() {
        let ingest = Ingest::default();
        let first = ingest.enter(2).unwrap();
        assert_eq!(first.1, 0);
        let second = ingest.enter(2).unwrap();
        assert_eq!(second.1, 1);
        assert!(ingest.enter(2).is_none(), "a third is refused");
        drop(first);
        let third = ingest.enter(2).unwrap();
        assert_eq!(third.1, 1);
        drop((second, third));
        assert_eq!(ingest.in_flight.load(Ordering::Acquire), 0);
    }

    #[test]
    fn gzip_bodies_are_bounded() {
        use std::io::Write;
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"[1, 2, 3]").unwrap();
        let small = Bytes::from(enc.finish().unwrap());
        assert_eq!(decode::<Vec<u8>>(&headers, &small).unwrap(), vec![1, 2, 3]);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..=MAX_DECODED_BYTES / zeros.len() {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = Bytes::from(enc.finish().unwrap());
        let err = decode::<Vec<u8>>(&headers, &bomb).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let plain = decode::<Vec<u8>>(&HeaderMap::new(), &Bytes::from_static(b"[4]")).unwrap();
        assert_eq!(plain, vec![4]);
    }
}
