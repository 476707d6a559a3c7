//! Scan schedules (cron expressions, UTC).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, IdPath, Standard};
use super::scans::{check_targets_and_scanners, check_timeout};
use super::{AppState, paging};
use crate::clock;
use crate::cron::Cron;
use crate::model::Page;
use crate::store::schedules::{NewSchedule, Schedule, ScheduleChanges};
use crate::store::{Filter, Sort};

/// A schedule to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// A unique name (1-100 characters).
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week) with `*`,
    /// ranges, steps, lists and names, or `@hourly`, `@daily`, `@weekly`,
    /// `@monthly`, `@yearly`; evaluated in UTC.
    pub cron: String,
    /// As for `POST /api/v1/scans` (1-100).
    pub targets: Vec<String>,
    /// As for `POST /api/v1/scans` (default: all).
    #[serde(default)]
    pub scanners: Vec<String>,
    /// 60-86400; default: the `default_scan_timeout_secs` setting.
    pub timeout_secs: Option<i64>,
    /// Default true.
    pub enabled: Option<bool>,
}

fn some_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Changes to a schedule; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleUpdate {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub targets: Option<Vec<String>>,
    pub scanners: Option<Vec<String>>,
    /// `null` goes back to the default.
    #[serde(default, deserialize_with = "some_option")]
    #[schema(value_type = Option<i64>)]
    pub timeout_secs: Option<Option<i64>>,
    pub enabled: Option<bool>,
}

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleListQuery {
    /// `true` or `false`.
    pub enabled: Option<bool>,
    /// `id`, `name`, `next_run_at` or `last_run_at`; prefix `-` for
    /// descending (default `id`).
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.trim().chars().count();
    if n == 0 || n > 100 || name.trim() != name {
        return Err(ApiError::bad_request(
            "the name is 1-100 characters without surrounding spaces",
        ));
    }
    Ok(())
}

fn parse_cron(expr: &str) -> Result<Cron, ApiError> {
    expr.parse::<Cron>()
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Adds a schedule. Role: standard.
#[utoipa::path(
    post,
    path = "/api/v1/schedules",
    tag = "schedules",
    request_body = ScheduleRequest,
    responses(
        (status = 201, description = "Added", body = Schedule),
        (status = 400, description = "Invalid cron expression, targets, scanners or timeout", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub async fn create_schedule(
    State(state): State<AppState>,
    Standard(caller): Standard,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    check_name(&req.name)?;
    let cron = parse_cron(&req.cron)?;
    let (targets, scanners) = check_targets_and_scanners(req.targets, req.scanners)?;
    let timeout_secs = check_timeout(req.timeout_secs)?;
    let enabled = req.enabled.unwrap_or(true);
    let now = clock::now();
    let next = if enabled { cron.next_after(now) } else { None };
    let tx = state.store.begin().await?;
    let schedule = tx
        .create_schedule(
            &NewSchedule {
                name: &req.name,
                cron: &cron.to_string(),
                targets: &targets,
                scanners: &scanners,
                timeout_secs,
                enabled,
                next_run_at: next,
                created_by: &caller.username,
            },
            now,
        )
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "schedule.create",
        Some(format!("schedule:{}", schedule.id)),
        "success",
        Some(json!({ "name": schedule.name, "cron": schedule.cron, "targets": schedule.targets })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// Schedules. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/schedules",
    tag = "schedules",
    params(ScheduleListQuery),
    responses(
        (status = 200, description = "A page of schedules", body = Page<Schedule>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_schedules(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ScheduleListQuery>,
) -> Result<Json<Page<Schedule>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "id"),
            ("name", "name"),
            ("next_run_at", "next_run_at"),
            ("last_run_at", "last_run_at"),
        ],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(e) = q.enabled {
        filter.eq("enabled", e);
    }
    Ok(Json(
        state.store.list_schedules(&filter, &sort, paging).await?,
    ))
}

/// One schedule. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/schedules/{id}",
    tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = Schedule),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub async fn get_schedule(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<Schedule>, ApiError> {
    state
        .store
        .schedule(id)
        .await?
        .map(|r| Json(r.schedule))
        .ok_or_else(|| ApiError::not_found("schedule"))
}

/// Changes a schedule; a new expression or re-enabling computes the next
/// run from now. Role: standard.
#[utoipa::path(
    patch,
    path = "/api/v1/schedules/{id}",
    tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    request_body = ScheduleUpdate,
    responses(
        (status = 200, description = "The updated schedule", body = Schedule),
        (status = 400, description = "Invalid values", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub async fn update_schedule(
    State(state): State<AppState>,
    Standard(caller): Standard,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<ScheduleUpdate>,
) -> Result<Json<Schedule>, ApiError> {
    if let Some(n) = &req.name {
        check_name(n)?;
    }
    let new_cron = req.cron.as_deref().map(parse_cron).transpose()?;
    if let Some(Some(t)) = req.timeout_secs {
        check_timeout(Some(t))?;
    }
    let now = clock::now();
    let tx = state.store.begin().await?;
    let Some(current) = tx.schedule(id).await? else {
        return Err(ApiError::not_found("schedule"));
    };
    let (targets, scanners) = match (req.targets.clone(), req.scanners.clone()) {
        (None, None) => (None, None),
        (t, s) => {
            let (t, s) = check_targets_and_scanners(
                t.unwrap_or_else(|| current.schedule.targets.clone()),
                s.unwrap_or_else(|| current.schedule.scanners.clone()),
            )?;
            (Some(t), Some(s))
        }
    };
    let enabled = req.enabled.unwrap_or(current.schedule.enabled);
    let next_run_at = if new_cron.is_some() || req.enabled.is_some() {
        let cron = match &new_cron {
            Some(c) => c.clone(),
            None => parse_cron(&current.schedule.cron)?,
        };
        Some(if enabled { cron.next_after(now) } else { None })
    } else {
        None
    };
    let changes = ScheduleChanges {
        name: req.name.clone(),
        cron: new_cron.map(|c| c.to_string()),
        targets,
        scanners,
        timeout_secs: req.timeout_secs,
        enabled: req.enabled,
        next_run_at,
    };
    let Some(updated) = tx.update_schedule(id, &changes, now).await? else {
        return Err(ApiError::not_found("schedule"));
    };
    tx.audit(&state.entry(
        Some(&caller),
        "schedule.update",
        Some(format!("schedule:{id}")),
        "success",
        Some(json!({
            "name": req.name, "cron": req.cron, "targets": req.targets,
            "scanners": req.scanners, "timeout_secs": req.timeout_secs, "enabled": req.enabled,
        })),
    ))
    .await?;
    tx.commit().await?;
    Ok(Json(updated))
}

/// Deletes a schedule (its scans stay). Role: standard.
#[utoipa::path(
    delete,
    path = "/api/v1/schedules/{id}",
    tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub async fn delete_schedule(
    State(state): State<AppState>,
    Standard(caller): Standard,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tx = state.store.begin().await?;
    if !tx.delete_schedule(id).await? {
        return Err(ApiError::not_found("schedule"));
    }
    tx.audit(&state.entry(
        Some(&caller),
        "schedule.delete",
        Some(format!("schedule:{id}")),
        "success",
        None,
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
