//! Listing a registry's repositories and tags through the OCI
//! distribution API (`/v2/_catalog`, `/v2/NAME/tags/list`), following
//! `Link: <...>; rel="next"` pagination, with Basic or Bearer-token
//! authentication when the registry challenges (the challenge parser and
//! credentials are `rampart-source`'s). Blocking (ureq): call it from a
//! blocking task.

use std::time::Duration;

use rampart_source::registry::{Credentials, parse_challenge};

/// Where a registry is and how to authenticate to it (decrypted).
#[derive(Clone)]
pub struct RegistryAccess {
    /// `host[:port]`.
    pub host: String,
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
    pub credentials: Option<Credentials>,
}

impl std::fmt::Debug for RegistryAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAccess")
            .field("host", &self.host)
            .field("insecure", &self.insecure)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry refused the credentials (or wants some).
    #[error("registry {host}: authentication failed: {message}")]
    Auth { host: String, message: String },
    /// The repository does not exist.
    #[error("registry {host}: {what} not found")]
    NotFound { host: String, what: String },
    /// Network, TLS or protocol failure.
    #[error("registry {host}: {message}")]
    Other { host: String, message: String },
}

/// At most this many pages are followed (of `PAGE_SIZE` entries each).
const MAX_PAGES: usize = 100;
const PAGE_SIZE: usize = 1000;
const MAX_BODY: u64 = 8 << 20;

struct Lister<'a> {
    access: &'a RegistryAccess,
    agent: ureq::Agent,
    authorization: Option<String>,
}

/// The `next` URL of a `Link` header, resolved against the registry.
fn next_link(header: &str, base: &str) -> Option<String> {
    for part in header.split(',') {
        let (url, params) = part.split_once(';')?;
        if !params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next")
        {
            continue;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        return Some(if url.starts_with('/') {
            format!("{base}{url}")
        } else {
            url.to_string()
        });
    }
    None
}

impl Lister<'_> {
    fn base(&self) -> String {
        let scheme = if self.access.insecure {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", self.access.host)
    }

    fn other(&self, message: impl Into<String>) -> RegistryError {
        RegistryError::Other {
            host: self.access.host.clone(),
            message: message.into(),
        }
    }

    fn auth(&self, message: impl Into<String>) -> RegistryError {
        RegistryError::Auth {
            host: self.access.host.clone(),
            message: message.into(),
        }
    }

    fn send(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, RegistryError> {
        let mut req = self.agent.get(url);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        req.call()
            .map_err(|e| self.other(format!("GET {url}: {e}")))
    }

    /// GET, authenticating once when challenged.
    fn get(
        &mut self,
        url: &str,
        scope: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, RegistryError> {
        let resp = self.send(url)?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        let header = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| self.auth("401 without a WWW-Authenticate challenge"))?;
        let challenge =
            parse_challenge(&header).ok_or_else(|| self.auth("unreadable challenge"))?;
        self.authorization = Some(match challenge.scheme.as_str() {
            "basic" => self
                .access
                .credentials
                .as_ref()
                .ok_or_else(|| self.auth("the registry wants a user name and password"))?
                .basic_header(),
            "bearer" => format!("Bearer {}", self.token(&challenge.params, scope)?),
            other => return Err(self.auth(format!("unsupported scheme {other:?}"))),
        });
        let retry = self.send(url)?;
        if retry.status().as_u16() == 401 {
            return Err(self.auth("the registry refused the credentials (401)"));
        }
        Ok(retry)
    }

    fn token(
        &self,
        params: &std::collections::BTreeMap<String, String>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let realm = params
            .get("realm")
            .ok_or_else(|| self.auth("bearer challenge without a realm"))?;
        if !(realm.starts_with("https://")
            || (self.access.insecure && realm.starts_with("http://")))
        {
            return Err(self.auth(format!("refusing token realm {realm:?} (not HTTPS)")));
        }
        let scope = params.get("scope").map_or(scope, String::as_str);
        let mut req = self.agent.get(realm).query("scope", scope);
        if let Some(service) = params.get("service") {
            req = req.query("service", service);
        }
        if let Some(c) = &self.access.credentials {
            req = req.header("Authorization", &c.basic_header());
        }
        let resp = req
            .call()
            .map_err(|e| self.auth(format!("token request: {e}")))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(self.auth(format!("the token service answered {status}")));
        }
        let body = resp
            .into_body()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.auth(format!("reading the token: {e}")))?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| self.auth(format!("token response is not JSON: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| self.auth("token response without a token"))
    }

    /// Every page's `key` array, following `Link` headers.
    fn collect(
        &mut self,
        first: String,
        key: &str,
        scope: &str,
        what: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut url = Some(first);
        let mut pages = 0;
        while let Some(u) = url.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(self.other(format!("more than {MAX_PAGES} pages of {what}")));
            }
            let resp = self.get(&u, scope)?;
            match resp.status().as_u16() {
                200 => {}
                404 => {
                    return Err(RegistryError::NotFound {
                        host: self.access.host.clone(),
                        what: what.to_string(),
                    });
                }
                403 => return Err(self.auth(format!("access to {what} denied (403)"))),
                s => return Err(self.other(format!("{what}: HTTP {s}"))),
            }
            url = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| next_link(l, &self.base()));
            let body = resp
                .into_body()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .map_err(|e| self.other(format!("reading {what}: {e}")))?;
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| self.other(format!("{what} is not JSON: {e}")))?;
            if let Some(items) = v.get(key).and_then(serde_json::Value::as_array) {
                out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)));
            }
        }
        Ok(out)
    }
}

fn lister(access: &RegistryAccess) -> Lister<'_> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .https_only(!access.insecure)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .user_agent(concat!("rampart-console/", env!("CARGO_PKG_VERSION")))
        .build();
    Lister {
        access,
        agent: config.into(),
        authorization: None,
    }
}

/// Every repository of the registry's catalog, sorted.
pub fn list_repositories(access: &RegistryAccess) -> Result<Vec<String>, RegistryError> {
    list_repositories_paged(access, PAGE_SIZE)
}

/// [`list_repositories`], asking for `page_size` entries per page.
pub fn list_repositories_paged(
    access: &RegistryAccess,
    page_size: usize,
) -> Result<Vec<String>, RegistryError> {
    let mut l = lister(access);
    let first = format!("{}/v2/_catalog?n={}", l.base(), page_size.max(1));
    let mut repos = l.collect(first, "repositories", "registry:catalog:*", "the catalog")?;
    repos.sort();
    repos.dedup();
    Ok(repos)
}

/// Every tag of `repository`, sorted.
pub fn list_tags(access: &RegistryAccess, repository: &str) -> Result<Vec<String>, RegistryError> {
    let mut l = lister(access);
    let first = format!("{}/v2/{repository}/tags/list?n={PAGE_SIZE}", l.base());
    let scope = format!("repository:{repository}:pull");
    let mut tags = l.collect(first, "tags", &scope, &format!("repository {repository}"))?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#, "http://r:5000").as_deref(),
            Some("http://r:5000/v2/_catalog?last=b&n=2")
        );
        assert_eq!(
            next_link(
                r#"<https://x/v2/a/tags/list?n=1&last=v1>; rel="next""#,
                "https://r"
            )
            .as_deref(),
            Some("https://x/v2/a/tags/list?n=1&last=v1")
        );
        assert_eq!(next_link(r#"</p>; rel="prev""#, "https://r"), None);
    }
}
