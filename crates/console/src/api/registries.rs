//! Container registries: added with credentials encrypted at rest, their
//! repositories and tags listed live, their images scanned centrally.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Admin, ApiJson, ApiQuery, Caller, IdPath, Standard};
use super::scans::{check_targets_and_scanners, check_timeout};
use super::{AppState, paging};
use crate::clock;
use crate::model::{Page, Scan};
use crate::registry::{self, RegistryAccess, RegistryError};
use crate::store::registries::{NewRegistry, Registry, secret_context};
use crate::store::scans::NewScan;
use crate::store::{Filter, Sort};
use rampart_source::registry::{Credentials, ImageRef};

/// A registry to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryRequest {
    /// A unique name (1-100 characters).
    pub name: String,
    /// `host[:port]` of the OCI distribution API (`https://` may prefix
    /// it; `http://` needs `insecure`).
    pub host: String,
    /// Plain HTTP instead of HTTPS: for registries on loopback or in a
    /// test network only (credentials would cross the network in clear).
    #[serde(default)]
    pub insecure: bool,
    pub username: Option<String>,
    /// The password or token; stored encrypted, never returned.
    pub password: Option<String>,
}

impl std::fmt::Debug for RegistryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRequest")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Registry list paging and sort.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegistryListQuery {
    /// Name contains.
    pub q: Option<String>,
    /// `id` or `name`; prefix `-` for descending (default `id`).
    pub sort: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// Paging and filter of a live listing (repositories or tags).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameListQuery {
    /// Name contains.
    pub q: Option<String>,
    /// Page size, 1-1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// Images of a registry to scan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryScanRequest {
    /// `REPOSITORY:TAG` or `REPOSITORY@sha256:...` (1-100).
    pub images: Vec<String>,
    /// `vuln`, `secret`, `malware`, `posture` (default: all).
    #[serde(default)]
    pub scanners: Vec<String>,
    /// 60-86400; default: the `default_scan_timeout_secs` setting.
    pub timeout_secs: Option<i64>,
}

/// `host[:port]`, or `None` when it is not one.
fn normalise_host(host: &str, insecure: bool) -> Result<String, ApiError> {
    let bare = if let Some(rest) = host.strip_prefix("https://") {
        rest
    } else if let Some(rest) = host.strip_prefix("http://") {
        if !insecure {
            return Err(ApiError::bad_request(
                "an http:// registry needs \"insecure\": true",
            ));
        }
        rest
    } else {
        host
    };
    let bare = bare.trim_end_matches('/');
    let ok = !bare.is_empty()
        && bare.len() <= 255
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    if !ok {
        return Err(ApiError::bad_request(
            "host is host[:port] (letters, digits, '.', '-', ':'; no path)",
        ));
    }
    Ok(bare.to_ascii_lowercase())
}

fn registry_err(e: RegistryError) -> ApiError {
    match e {
        RegistryError::NotFound { .. } => ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: e.to_string(),
            retry_after: None,
        },
        other => ApiError::bad_gateway(other.to_string()),
    }
}

async fn access(state: &AppState, id: i64) -> Result<RegistryAccess, ApiError> {
    let rec = state
        .store
        .registry(id)
        .await?
        .ok_or_else(|| ApiError::not_found("registry"))?;
    let password = match &rec.secret {
        Some((key, sealed)) => Some(
            state
                .secrets
                .open(key, sealed, &secret_context(&rec.registry.name))
                .map_err(|e| ApiError::internal(&e))?,
        ),
        None => None,
    };
    let credentials = password.map(|password| Credentials {
        username: rec.registry.username.clone().unwrap_or_default(),
        password,
    });
    Ok(RegistryAccess {
        host: rec.registry.host,
        insecure: rec.registry.insecure,
        credentials,
    })
}

fn page_of(mut items: Vec<String>, q: &NameListQuery) -> Result<Page<String>, ApiError> {
    let p = paging(q.limit, q.offset)?;
    if let Some(needle) = &q.q {
        items.retain(|i| i.contains(needle.as_str()));
    }
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let items = items
        .into_iter()
        .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(p.limit).unwrap_or(0))
        .collect();
    Ok(Page {
        items,
        total,
        limit: p.limit,
        offset: p.offset,
    })
}

/// Adds a registry; the password is encrypted before it is stored and is
/// never returned nor audited. Role: admin.
#[utoipa::path(
    post,
    path = "/api/v1/registries",
    tag = "registries",
    request_body = RegistryRequest,
    responses(
        (status = 201, description = "Added", body = Registry),
        (status = 400, description = "Invalid name, host or credentials", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub async fn create_registry(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<RegistryRequest>,
) -> Result<(StatusCode, Json<Registry>), ApiError> {
    let n = req.name.chars().count();
    if n == 0 || n > 100 || req.name.trim() != req.name {
        return Err(ApiError::bad_request(
            "the name is 1-100 characters without surrounding spaces",
        ));
    }
    let host = normalise_host(&req.host, req.insecure)?;
    if req
        .username
        .as_deref()
        .is_some_and(|u| u.is_empty() || u.len() > 255 || u.contains(':'))
    {
        return Err(ApiError::bad_request(
            "the user name is 1-255 characters without ':'",
        ));
    }
    if req
        .password
        .as_deref()
        .is_some_and(|p| p.is_empty() || p.len() > 8192)
    {
        return Err(ApiError::bad_request("the password is 1-8192 bytes"));
    }
    if req.username.is_some() && req.password.is_none() {
        return Err(ApiError::bad_request(
            "a user name needs a password or token",
        ));
    }
    let secret = req
        .password
        .as_deref()
        .map(|p| state.secrets.seal(p, &secret_context(&req.name)))
        .transpose()
        .map_err(|e| ApiError::internal(&e))?;
    let tx = state.store.begin().await?;
    let registry = tx
        .create_registry(
            &NewRegistry {
                name: &req.name,
                host: &host,
                insecure: req.insecure,
                username: req.username.as_deref(),
                secret,
                created_by: &caller.username,
            },
            clock::now(),
        )
        .await?;
    tx.audit(&state.entry(
        Some(&caller),
        "registry.create",
        Some(format!("registry:{}", registry.id)),
        "success",
        Some(json!({
            "name": registry.name, "host": registry.host, "insecure": registry.insecure,
            "username": registry.username, "has_secret": registry.has_secret,
        })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(registry)))
}

/// Registries (never their secrets). Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/registries",
    tag = "registries",
    params(RegistryListQuery),
    responses(
        (status = 200, description = "A page of registries", body = Page<Registry>),
        (status = 400, description = "Bad filter, sort or paging", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
pub async fn list_registries(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<RegistryListQuery>,
) -> Result<Json<Page<Registry>>, ApiError> {
    let paging = paging(q.limit, q.offset)?;
    let sort = Sort::parse(
        q.sort.as_deref(),
        &[("id", "id"), ("name", "name")],
        ("id", false),
        "id",
    )
    .map_err(ApiError::bad_request)?;
    let mut filter = Filter::new();
    if let Some(needle) = &q.q {
        filter.contains("name", needle);
    }
    Ok(Json(
        state.store.list_registries(&filter, &sort, paging).await?,
    ))
}

/// One registry (never its secret). Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/registries/{id}",
    tag = "registries",
    params(("id" = i64, Path, description = "Registry id")),
    responses(
        (status = 200, description = "The registry", body = Registry),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such registry", body = ErrorBody),
    )
)]
pub async fn get_registry(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<Registry>, ApiError> {
    state
        .store
        .registry(id)
        .await?
        .map(|r| Json(r.registry))
        .ok_or_else(|| ApiError::not_found("registry"))
}

/// Deletes a registry and its stored credentials; its queued scans are
/// cancelled. Role: admin.
#[utoipa::path(
    delete,
    path = "/api/v1/registries/{id}",
    tag = "registries",
    params(("id" = i64, Path, description = "Registry id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such registry", body = ErrorBody),
    )
)]
pub async fn delete_registry(
    State(state): State<AppState>,
    Admin(caller): Admin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tx = state.store.begin().await?;
    if !tx.delete_registry(id, clock::now()).await? {
        return Err(ApiError::not_found("registry"));
    }
    tx.audit(&state.entry(
        Some(&caller),
        "registry.delete",
        Some(format!("registry:{id}")),
        "success",
        None,
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The registry's repositories, read live from its `/v2/_catalog`
/// (following `Link` pagination). Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/registries/{id}/repositories",
    tag = "registries",
    params(("id" = i64, Path, description = "Registry id"), NameListQuery),
    responses(
        (status = 200, description = "A page of repository names", body = Page<String>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such registry", body = ErrorBody),
        (status = 502, description = "The registry failed or refused the credentials", body = ErrorBody),
    )
)]
pub async fn list_repositories(
    State(state): State<AppState>,
    _caller: Caller,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<NameListQuery>,
) -> Result<Json<Page<String>>, ApiError> {
    let access = access(&state, id).await?;
    let repos = tokio::task::spawn_blocking(move || registry::list_repositories(&access))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(registry_err)?;
    Ok(Json(page_of(repos, &q)?))
}

/// A repository's tags, read live from `/v2/NAME/tags/list` (URL-encode
/// the slashes of `repo`: `team%2Fapp`). Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/registries/{id}/repositories/{repo}/tags",
    tag = "registries",
    params(
        ("id" = i64, Path, description = "Registry id"),
        ("repo" = String, Path, description = "Repository name, slashes encoded as %2F"),
        NameListQuery
    ),
    responses(
        (status = 200, description = "A page of tags", body = Page<String>),
        (status = 400, description = "Not a repository name", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such registry or repository", body = ErrorBody),
        (status = 502, description = "The registry failed or refused the credentials", body = ErrorBody),
    )
)]
pub async fn list_tags(
    State(state): State<AppState>,
    _caller: Caller,
    path: Result<Path<(i64, String)>, axum::extract::rejection::PathRejection>,
    ApiQuery(q): ApiQuery<NameListQuery>,
) -> Result<Json<Page<String>>, ApiError> {
    let Path((id, repo)) = path
        .map_err(|_| ApiError::bad_request("the path is /registries/ID/repositories/REPO/tags"))?;
    let access = access(&state, id).await?;
    // The reference grammar decides what a repository name is.
    format!("{}/{repo}:latest", access.host)
        .parse::<ImageRef>()
        .ok()
        .filter(|r| r.repository == repo)
        .ok_or_else(|| ApiError::bad_request(format!("{repo:?} is not a repository name")))?;
    let tags = tokio::task::spawn_blocking(move || registry::list_tags(&access, &repo))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(registry_err)?;
    Ok(Json(page_of(tags, &q)?))
}

/// Queues a central scan of images of this registry: targets
/// `registry:HOST/REPO:TAG`, run by the console's own scanner with the
/// registry's credentials. Role: standard.
#[utoipa::path(
    post,
    path = "/api/v1/registries/{id}/scan",
    tag = "registries",
    params(("id" = i64, Path, description = "Registry id")),
    request_body = RegistryScanRequest,
    responses(
        (status = 201, description = "Queued", body = Scan),
        (status = 400, description = "Invalid images, scanners or timeout", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Read-only", body = ErrorBody),
        (status = 404, description = "No such registry", body = ErrorBody),
    )
)]
pub async fn scan_registry(
    State(state): State<AppState>,
    Standard(caller): Standard,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<RegistryScanRequest>,
) -> Result<(StatusCode, Json<Scan>), ApiError> {
    let Some(rec) = state.store.registry(id).await? else {
        return Err(ApiError::not_found("registry"));
    };
    let host = rec.registry.host;
    let mut targets = Vec::with_capacity(req.images.len());
    for image in &req.images {
        let r: ImageRef = format!("{host}/{image}").parse().map_err(
            |e: rampart_source::registry::InvalidRef| ApiError::bad_request(e.to_string()),
        )?;
        let last = image.rsplit('/').next().unwrap_or(image);
        if r.registry != host || !(last.contains(':') || last.contains('@')) {
            return Err(ApiError::bad_request(format!(
                "{image:?}: give REPOSITORY:TAG or REPOSITORY@DIGEST"
            )));
        }
        targets.push(format!("registry:{r}"));
    }
    let (targets, scanners) = check_targets_and_scanners(targets, req.scanners)?;
    let settings = state.settings().await?;
    let timeout_secs =
        check_timeout(req.timeout_secs)?.unwrap_or(settings.default_scan_timeout_secs);
    let tx = state.store.begin().await?;
    let scan = tx
        .create_scan(
            &NewScan {
                targets,
                scanners,
                requested_by: Some(caller.user_id),
                requested_by_name: caller.username.clone(),
                max_attempts: settings.scan_max_attempts,
                timeout_secs,
            },
            clock::now(),
        )
        .await?;
    tx.tag_scan(scan.id, Some(id), None).await?;
    tx.audit(&state.entry(
        Some(&caller),
        "scan.create",
        Some(format!("scan:{}", scan.id)),
        "success",
        Some(json!({ "targets": scan.targets, "scanners": scan.scanners, "registry": id })),
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(scan)))
}
