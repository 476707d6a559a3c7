//! Extractors whose rejections use the API error shape, and the caller's
//! identity.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::secret_hash;
use crate::clock;
use crate::model::Role;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rampart_session";

/// A JSON body (400 with the reason when it does not parse).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Query parameters (400 with the reason when they do not parse).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A numeric `{id}` path parameter.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| IdPath(v))
            .map_err(|_| ApiError::bad_request("the id in the path must be an integer"))
    }
}

/// The client's address (the TCP peer; proxies' headers are not trusted).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl ClientAddr {
    /// For the audit log.
    pub fn source(&self) -> Option<String> {
        self.0.map(|a| a.ip().to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    /// The role in force: the user's, capped by the token's scope.
    pub role: Role,
    pub token_id: i64,
    /// `session` or `api`.
    pub token_kind: String,
    pub source: Option<String>,
}

impl Caller {
    /// 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {} role; you act as {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }
}

/// The bearer secret: `Authorization: Bearer ...`, else the session cookie.
fn presented_secret(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, rest) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_string());
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == SESSION_COOKIE
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = presented_secret(parts).ok_or_else(ApiError::unauthenticated)?;
        let now = clock::now();
        let (token, user) = state
            .store
            .token_by_hash(&secret_hash(&secret))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let live = token.revoked_at.is_none()
            && token.expires_at.is_none_or(|t| t > now)
            && !user.disabled;
        if !live {
            return Err(ApiError::unauthenticated());
        }
        if let Err(e) = state.store.touch_token(token.id, now).await {
            tracing::warn!("recording token use: {e}");
        }
        let role = token.scope.map_or(user.role, |s| s.min(user.role));
        let source = ClientAddr::from_request_parts(parts, state).await?.source();
        Ok(Caller {
            user_id: user.id,
            username: user.username,
            role,
            token_id: token.id,
            token_kind: token.kind,
            source,
        })
    }
}

/// An authenticated caller with the admin role. Checked before the body is
/// read, so a refused caller gets 403 whatever it sent.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if let Err(e) = caller.require(Role::Admin) {
            audit_denied(parts, state, &caller, Role::Admin).await;
            return Err(e);
        }
        Ok(Admin(caller))
    }
}

/// An authenticated caller with at least the standard role (checked before
/// the body is read).
#[derive(Debug, Clone)]
pub struct Standard(pub Caller);

impl FromRequestParts<AppState> for Standard {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if let Err(e) = caller.require(Role::Standard) {
            audit_denied(parts, state, &caller, Role::Standard).await;
            return Err(e);
        }
        Ok(Standard(caller))
    }
}

/// Records a refused request in the audit log.
async fn audit_denied(parts: &Parts, state: &AppState, caller: &Caller, needed: Role) {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    state
        .audit(
            Some(caller),
            "access.denied",
            Some(format!("{} {route}", parts.method)),
            "denied",
            Some(serde_json::json!({
                "needs": needed.as_str(),
                "role": caller.role.as_str(),
            })),
        )
        .await;
}

/// An enrolled agent, authenticated by its credential (`rma_...`). User
/// sessions and API tokens are not agent credentials, and the other way
/// round.
#[derive(Debug, Clone)]
pub struct AgentCaller {
    pub agent_id: i64,
    pub hostname: String,
    pub source: Option<String>,
}

impl AgentCaller {
    /// The runner name scans record.
    pub fn runner(&self) -> String {
        format!("agent:{}", self.agent_id)
    }
}

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = presented_secret(parts).ok_or_else(ApiError::unauthenticated)?;
        let agent = state
            .store
            .agent_by_credential(&secret_hash(&secret), clock::now())
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let source = ClientAddr::from_request_parts(parts, state).await?.source();
        Ok(AgentCaller {
            agent_id: agent.id,
            hostname: agent.hostname,
            source,
        })
    }
}
