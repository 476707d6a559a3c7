//! The web UI: `console-ui/dist` (built by Vite) embedded in the binary with
//! `rust-embed`, served at `/` for every path that is not the API's.
//!
//! - `/api`, `/api/...`, `/healthz` and `/metrics` keep the API's JSON 404.
//! - A path naming an embedded file serves it; Vite's hashed `assets/...`
//!   are cached for a year (`immutable`), everything else revalidates
//!   (`no-cache`, with an `ETag`).
//! - Any other path (`/findings`, `/nodes/12`) is a page of the single-page
//!   app and gets `index.html`; one that looks like a file (has an
//!   extension) and does not exist is a 404, never HTML under a script's name.
//! - When the UI was not built (`console-ui/dist` missing at compile time),
//!   a plain page says how to build it: `cargo build` never needs Node.
//!
//! UI responses carry a strict Content-Security-Policy (no inline script or
//! style, nothing from another origin, no framing); the API's `observe`
//! middleware adds the headers every response has.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "../../console-ui/dist"]
#[allow_missing = true]
struct Assets;

/// The policy on every UI response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// `Cache-Control` of content-hashed assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Rampart console: UI not built</title></head><body>\
<h1>UI not built</h1>\
<p>This console was compiled without its web UI. Build it, then build the console again:</p>\
<pre>cd console-ui &amp;&amp; npm ci &amp;&amp; npm run build\ncargo build -p rampart-cli</pre>\
<p>The API works without it: see <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>\
</body></html>\n";

/// Whether the UI was embedded at build time.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some()
}

/// Paths the API owns: never answered with the UI.
fn is_api_path(path: &str) -> bool {
    ["/api", "/healthz", "/metrics"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Adds the headers every UI response carries.
fn secure(resp: &mut Response, cache: &'static str) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), usb=()"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

fn serve(name: &str, file: &rust_embed::EmbeddedFile, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = if name.starts_with("assets/") {
        IMMUTABLE
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(name))],
            Body::from(file.data.clone().into_owned()),
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    secure(&mut resp, cache);
    resp
}

/// The router's fallback: the UI for non-API paths, the API's 404 otherwise.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api_path(path) {
        return ApiError::not_found("route").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "the web UI only answers GET and HEAD".into(),
            retry_after: None,
        }
        .into_response();
    }
    let name = path.trim_start_matches('/');
    if !name.is_empty()
        && let Some(file) = Assets::get(name)
    {
        return serve(name, &file, &headers);
    }
    let last = name.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return ApiError::not_found("file").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => serve("index.html", &index, &headers),
        None => {
            let mut resp = (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response();
            secure(&mut resp, "no-cache");
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_not_the_ui() {
        for p in [
            "/api",
            "/api/",
            "/api/v1/nodes",
            "/healthz",
            "/metrics",
            "/metrics/x",
        ] {
            assert!(is_api_path(p), "{p}");
        }
        for p in [
            "/",
            "/apis",
            "/findings",
            "/healthzz",
            "/nodes/1",
            "/assets/a.js",
        ] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }

    async fn body_of(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Whichever way this crate was built, `/` answers a page with the policy:
    /// the app, or the plain "UI not built" page.
    #[tokio::test]
    async fn root_is_the_app_or_the_not_built_page() {
        let resp = fallback(Method::GET, Uri::from_static("/scans"), HeaderMap::new()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
        let body = body_of(resp).await;
        if is_built() {
            assert!(body.contains("/assets/"), "{body}");
        } else {
            assert!(body.contains("UI not built"), "{body}");
            assert!(body.contains("npm ci &amp;&amp; npm run build"), "{body}");
        }
        let api = fallback(Method::GET, Uri::from_static("/api/v1/x"), HeaderMap::new()).await;
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert!(api.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    }

    #[test]
    fn policy_forbids_inline_code_and_framing() {
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'self'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
    }
}
