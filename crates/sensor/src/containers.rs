//! Containers from the Docker-compatible API (Docker and Podman, HTTP over
//! their unix sockets) and pods from kubelet's pod directories.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use rampart_model::agent::{Container, Pod};
use serde::Deserialize;

/// The most a runtime's container list may weigh.
const MAX_BODY: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default, rename = "ImageID")]
    image_id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Label names the Kubernetes runtimes put on containers.
pub const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";

/// Splits an HTTP/1.x response into status and body (`Content-Length` or
/// read to the end; chunked bodies are de-chunked).
pub fn parse_http_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "headers are not UTF-8")?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_ascii_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let chunked = lines.any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let nl = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_str = std::str::from_utf8(&rest[..nl]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        rest = &rest[nl + 2..];
        if size == 0 {
            break;
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
    Ok((status, out))
}

/// `GET /containers/json` over a Docker-compatible unix socket.
///
/// # Errors
/// The socket does not answer in time or the answer is not a container list.
pub fn list_runtime_containers(socket: &Path, runtime: &str) -> Result<Vec<Container>, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    let t = Some(Duration::from_secs(2));
    s.set_read_timeout(t).map_err(|e| e.to_string())?;
    s.set_write_timeout(t).map_err(|e| e.to_string())?;
    // HTTP/1.0: the server closes the connection and does not chunk.
    s.write_all(
        b"GET /containers/json HTTP/1.0\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
    )
    .map_err(|e| format!("{}: {e}", socket.display()))?;
    let mut raw = Vec::new();
    s.take(MAX_BODY)
        .read_to_end(&mut raw)
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let (status, body) =
        parse_http_response(&raw).map_err(|e| format!("{}: {e}", socket.display()))?;
    if status != 200 {
        return Err(format!(
            "{}: GET /containers/json answered {status}",
            socket.display()
        ));
    }
    parse_container_list(&body, runtime)
}

/// The JSON of `GET /containers/json`.
///
/// # Errors
/// Not a JSON container list.
pub fn parse_container_list(body: &[u8], runtime: &str) -> Result<Vec<Container>, String> {
    let list: Vec<ApiContainer> =
        serde_json::from_slice(body).map_err(|e| format!("container list: {e}"))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let labels = c.labels.unwrap_or_default();
            Container {
                pod_uid: labels.get(POD_UID_LABEL).cloned(),
                key: c.id,
                runtime: runtime.to_string(),
                name: c
                    .names
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string()),
                image: c.image,
                image_id: c.image_id.filter(|i| !i.is_empty()),
                state: c.state.unwrap_or_else(|| "running".to_string()),
                labels,
            }
        })
        .collect())
}

/// Pods from kubelet's `pods/UID` directories: the UID, and the pod name
/// from the `etc-hosts` kubelet writes (its last line names the pod).
#[must_use]
pub fn kubelet_pods(pods_dir: &Path) -> Vec<Pod> {
    let Ok(rd) = std::fs::read_dir(pods_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let uid = e.file_name().to_string_lossy().into_owned();
        if uid.len() != 36 || !uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            continue;
        }
        let name = std::fs::read_to_string(e.path().join("etc-hosts"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .and_then(|l| l.split_ascii_whitespace().nth(1).map(str::to_string))
            });
        out.push(Pod {
            key: uid,
            name,
            namespace: None,
            labels: BTreeMap::new(),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_plain_and_chunked() {
        let (s, b) =
            parse_http_response(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[]")
                .unwrap();
        assert_eq!((s, b.as_slice()), (200, b"[]".as_slice()));
        let (s, b) =
            parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[{\r\n1\r\n}\r\n1\r\n]\r\n0\r\n\r\n").unwrap();
        assert_eq!((s, b.as_slice()), (200, b"[{}]".as_slice()));
        assert!(
            parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab")
                .is_err()
        );
        assert!(parse_http_response(b"garbage").is_err());
    }

    #[test]
    fn docker_list() {
        let body = br#"[{"Id":"abc","Names":["/web"],"Image":"nginx:1.27","ImageID":"sha256:11","State":"running",
            "Labels":{"io.kubernetes.pod.uid":"u-1","io.kubernetes.pod.name":"web-0"}},{"Id":"def","Names":[],"Labels":null}]"#;
        let v = parse_container_list(body, "docker").unwrap();
        assert_eq!(v[0].name.as_deref(), Some("web"));
        assert_eq!(v[0].pod_uid.as_deref(), Some("u-1"));
        assert_eq!(v[0].image_id.as_deref(), Some("sha256:11"));
        assert_eq!(v[1].state, "running");
        assert!(parse_container_list(b"{}", "docker").is_err());
    }
}
