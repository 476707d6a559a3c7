//! Console-wide runtime settings.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Admin, ApiJson, Caller};
use crate::clock;
use crate::store::settings::{Settings, SettingsPatch};

/// The settings in force and their defaults.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    pub settings: Settings,
    pub defaults: Settings,
}

/// The settings in force and their defaults. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    responses(
        (status = 200, description = "The settings", body = SettingsView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<SettingsView>, ApiError> {
    let defaults = Settings::defaults(&state.config);
    let settings = state.store.settings(&defaults).await?;
    Ok(Json(SettingsView { settings, defaults }))
}

/// Changes settings (absent fields stay); audited as `settings.update`
/// with the old and new values. Role: admin.
#[utoipa::path(
    patch,
    path = "/api/v1/settings",
    tag = "settings",
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The settings now in force", body = SettingsView),
        (status = 400, description = "A value out of its range, or an unknown setting", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> Result<Json<SettingsView>, ApiError> {
    let defaults = Settings::defaults(&state.config);
    let now = clock::now();
    let tx = state.store.begin().await?;
    let mut settings = tx.settings(&defaults).await?;
    let changes = settings.apply(&patch).map_err(ApiError::bad_request)?;
    if !changes.is_empty() {
        let values: Vec<(&str, serde_json::Value)> = changes
            .iter()
            .map(|(name, _, new)| (*name, new.clone()))
            .collect();
        tx.put_settings(&values, &caller.username, now).await?;
        let detail: serde_json::Map<String, serde_json::Value> = changes
            .iter()
            .map(|(name, old, new)| ((*name).to_string(), json!({ "from": old, "to": new })))
            .collect();
        tx.audit(&state.entry(
            Some(&caller),
            "settings.update",
            Some("settings".into()),
            "success",
            Some(json!({ "changes": detail })),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(Json(SettingsView { settings, defaults }))
}
