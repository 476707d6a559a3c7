//! Scan requests and their state.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, IdPath, Standard};
use super::{AppState, paging};
use crate::clock;
use crate::model::{Finding, Page, Scan};
use crate::store::jobs::Assignment;
use crate::store::scans::{NewScan, SCAN_STATES};
use crate::store::{Filter, Sort};

/// The scanners a scan may ask for.
pub const SCANNERS: &[&str] = &["vuln", "secret", "malware", "posture"];

/// A scan to queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// What to scan: node ids or target specifications (1-100).
    pub targets: Vec<String>,
    /// `vuln`, `secret`, `malware`, `posture` (default: all).
    #[serde(default)]
    pub scanners: Vec<String>,
    /// Longest run time in seconds, 60-86400 (default: the
    /// `default_scan_timeout_secs` setting, 3600).
    pub timeout_secs: Option<i64>,
}

/// A cancellation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (recorded as the scan's reason and in the audit log).
    pub reason: Option<String>,
}

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanListQuery {
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `timed-out`.
    pub state: Option<String>,
    /// `id` or `created_at`; prefix `-` for descending (default `-id`).
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// Checks a scan's targets (1-100, each 1-1024 bytes) and scanners
/// (default all; sorted, deduplicated).
pub(super) fn check_targets_and_scanners(
    targets: Vec<String>,
    mut scanners: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    if targets.is_empty() || targets.len() > 100 {
        return Err(ApiError::bad_request("give 1-100 targets"));
    }
    if targets
        .iter()
        .any(|t| t.trim().is_empty() || t.len() > 1024)
    {
        return Err(ApiError::bad_request(
            "a target is empty or longer than 1024 bytes",
        ));
    }
    if scanners.is_empty() {
        scanners = SCANNERS.iter().map(ToString::to_string).collect();
    }
    if let Some(bad) = scanners.iter().find(|s| !SCANNERS.contains(&s.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown scanner {bad:?}; scanners are {}",
            SCANNERS.join(", ")
        )));
    }
    scanners.sort();
    scanners.dedup();
    Ok((targets, scanners))
}

/// Checks a scan's time limit (60-86400 s) when given.
pub(super) fn check_timeout(timeout_secs: Option<i64>) -> Result<Option<i64>, ApiError> {
    if let Some(t) = timeout_secs
        && !(60..=86_400).contains(&t)
    {
        return Err(ApiError::bad_request("timeout_secs is 60-86400"));
    }
    Ok(timeout_secs)
}

/// Queues a scan. Role: standard.
#[utoipa::path(
    post,
    path = "/api/v1/scans",
    tag = "scans",
    request_body = ScanRequest,
    responses(
        (status = 201, description = "Queued", body = Scan),
        (status = 400, description = "Invalid targets, scanners or timeout", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
    )
)]
pub async fn create_scan(
    State(state): State<AppState>,
    Standard(caller): Standard,
    ApiJson(req): ApiJson<ScanRequest>,
) -> Result<(StatusCode, Json<Scan>), ApiError> {
    let (targets, scanners) = check_targets_and_scanners(req.targets, req.scanners)?;
    let settings = state.settings().await?;
    let timeout_secs =
        check_timeout(req.timeout_secs)?.unwrap_or(settings.default_scan_timeout_secs);
    let new = NewScan {
        targets,
        scanners,
        requested_by: Some(caller.user_id),
        requested_by_name: caller.username.clone(),
        max_attempts: settings.scan_max_attempts,
        timeout_secs,
    };
    // Nodes on an agent's host are that agent's to scan (see store::jobs).
    let assignment = state
        .store
        .assign_targets(&new.targets)
        .await?
        .map_err(ApiError::bad_request)?;
    let tx = state.store.begin().await?;
    let now = clock::now();
    let scan = match assignment {
        Assignment::Central => tx.create_scan(&new, now).await?,
        Assignment::Agent { agent_id, targets } => {
            tx.create_agent_scan(&new, agent_id, &targets, now).await?
        }
    };
    tx.audit(&state.entry(
        Some(&caller),
        "scan.create",
        Some(format!("scan:{}", scan.id)),
        "success",
        Some(json!({ "targets": scan.targets, "scanners": scan.scanners })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(scan)))
}

/// Scans, newest first by default. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/scans",
    tag = "scans",
    params(ScanListQuery),
    responses(
        (status = 200, description = "A page of scans", body = Page<Scan>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_scans(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ScanListQuery>,
) -> Result<Json<Page<Scan>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[("id", "id"), ("created_at", "created_at")],
        ("id", true),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(s) = q.state {
        if !SCAN_STATES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "state is one of {}",
                SCAN_STATES.join(", ")
            )));
        }
        filter.eq("state", s);
    }
    Ok(Json(state.store.list_scans(&filter, &sort, paging).await?))
}

/// One scan and its state. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/scans/{id}",
    tag = "scans",
    params(("id" = i64, Path, description = "Scan id")),
    responses(
        (status = 200, description = "The scan", body = Scan),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such scan", body = ErrorBody),
    )
)]
pub async fn get_scan(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<Scan>, ApiError> {
    state
        .store
        .scan(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("scan"))
}

/// Cancels a queued or running scan. Role: standard.
#[utoipa::path(
    post,
    path = "/api/v1/scans/{id}/cancel",
    tag = "scans",
    params(("id" = i64, Path, description = "Scan id")),
    request_body(content = CancelRequest, description = "Optional reason"),
    responses(
        (status = 200, description = "Cancelled", body = Scan),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 404, description = "No such scan", body = ErrorBody),
        (status = 409, description = "Already finished", body = ErrorBody),
    )
)]
pub async fn cancel_scan(
    State(state): State<AppState>,
    Standard(caller): Standard,
    IdPath(id): IdPath,
    body: axum::body::Bytes,
) -> Result<Json<Scan>, ApiError> {
    let req: CancelRequest = if body.is_empty() {
        CancelRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let reason = req.reason.filter(|r| !r.trim().is_empty()).map_or_else(
        || format!("cancelled by {}", caller.username),
        |r| {
            format!(
                "cancelled by {}: {}",
                caller.username,
                r.chars().take(500).collect::<String>()
            )
        },
    );
    let tx = state.store.begin().await?;
    let Some(scan) = tx.cancel_scan(id, &reason, clock::now()).await? else {
        let current = tx.scan(id).await?;
        drop(tx);
        return Err(match current {
            None => ApiError::not_found("scan"),
            Some(s) => ApiError::conflict(format!("the scan is already {}", s.state)),
        });
    };
    tx.audit(&state.entry(
        Some(&caller),
        "scan.cancel",
        Some(format!("scan:{id}")),
        "success",
        Some(json!({ "reason": reason })),
    ))
    .await?;
    tx.commit().await?;
    Ok(Json(scan))
}

/// The comparison's options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The scan to compare with; default: the latest earlier succeeded scan
    /// of the same targets.
    pub against: Option<i64>,
    /// At most this many added and this many removed findings (1-1000,
    /// default 100); the totals count them all.
    pub limit: Option<i64>,
}

/// What changed from `against` to `scan`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanDiffResponse {
    pub scan: i64,
    pub against: i64,
    /// Reported by `scan`, not by `against`; worst first.
    pub added: Vec<Finding>,
    pub added_total: i64,
    /// Reported by `against`, no longer by `scan`.
    pub removed: Vec<Finding>,
    pub removed_total: i64,
    pub unchanged_total: i64,
}

/// Findings a scan reported that another did not, and the reverse. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/scans/{id}/diff",
    tag = "scans",
    params(("id" = i64, Path, description = "Scan id"), DiffQuery),
    responses(
        (status = 200, description = "The differences", body = ScanDiffResponse),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such scan, or nothing earlier to compare with", body = ErrorBody),
    )
)]
pub async fn diff_scan(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<ScanDiffResponse>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    if state.store.scan(id).await?.is_none() {
        return Err(ApiError::not_found("scan"));
    }
    let against = match q.against {
        Some(a) => {
            state
                .store
                .scan(a)
                .await?
                .ok_or_else(|| ApiError::not_found("scan to compare with"))?
                .id
        }
        None => {
            state
                .store
                .previous_scan(id)
                .await?
                .ok_or_else(|| ApiError::not_found("earlier succeeded scan of the same targets"))?
                .id
        }
    };
    let d = state.store.diff_scans(against, id, limit).await?;
    Ok(Json(ScanDiffResponse {
        scan: id,
        against,
        added: d.added,
        added_total: d.added_total,
        removed: d.removed,
        removed_total: d.removed_total,
        unchanged_total: d.unchanged_total,
    }))
}
