//! The HTTP API: `/healthz`, `/metrics` and everything under `/api/v1`,
//! with its OpenAPI document generated from the handlers.

mod agents;
mod audit;
mod auth;
pub mod error;
pub mod extract;
mod health;
mod inventory;
mod registries;
pub mod report;
mod scans;
mod schedules;
mod settings;
pub mod threat;
mod tokens;
mod topology;
mod users;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ConsoleConfig;
use crate::auth::RateLimiter;
use crate::clock;
use crate::metrics::Metrics;
use crate::store::{NewAudit, Paging, Store};
use error::ApiError;
use extract::{Caller, SESSION_COOKIE};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ConsoleConfig>,
    pub login_limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    pub openapi_json: Arc<OnceLock<String>>,
    /// Encrypts and decrypts registry credentials.
    pub secrets: Arc<crate::crypto::SecretBox>,
    /// Agent reports being ingested.
    pub ingest: Arc<report::Ingest>,
    /// The cached ThreatGraph analysis.
    pub threat: Arc<crate::threat::ThreatCache>,
}

impl AppState {
    /// An audit entry by `actor` from where it called, now; to write in
    /// the action's own transaction (`tx.audit(&entry)`), so that the
    /// action does not happen unless its entry is written.
    pub fn entry(
        &self,
        actor: Option<&Caller>,
        action: &str,
        target: Option<String>,
        outcome: &str,
        detail: Option<serde_json::Value>,
    ) -> NewAudit {
        NewAudit {
            at: clock::now(),
            actor_id: actor.map(|c| c.user_id),
            actor: actor.map_or_else(|| "-".to_string(), |c| c.username.clone()),
            action: action.to_string(),
            target,
            source: actor.and_then(|c| c.source.clone()),
            outcome: outcome.to_string(),
            detail,
        }
    }

    /// The runtime settings in force.
    pub async fn settings(&self) -> Result<crate::store::settings::Settings, ApiError> {
        let defaults = crate::store::settings::Settings::defaults(&self.config);
        Ok(self.store.settings(&defaults).await?)
    }

    /// Appends to the audit log outside any transaction (refusals, failed
    /// logins: records of things that did not change state). A failure to
    /// write is logged, not returned.
    pub async fn audit(
        &self,
        actor: Option<&Caller>,
        action: &str,
        target: Option<String>,
        outcome: &str,
        detail: Option<serde_json::Value>,
    ) {
        let entry = self.entry(actor, action, target, outcome, detail);
        self.audit_entry(entry).await;
    }

    /// Appends a prepared entry (see [`AppState::audit`]).
    pub async fn audit_entry(&self, entry: NewAudit) {
        if let Err(e) = self.store.audit(&entry).await {
            tracing::error!("writing the audit log ({}): {e}", entry.action);
        }
    }
}

/// Paging parameters shared by every list.
pub fn paging(limit: Option<i64>, offset: Option<i64>) -> Result<Paging, ApiError> {
    let limit = limit.unwrap_or(50);
    let offset = offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    if offset < 0 {
        return Err(ApiError::bad_request("offset must not be negative"));
    }
    Ok(Paging { limit, offset })
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/auth/login or an API token",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rampart console API",
        description = "Every operation's description ends with the role it needs \
                       (`Role: none` for public ones). Errors share one shape, \
                       `ErrorBody`; lists take `limit`, `offset` and `sort`."
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    components(schemas(error::ErrorBody, error::ErrorDetail))
)]
struct ApiDoc;

/// The router (state applied) and the OpenAPI document.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
        .routes(routes!(health::openapi_json))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(audit::list_audit))
        .routes(routes!(inventory::list_nodes))
        .routes(routes!(inventory::get_node))
        .routes(routes!(inventory::list_findings))
        .routes(routes!(
            inventory::list_suppressions,
            inventory::create_suppression
        ))
        .routes(routes!(inventory::delete_suppression))
        .routes(routes!(scans::list_scans, scans::create_scan))
        .routes(routes!(scans::get_scan))
        .routes(routes!(scans::cancel_scan))
        .routes(routes!(scans::diff_scan))
        .routes(routes!(
            agents::list_enrollment_tokens,
            agents::create_enrollment_token
        ))
        .routes(routes!(agents::revoke_enrollment_token))
        .routes(routes!(agents::enroll))
        .routes(routes!(agents::list_agents))
        .routes(routes!(agents::revoke_agent))
        .routes(routes!(agents::claim_scan))
        .routes(routes!(agents::heartbeat))
        .routes(routes!(agents::finish))
        .routes(routes!(settings::get_settings, settings::update_settings))
        .routes(routes!(
            schedules::list_schedules,
            schedules::create_schedule
        ))
        .routes(routes!(
            schedules::get_schedule,
            schedules::update_schedule,
            schedules::delete_schedule
        ))
        .routes(routes!(
            registries::list_registries,
            registries::create_registry
        ))
        .routes(routes!(
            registries::get_registry,
            registries::delete_registry
        ))
        .routes(routes!(registries::list_repositories))
        .routes(routes!(registries::list_tags))
        .routes(routes!(registries::scan_registry))
        .routes(routes!(report::report))
        .routes(routes!(report::results))
        .routes(routes!(topology::topology))
        .routes(routes!(threat::top))
        .routes(routes!(threat::paths))
        .routes(routes!(threat::graph))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    if let Ok(json) = doc.to_pretty_json() {
        let _ = state.openapi_json.set(json);
    }
    let router = router
        .fallback(crate::ui::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state);
    (router, doc)
}

async fn method_not_allowed() -> ApiError {
    ApiError {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "method not allowed on this path".into(),
        retry_after: None,
    }
}

/// Counts and times every request, and adds the security headers.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // Read the whole (bounded) body first: a handler that refuses a request
    // without reading its body would otherwise leave bytes on the
    // connection, and the server would have to close it under a client
    // that is about to reuse it.
    let (parts, body) = req.into_parts();
    let limit = if report::is_upload(&path) {
        report::MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let mut resp = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(_) => {
            let mut r = ApiError {
                status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                code: "payload_too_large",
                message: format!("request bodies are limited to {limit} bytes"),
                retry_after: None,
            }
            .into_response();
            // The rest of the body is not read: the connection cannot be reused.
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if method != Method::OPTIONS {
        state.metrics.observe(
            method.as_str(),
            &path,
            resp.status().as_u16(),
            start.elapsed(),
        );
    }
    resp
}
