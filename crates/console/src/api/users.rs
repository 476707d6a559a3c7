//! User management (admins only).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::auth::{check_password, hash};
use super::error::{ApiError, ErrorBody};
use super::extract::{Admin, ApiJson, ApiQuery, IdPath};
use super::{AppState, paging};
use crate::clock;
use crate::model::{Page, Role, User};
use crate::store::{Filter, Sort, UserChanges};

/// List filters, sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only users whose name contains this (case-insensitive).
    pub q: Option<String>,
    /// Only disabled (true) or enabled (false) users.
    pub disabled: Option<bool>,
    /// `id`, `username`, `role`, `created_at` or `last_login_at`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    /// 1-64 characters: letters, digits, `.`, `_`, `-`, `@`.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub role: Option<Role>,
    /// A new password (revokes the user's sessions and tokens).
    pub password: Option<String>,
    /// Disabling revokes the user's sessions and tokens.
    pub disabled: Option<bool>,
}

fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "user names have 1-64 characters: letters, digits, '.', '_', '-', '@'",
        ))
    }
}

/// Users, filtered, sorted and paged. Role: admin.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[
            ("id", "id"),
            ("username", "username"),
            ("role", "role"),
            ("created_at", "created_at"),
            ("last_login_at", "last_login_at"),
        ],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(r) = q.role {
        filter.eq("role", r.as_str());
    }
    if let Some(text) = q.q.as_deref().filter(|s| !s.is_empty()) {
        filter.contains("username", text);
    }
    if let Some(d) = q.disabled {
        filter.eq("disabled", d);
    }
    let page = state.store.list_users(&filter, &sort, paging).await?;
    let now = clock::now();
    Ok(Json(Page {
        items: page.items.iter().map(|u| u.to_api(now)).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Creates a user. Role: admin.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 400, description = "Invalid name or weak password", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    check_username(&req.username)?;
    check_password(&req.password)?;
    let now = clock::now();
    let hashed = hash(req.password).await?;
    let tx = state.store.begin().await?;
    let user = tx
        .create_user(&req.username, &hashed, req.role, now)
        .await
        .map_err(|e| match e {
            crate::error::StoreError::Conflict => {
                ApiError::conflict(format!("user {:?} already exists", req.username))
            }
            other => other.into(),
        })?;
    tx.audit(&state.entry(
        Some(&caller),
        "user.create",
        Some(format!("user:{}", user.id)),
        "success",
        Some(json!({ "username": user.username, "role": user.role })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user.to_api(now))))
}

/// One user. Role: admin.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    IdPath(id): IdPath,
) -> Result<Json<User>, ApiError> {
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(user.to_api(clock::now())))
}

/// Changes a user's role, password or disabled flag. The last enabled
/// admin cannot be demoted or disabled. Role: admin.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserUpdate,
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, description = "Invalid change", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Would leave no enabled admin", body = ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<UserUpdate>,
) -> Result<Json<User>, ApiError> {
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let loses_admin = user.role == Role::Admin
        && !user.disabled
        && (req.role.is_some_and(|r| r != Role::Admin) || req.disabled == Some(true));
    if loses_admin && state.store.count_active_admins().await? <= 1 {
        return Err(ApiError::conflict(
            "this is the last enabled admin; make another admin first",
        ));
    }
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let revoke = password_hash.is_some() || req.disabled == Some(true);
    let changes = UserChanges {
        role: req.role,
        password_hash,
        disabled: req.disabled,
    };
    let now = clock::now();
    let tx = state.store.begin().await?;
    if loses_admin && tx.count_active_admins().await? <= 1 {
        return Err(ApiError::conflict(
            "this is the last enabled admin; make another admin first",
        ));
    }
    let updated = tx
        .update_user(id, &changes, now)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if revoke {
        let keep = (id == caller.user_id).then_some(caller.token_id);
        tx.revoke_user_tokens(id, now, keep).await?;
    }
    tx.audit(&state.entry(
        Some(&caller),
        "user.update",
        Some(format!("user:{id}")),
        "success",
        Some(json!({
            "role": req.role,
            "password_changed": changes.password_hash.is_some(),
            "disabled": req.disabled,
        })),
    ))
    .await?;
    tx.commit().await?;
    Ok(Json(updated.to_api(now)))
}

/// Deletes a user and their tokens (audit entries stay). The last enabled
/// admin and the caller themself cannot be deleted. Role: admin.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The caller or the last enabled admin", body = ErrorBody),
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    if id == caller.user_id {
        return Err(ApiError::conflict("you cannot delete yourself"));
    }
    let tx = state.store.begin().await?;
    let user = tx
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if user.role == Role::Admin && !user.disabled && tx.count_active_admins().await? <= 1 {
        return Err(ApiError::conflict("this is the last enabled admin"));
    }
    if !tx.delete_user(id).await? {
        return Err(ApiError::not_found("user"));
    }
    tx.audit(&state.entry(
        Some(&caller),
        "user.delete",
        Some(format!("user:{id}")),
        "success",
        Some(json!({ "username": user.username })),
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
