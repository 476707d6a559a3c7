//! Reading the audit log (admins only).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::extract::{Admin, ApiQuery};
use super::{AppState, paging};
use crate::clock::parse_time;
use crate::model::{AuditEntry, Page};
use crate::store::{Filter, Sort};

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// Only entries of this user name.
    pub actor: Option<String>,
    /// Only this action (`auth.login`, `user.create`, ...).
    pub action: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// Only entries at or after this time (RFC 3339 `...Z`, or Unix seconds).
    pub since: Option<String>,
    /// Only entries at or before this time.
    pub until: Option<String>,
    /// `id`, `at`, `actor` or `action`; prefix `-` for descending (default `-id`).
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// The audit log, newest first by default. Role: admin.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditListQuery),
    responses(
        (status = 200, description = "A page of audit entries", body = Page<AuditEntry>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AuditListQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "id"),
            ("at", "at"),
            ("actor", "actor"),
            ("action", "action"),
        ],
        ("id", true),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(a) = q.actor {
        filter.eq("actor", a);
    }
    if let Some(a) = q.action {
        filter.eq("action", a);
    }
    if let Some(o) = q.outcome {
        filter.eq("outcome", o);
    }
    if let Some(s) = q.since {
        let t = parse_time(&s).ok_or_else(|| ApiError::bad_request("since: not a time"))?;
        filter.ge("at", t);
    }
    if let Some(s) = q.until {
        let t = parse_time(&s).ok_or_else(|| ApiError::bad_request("until: not a time"))?;
        filter.le("at", t);
    }
    Ok(Json(state.store.list_audit(&filter, &sort, paging).await?))
}
