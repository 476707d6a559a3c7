//! API tokens: created by their owner, shown once, stored hashed, revocable.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, IdPath};
use super::{AppState, paging};
use crate::auth::{new_secret, secret_hash, secret_prefix};
use crate::clock;
use crate::model::{Page, Role, Token};
use crate::store::{Filter, NewToken, Sort};

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenListQuery {
    /// `session` or `api`.
    pub kind: Option<String>,
    /// Only revoked (true) or unrevoked (false) tokens.
    pub revoked: Option<bool>,
    /// Only this user's tokens (admins; others always see their own only).
    pub user_id: Option<i64>,
    /// `id`, `name`, `created_at`, `expires_at` or `last_used_at`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What it is for (1-100 characters).
    pub name: String,
    /// Cap the token below the owner's role (never above it).
    pub scope: Option<Role>,
    /// Lifetime in days (1-3650); none: until revoked.
    pub expires_in_days: Option<i64>,
}

/// The created token: `token` is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub info: Token,
}

/// Tokens: the caller's own, or anyone's for an admin. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    params(TokenListQuery),
    responses(
        (status = 200, description = "A page of tokens (never their secrets)", body = Page<Token>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TokenListQuery>,
) -> Result<Json<Page<Token>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "t.id"),
            ("name", "t.name"),
            ("created_at", "t.created_at"),
            ("expires_at", "t.expires_at"),
            ("last_used_at", "t.last_used_at"),
        ],
        ("t.id", false),
        "t.id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if caller.role == Role::Admin {
        if let Some(u) = q.user_id {
            filter.eq("t.user_id", u);
        }
    } else {
        filter.eq("t.user_id", caller.user_id);
    }
    match q.kind.as_deref() {
        None => {}
        Some(k @ ("session" | "api")) => {
            filter.eq("t.kind", k);
        }
        Some(_) => return Err(ApiError::bad_request("kind is session or api")),
    }
    if let Some(r) = q.revoked {
        filter.null("t.revoked_at", !r);
    }
    let page = state.store.list_tokens(&filter, &sort, paging).await?;
    Ok(Json(Page {
        items: page.items.iter().map(|t| t.to_api()).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Creates an API token for the caller, at most with the caller's role.
/// The secret is in the answer only. Role: read-only.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; the secret is shown once", body = CreatedToken),
        (status = 400, description = "Invalid name, scope or lifetime", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Scope above the caller's role", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("the name has 1-100 characters"));
    }
    if let Some(s) = req.scope
        && s > caller.role
    {
        return Err(ApiError::forbidden(format!(
            "a token cannot have more than your role ({})",
            caller.role.as_str()
        )));
    }
    // A scoped-down token never mints a broader one.
    let scope = req
        .scope
        .or((caller.token_kind == "api").then_some(caller.role));
    let now = clock::now();
    let expires_at = match req.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(now + d * 86_400),
        Some(_) => return Err(ApiError::bad_request("expires_in_days is 1-3650")),
    };
    let secret = new_secret("rmt")?;
    let tx = state.store.begin().await?;
    let token = tx
        .create_token(&NewToken {
            user_id: caller.user_id,
            kind: "api",
            name,
            token_hash: &secret_hash(&secret),
            prefix: &secret_prefix(&secret),
            scope,
            created_at: now,
            expires_at,
        })
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "token.create",
        Some(format!("token:{}", token.id)),
        "success",
        Some(json!({ "name": name, "scope": scope, "expires_at": token.to_api().expires_at })),
    ))
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret,
            info: token.to_api(),
        }),
    ))
}

/// Revokes a token (a session or an API token): the caller's own, or
/// anyone's for an admin. Role: read-only.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such token of yours", body = ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let token = state
        .store
        .token(id)
        .await?
        .filter(|t| caller.role == Role::Admin || t.user_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found("token"))?;
    let tx = state.store.begin().await?;
    if tx.revoke_token(token.id, clock::now()).await? {
        tx.audit(&state.entry(
            Some(&caller),
            "token.revoke",
            Some(format!("token:{id}")),
            "success",
            Some(json!({ "owner": token.username, "kind": token.kind })),
        ))
        .await?;
        tx.commit().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
