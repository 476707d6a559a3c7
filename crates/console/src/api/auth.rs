//! Login, logout, the caller's identity, changing one's password.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller, ClientAddr, SESSION_COOKIE};
use crate::auth::{
    MIN_PASSWORD_LEN, dummy_hash, hash_password, new_secret, secret_hash, secret_prefix,
    verify_password,
};
use crate::clock::{self, rfc3339};
use crate::model::{Role, User};
use crate::store::{NewAudit, NewToken, UserChanges};

/// User name and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as a cookie.
    pub token: String,
    /// `Bearer`.
    pub token_type: String,
    pub expires_at: String,
    pub user: User,
}

/// Who is calling.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: User,
    /// The role in force (the user's, capped by the token's scope).
    pub role: Role,
    /// `session` or `api`.
    pub token_kind: String,
    pub token_id: i64,
}

/// Password change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

async fn verify(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// Checks a new password against the policy.
pub fn check_password(p: &str) -> Result<(), ApiError> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if p.len() > 1024 {
        return Err(ApiError::bad_request("the password is too long"));
    }
    Ok(())
}

/// Hashes off the async threads.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(ApiError::from)
}

/// Exchanges a user name and password for a session token (also set as a
/// `Secure; HttpOnly; SameSite=Strict` cookie). Attempts are rate-limited
/// per client address, and an account is locked after repeated failures.
/// Role: none.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 423, description = "Account locked after failed logins", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let cfg = &state.config;
    if let Some(addr) = client.0
        && let Err(wait) = state.login_limiter.check(addr.ip(), now)
    {
        state.metrics.login_failure("rate_limited");
        return Err(ApiError::rate_limited(wait));
    }
    let fail = |reason: &'static str, actor_id: Option<i64>| NewAudit {
        at: now,
        actor_id,
        actor: req.username.chars().take(128).collect(),
        action: "auth.login".into(),
        target: actor_id.map(|id| format!("user:{id}")),
        source: client.source(),
        outcome: "failure".into(),
        detail: Some(json!({ "reason": reason })),
    };
    let Some(user) = state.store.user_by_name(&req.username).await? else {
        // Same work as for a real user, so timing does not tell names apart.
        verify(req.password.clone(), dummy_hash().to_string()).await?;
        state.audit_entry(fail("unknown user", None)).await;
        state.metrics.login_failure("invalid_credentials");
        return Err(ApiError::invalid_credentials());
    };
    if let Some(until) = user.locked_until.filter(|t| *t > now) {
        state
            .audit_entry(fail("account locked", Some(user.id)))
            .await;
        state.metrics.login_failure("locked");
        return Err(ApiError::locked(until - now));
    }
    let ok = verify(req.password.clone(), user.password_hash.clone()).await?;
    if !ok || user.disabled {
        let reason = if ok {
            "account disabled"
        } else {
            "wrong password"
        };
        state.audit_entry(fail(reason, Some(user.id))).await;
        state.metrics.login_failure("invalid_credentials");
        if !ok
            && let Some(until) = state
                .store
                .record_login_failure(user.id, cfg.lockout_threshold, cfg.lockout_secs, now)
                .await?
        {
            let mut e = fail("too many failed logins", Some(user.id));
            e.action = "auth.lockout".into();
            e.outcome = "success".into();
            e.detail = Some(json!({ "locked_until": rfc3339(until) }));
            state.audit_entry(e).await;
        }
        return Err(ApiError::invalid_credentials());
    }
    state.store.record_login_success(user.id, now).await?;
    let secret = new_secret("rms")?;
    let session_ttl_secs = state.settings().await?.session_ttl_secs;
    let expires_at = now.saturating_add(session_ttl_secs);
    let token = state
        .store
        .create_token(&NewToken {
            user_id: user.id,
            kind: "session",
            name: "login",
            token_hash: &secret_hash(&secret),
            prefix: &secret_prefix(&secret),
            scope: None,
            created_at: now,
            expires_at: Some(expires_at),
        })
        .await?;
    state
        .audit_entry(NewAudit {
            at: now,
            actor_id: Some(user.id),
            actor: user.username.clone(),
            action: "auth.login".into(),
            target: Some(format!("user:{}", user.id)),
            source: client.source(),
            outcome: "success".into(),
            detail: Some(json!({ "session": token.id })),
        })
        .await;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; Max-Age={session_ttl_secs}; Secure; HttpOnly; SameSite=Strict"
    );
    let body = LoginResponse {
        token: secret,
        token_type: "Bearer".into(),
        expires_at: rfc3339(expires_at),
        user: user.to_api(now),
    };
    let mut resp = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Ends the current session (revokes its token, clears the cookie).
/// Role: read-only.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Called with an API token, not a session", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if caller.token_kind != "session" {
        return Err(ApiError::bad_request(
            "this is an API token; revoke it with DELETE /api/v1/tokens/{id}",
        ));
    }
    let tx = state.store.begin().await?;
    tx.revoke_token(caller.token_id, clock::now()).await?;
    tx.audit(&state.entry(
        Some(&caller),
        "auth.logout",
        Some(format!("token:{}", caller.token_id)),
        "success",
        None,
    ))
    .await?;
    tx.commit().await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "rampart_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
        ),
    );
    Ok(resp)
}

/// The calling user and the role in force. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let user = state
        .store
        .user(caller.user_id)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(Json(Me {
        user: user.to_api(clock::now()),
        role: caller.role,
        token_kind: caller.token_kind,
        token_id: caller.token_id,
    }))
}

/// Changes the caller's own password; every other session and API token
/// of the user is revoked. Role: read-only.
#[utoipa::path(
    put,
    path = "/api/v1/auth/password",
    tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Weak new password", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Wrong current password", body = ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    check_password(&req.new_password)?;
    let user = state
        .store
        .user(caller.user_id)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    if !verify(req.current_password, user.password_hash).await? {
        state
            .audit(
                Some(&caller),
                "auth.password",
                Some(format!("user:{}", caller.user_id)),
                "failure",
                Some(json!({ "reason": "wrong current password" })),
            )
            .await;
        return Err(ApiError::forbidden("the current password is wrong"));
    }
    let now = clock::now();
    let changes = UserChanges {
        password_hash: Some(hash(req.new_password).await?),
        ..UserChanges::default()
    };
    let tx = state.store.begin().await?;
    tx.update_user(caller.user_id, &changes, now).await?;
    tx.revoke_user_tokens(caller.user_id, now, Some(caller.token_id))
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "auth.password",
        Some(format!("user:{}", caller.user_id)),
        "success",
        None,
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
