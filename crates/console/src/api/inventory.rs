//! Nodes and findings, read from the store.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rampart_model::Severity;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, IdPath, Standard};
use super::{AppState, paging};
use crate::clock;
use crate::model::{Finding, Node, NodeDetail, Page, Suppression};
use crate::store::inventory::{
    FINDING_KINDS, NODE_KINDS, NOT_SUPPRESSED, SUPPRESSED, severity_rank,
};
use crate::store::{Filter, Sort};

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NodeListQuery {
    /// `host`, `container`, `image`, `pod`, `namespace`, `process`,
    /// `internet`, `service` (Kubernetes Services) or `ingress`
    /// (Kubernetes Ingresses).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only active (true) or inactive (false) nodes.
    pub active: Option<bool>,
    /// Only nodes whose name contains this (case-insensitive).
    pub q: Option<String>,
    /// Only children of this node.
    pub parent: Option<i64>,
    /// `id`, `name`, `type`, `first_seen` or `last_seen`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// Nodes, filtered, sorted and paged. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/nodes",
    tag = "inventory",
    params(NodeListQuery),
    responses(
        (status = 200, description = "A page of nodes", body = Page<Node>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_nodes(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<NodeListQuery>,
) -> Result<Json<Page<Node>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "id"),
            ("name", "name"),
            ("type", "kind"),
            ("first_seen", "first_seen"),
            ("last_seen", "last_seen"),
        ],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(k) = q.kind {
        if !NODE_KINDS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "type is one of {}",
                NODE_KINDS.join(", ")
            )));
        }
        filter.eq("kind", k);
    }
    if let Some(a) = q.active {
        filter.eq("active", a);
    }
    if let Some(text) = q.q.as_deref().filter(|s| !s.is_empty()) {
        filter.contains("name", text);
    }
    if let Some(p) = q.parent {
        filter.eq("parent_id", p);
    }
    Ok(Json(state.store.list_nodes(&filter, &sort, paging).await?))
}

/// One node with a summary of its open findings. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/nodes/{id}",
    tag = "inventory",
    params(("id" = i64, Path, description = "Node id")),
    responses(
        (status = 200, description = "The node", body = NodeDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
pub async fn get_node(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<NodeDetail>, ApiError> {
    let node = state
        .store
        .node(id)
        .await?
        .ok_or_else(|| ApiError::not_found("node"))?;
    let findings = state.store.findings_summary(id).await?;
    let edges = state.store.edge_count(id).await?;
    Ok(Json(NodeDetail {
        node,
        findings,
        edges,
    }))
}

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingListQuery {
    /// `vulnerability`, `secret`, `malware` or `posture`.
    pub kind: Option<String>,
    /// Only findings of this node.
    pub node: Option<i64>,
    /// Only this severity (`critical`, `high`, `medium`, `low`, `info`, `unknown`).
    pub severity: Option<String>,
    /// Only this severity or worse.
    pub min_severity: Option<String>,
    /// `open` (default) or `fixed`; `all` for both.
    pub status: Option<String>,
    /// Only this advisory or rule id.
    pub rule_id: Option<String>,
    /// `false` (default): hide suppressed findings; `true`: only them; `all`.
    pub suppressed: Option<String>,
    /// `id`, `severity`, `first_seen`, `last_seen` or `rule_id`; prefix `-` for
    /// descending (default `-severity`).
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

fn severity(s: &str) -> Result<Severity, ApiError> {
    Severity::from_str(s).map_err(|_| {
        ApiError::bad_request(format!(
            "{s:?} is not a severity (critical, high, medium, low, info, unknown)"
        ))
    })
}

/// Findings across nodes, deduplicated per node. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "inventory",
    params(FindingListQuery),
    responses(
        (status = 200, description = "A page of findings", body = Page<Finding>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_findings(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<FindingListQuery>,
) -> Result<Json<Page<Finding>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "id"),
            ("severity", "severity_rank"),
            ("first_seen", "first_seen"),
            ("last_seen", "last_seen"),
            ("rule_id", "rule_id"),
        ],
        ("severity_rank", true),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(k) = q.kind {
        if !FINDING_KINDS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "kind is one of {}",
                FINDING_KINDS.join(", ")
            )));
        }
        filter.eq("kind", k);
    }
    if let Some(n) = q.node {
        filter.eq("node_id", n);
    }
    if let Some(s) = q.severity {
        filter.eq("severity_rank", severity_rank(severity(&s)?));
    }
    if let Some(s) = q.min_severity {
        filter.ge("severity_rank", severity_rank(severity(&s)?));
    }
    match q.status.as_deref().unwrap_or("open") {
        "all" => {}
        s @ ("open" | "fixed") => {
            filter.eq("status", s);
        }
        _ => return Err(ApiError::bad_request("status is open, fixed or all")),
    }
    if let Some(r) = q.rule_id {
        filter.eq("rule_id", r);
    }
    match q.suppressed.as_deref().unwrap_or("false") {
        "false" => {
            filter.raw(NOT_SUPPRESSED);
        }
        "true" => {
            filter.raw(SUPPRESSED);
        }
        "all" => {}
        _ => return Err(ApiError::bad_request("suppressed is false, true or all")),
    }
    Ok(Json(
        state.store.list_findings(&filter, &sort, paging).await?,
    ))
}

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuppressionListQuery {
    /// Only suppressions of this rule id.
    pub rule_id: Option<String>,
    /// Only suppressions of this node.
    pub node: Option<i64>,
    /// Only global (true) or per-node (false) suppressions.
    pub global: Option<bool>,
    /// `id` or `rule_id`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// A suppression to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuppression {
    /// The advisory or rule id to mask (e.g. `CVE-2024-1234`).
    pub rule_id: String,
    /// Only on this node; none: everywhere.
    pub node_id: Option<i64>,
    /// Why (required, 1-1000 characters).
    pub reason: String,
}

/// Finding suppressions. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/suppressions",
    tag = "inventory",
    params(SuppressionListQuery),
    responses(
        (status = 200, description = "A page of suppressions", body = Page<Suppression>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_suppressions(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<SuppressionListQuery>,
) -> Result<Json<Page<Suppression>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[("id", "id"), ("rule_id", "rule_id")],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(r) = q.rule_id {
        filter.eq("rule_id", r);
    }
    if let Some(n) = q.node {
        filter.eq("node_id", n);
    }
    if let Some(g) = q.global {
        filter.null("node_id", g);
    }
    Ok(Json(
        state
            .store
            .list_suppressions(&filter, &sort, paging)
            .await?,
    ))
}

/// Masks findings of a rule, on one node or everywhere, with a reason
/// (audited). Role: standard.
#[utoipa::path(
    post,
    path = "/api/v1/suppressions",
    tag = "inventory",
    request_body = NewSuppression,
    responses(
        (status = 201, description = "Added", body = Suppression),
        (status = 400, description = "Missing rule id or reason, unknown node", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
    )
)]
pub async fn create_suppression(
    State(state): State<AppState>,
    Standard(caller): Standard,
    ApiJson(req): ApiJson<NewSuppression>,
) -> Result<(StatusCode, Json<Suppression>), ApiError> {
    let rule_id = req.rule_id.trim();
    if rule_id.is_empty() || rule_id.len() > 256 {
        return Err(ApiError::bad_request("rule_id has 1-256 characters"));
    }
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::bad_request(
            "a reason of 1-1000 characters is required",
        ));
    }
    if let Some(n) = req.node_id
        && state.store.node(n).await?.is_none()
    {
        return Err(ApiError::bad_request(format!("there is no node {n}")));
    }
    let tx = state.store.begin().await?;
    let s = tx
        .create_suppression(
            rule_id,
            req.node_id,
            reason,
            (Some(caller.user_id), &caller.username),
            clock::now(),
        )
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "suppression.create",
        Some(format!("suppression:{}", s.id)),
        "success",
        Some(json!({ "rule_id": s.rule_id, "node_id": s.node_id, "reason": s.reason })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Removes a suppression: its findings show again (audited). Role: standard.
#[utoipa::path(
    delete,
    path = "/api/v1/suppressions/{id}",
    tag = "inventory",
    params(("id" = i64, Path, description = "Suppression id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 404, description = "No such suppression", body = ErrorBody),
    )
)]
pub async fn delete_suppression(
    State(state): State<AppState>,
    Standard(caller): Standard,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tx = state.store.begin().await?;
    let s = tx
        .suppression(id)
        .await?
        .ok_or_else(|| ApiError::not_found("suppression"))?;
    if !tx.delete_suppression(id).await? {
        return Err(ApiError::not_found("suppression"));
    }
    tx.audit(&state.entry(
        Some(&caller),
        "suppression.delete",
        Some(format!("suppression:{id}")),
        "success",
        Some(json!({ "rule_id": s.rule_id, "node_id": s.node_id })),
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
