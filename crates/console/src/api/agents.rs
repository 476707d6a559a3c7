//! Agents: enrollment with one-time tokens, listing and revocation, and the
//! scan-runner endpoints agents call with their own credential.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Admin, AgentCaller, ApiJson, ApiQuery, Caller, ClientAddr, IdPath};
use super::{AppState, paging};
use crate::auth::{new_secret, secret_hash, secret_prefix};
use crate::clock;
use crate::model::{Agent, EnrollmentToken, Page, Scan};
use crate::store::agents::NewEnrollment;
use crate::store::{Filter, NewAudit, Sort};
use rampart_model::agent::Job;

/// An enrollment token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollmentRequest {
    /// What it is for (1-100 characters).
    pub name: String,
    /// Lifetime in hours, 1-720 (default 24).
    pub expires_in_hours: Option<i64>,
}

/// The created enrollment token: `token` is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedEnrollment {
    pub token: String,
    pub info: EnrollmentToken,
}

/// What an agent sends to enroll.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub enrollment_token: String,
    /// The agent's host name (1-255 characters).
    pub hostname: String,
}

/// The enrolled agent and its credential (shown this once; the agent keeps it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Enrolled {
    pub agent: Agent,
    pub credential: String,
}

/// List paging and sort.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentListQuery {
    /// Only revoked (true) or live (false) entries.
    pub revoked: Option<bool>,
    /// `id` or `created_at`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

fn list_parts(q: &AgentListQuery) -> Result<(Filter, Sort), ApiError> {
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[("id", "id"), ("created_at", "created_at")],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(r) = q.revoked {
        filter.null("revoked_at", !r);
    }
    Ok((filter, sort))
}

/// Creates a one-time enrollment token. Role: admin.
#[utoipa::path(
    post,
    path = "/api/v1/agents/enrollment-tokens",
    tag = "agents",
    request_body = NewEnrollmentRequest,
    responses(
        (status = 201, description = "Created; the token is shown once", body = CreatedEnrollment),
        (status = 400, description = "Invalid name or lifetime", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewEnrollmentRequest>,
) -> Result<(StatusCode, Json<CreatedEnrollment>), ApiError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("the name has 1-100 characters"));
    }
    let hours = req.expires_in_hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::bad_request("expires_in_hours is 1-720"));
    }
    let now = clock::now();
    let secret = new_secret("rme")?;
    let tx = state.store.begin().await?;
    let info = tx
        .create_enrollment_token(
            &NewEnrollment {
                name,
                token_hash: &secret_hash(&secret),
                prefix: &secret_prefix(&secret),
                created_by: Some(caller.user_id),
                created_by_name: &caller.username,
                expires_at: now + hours * 3600,
            },
            now,
        )
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "enrollment_token.create",
        Some(format!("enrollment_token:{}", info.id)),
        "success",
        Some(json!({ "name": name, "expires_at": info.expires_at })),
    ))
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEnrollment {
            token: secret,
            info,
        }),
    ))
}

/// Enrollment tokens (never their secrets). Role: admin.
#[utoipa::path(
    get,
    path = "/api/v1/agents/enrollment-tokens",
    tag = "agents",
    params(AgentListQuery),
    responses(
        (status = 200, description = "A page of enrollment tokens", body = Page<EnrollmentToken>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn list_enrollment_tokens(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AgentListQuery>,
) -> Result<Json<Page<EnrollmentToken>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let (filter, sort) = list_parts(&q)?;
    Ok(Json(
        state
            .store
            .list_enrollment_tokens(&filter, &sort, paging)
            .await?,
    ))
}

/// Revokes an unused enrollment token. Role: admin.
#[utoipa::path(
    delete,
    path = "/api/v1/agents/enrollment-tokens/{id}",
    tag = "agents",
    params(("id" = i64, Path, description = "Enrollment token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
        (status = 409, description = "Already used or revoked", body = ErrorBody),
    )
)]
pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tx = state.store.begin().await?;
    match tx.revoke_enrollment_token(id, clock::now()).await? {
        None => Err(ApiError::not_found("enrollment token")),
        Some(false) => Err(ApiError::conflict("already used or revoked")),
        Some(true) => {
            tx.audit(&state.entry(
                Some(&caller),
                "enrollment_token.revoke",
                Some(format!("enrollment_token:{id}")),
                "success",
                None,
            ))
            .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// Exchanges a one-time enrollment token for the agent's own credential
/// (`rma_...`, shown once). Rate-limited per client address like logins.
/// Role: none.
#[utoipa::path(
    post,
    path = "/api/v1/agents/enroll",
    tag = "agents",
    security(()),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = Enrolled),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Unknown, used, revoked or expired token", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    )
)]
pub async fn enroll(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<Enrolled>), ApiError> {
    let now = clock::now();
    if let Some(addr) = client.0
        && let Err(wait) = state.login_limiter.check(addr.ip(), now)
    {
        return Err(ApiError::rate_limited(wait));
    }
    let hostname = req.hostname.trim();
    if hostname.is_empty() || hostname.len() > 255 {
        return Err(ApiError::bad_request("the hostname has 1-255 characters"));
    }
    let credential = new_secret("rma")?;
    let agent = state
        .store
        .enroll_agent(
            &secret_hash(&req.enrollment_token),
            hostname,
            &secret_hash(&credential),
            &secret_prefix(&credential),
            now,
        )
        .await?;
    let (outcome, target) = match &agent {
        Some(a) => ("success", Some(format!("agent:{}", a.id))),
        None => ("failure", None),
    };
    state
        .audit_entry(NewAudit {
            at: now,
            actor: format!("agent@{hostname}"),
            action: "agent.enroll".into(),
            target,
            source: client.source(),
            outcome: outcome.into(),
            ..NewAudit::default()
        })
        .await;
    let agent = agent.ok_or_else(ApiError::unauthenticated)?;
    Ok((StatusCode::CREATED, Json(Enrolled { agent, credential })))
}

/// Enrolled agents. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    tag = "agents",
    params(AgentListQuery),
    responses(
        (status = 200, description = "A page of agents", body = Page<Agent>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_agents(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<AgentListQuery>,
) -> Result<Json<Page<Agent>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let (filter, sort) = list_parts(&q)?;
    Ok(Json(state.store.list_agents(&filter, &sort, paging).await?))
}

/// Revokes an agent's credential. Role: admin.
#[utoipa::path(
    delete,
    path = "/api/v1/agents/{id}",
    tag = "agents",
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "Already revoked", body = ErrorBody),
    )
)]
pub async fn revoke_agent(
    State(state): State<AppState>,
    Admin(caller): Admin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tx = state.store.begin().await?;
    match tx.revoke_agent(id, clock::now()).await? {
        None => Err(ApiError::not_found("agent")),
        Some(false) => Err(ApiError::conflict("already revoked")),
        Some(true) => {
            tx.audit(&state.entry(
                Some(&caller),
                "agent.revoke",
                Some(format!("agent:{id}")),
                "success",
                None,
            ))
            .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// How a run ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    pub succeeded: bool,
    /// Why it failed (recorded as the scan's reason).
    pub reason: Option<String>,
}

/// Takes this agent's oldest queued scan: 200 with the job
/// (`model::agent::Job`: the scan id, targets as the agent names them
/// (`host`, `container:ID`, `image:REF`), scanners, timeout, heartbeat
/// interval), now `running` for this agent; 204 when nothing is queued for
/// it. Scans of other agents' hosts and of targets only a central runner
/// scans are never given to an agent. Role: agent.
#[utoipa::path(
    post,
    path = "/api/v1/agent/scans/claim",
    tag = "agents",
    responses(
        (status = 200, description = "A job to run (model::agent::Job)", body = Object),
        (status = 204, description = "Nothing queued for this agent"),
        (status = 401, description = "Not an agent credential", body = ErrorBody),
    )
)]
pub async fn claim_scan(
    State(state): State<AppState>,
    agent: AgentCaller,
) -> Result<Response, ApiError> {
    let claimed = state
        .store
        .claim_agent_scan(agent.agent_id, &agent.runner(), clock::now())
        .await?;
    Ok(match claimed {
        Some(job) => Json(Job {
            scan_id: job.scan_id,
            targets: job.targets.into_iter().map(|t| t.target).collect(),
            scanners: job.scanners,
            timeout_secs: job.timeout_secs,
            heartbeat_secs: u64::try_from(state.config.scan_heartbeat_timeout_secs / 4)
                .unwrap_or(1)
                .max(1),
        })
        .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The running agent says it is alive: 204, or 409 when the scan is no
/// longer this agent's to run (cancelled, timed out, reassigned): stop.
/// Role: agent.
#[utoipa::path(
    post,
    path = "/api/v1/agent/scans/{id}/heartbeat",
    tag = "agents",
    params(("id" = i64, Path, description = "Scan id")),
    responses(
        (status = 204, description = "Go on"),
        (status = 401, description = "Not an agent credential", body = ErrorBody),
        (status = 409, description = "Stop: the scan is not yours to run any more", body = ErrorBody),
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    agent: AgentCaller,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .heartbeat_scan(id, &agent.runner(), clock::now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::conflict(
            "this scan is not running for you any more; stop",
        ))
    }
}

/// The agent reports the end of its run. Role: agent.
#[utoipa::path(
    post,
    path = "/api/v1/agent/scans/{id}/finish",
    tag = "agents",
    params(("id" = i64, Path, description = "Scan id")),
    request_body = FinishRequest,
    responses(
        (status = 200, description = "Recorded", body = Scan),
        (status = 401, description = "Not an agent credential", body = ErrorBody),
        (status = 409, description = "The scan is not running for this agent", body = ErrorBody),
    )
)]
pub async fn finish(
    State(state): State<AppState>,
    agent: AgentCaller,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<FinishRequest>,
) -> Result<Json<Scan>, ApiError> {
    let reason = req.reason.map(|r| r.chars().take(1000).collect::<String>());
    state
        .store
        .finish_scan(
            id,
            &agent.runner(),
            req.succeeded,
            reason.as_deref(),
            clock::now(),
        )
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::conflict("this scan is not running for you"))
}
