//! A minimal gRPC client over a unix socket: unary calls on one HTTP/2
//! connection (the `h2` crate on a current-thread tokio runtime), each
//! answer capped at [`MAX_MESSAGE`](crate::protobuf::MAX_MESSAGE) and the
//! whole session bounded by a deadline.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::protobuf::{DecodeError, MAX_MESSAGE};

/// gRPC status `UNIMPLEMENTED` (the service or method is unknown).
pub const UNIMPLEMENTED: u32 = 12;

/// Why a gRPC call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrpcError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP/2: {0}")]
    Http2(#[from] h2::Error),
    #[error("{path} answered gRPC status {code}: {message}")]
    Status {
        path: String,
        code: u32,
        message: String,
    },
    #[error("{0}")]
    Protocol(String),
    #[error("malformed answer: {0}")]
    Decode(#[from] DecodeError),
}

impl GrpcError {
    /// The service or method does not exist on this server.
    #[must_use]
    pub fn is_unimplemented(&self) -> bool {
        matches!(self, GrpcError::Status { code, .. } if *code == UNIMPLEMENTED)
    }
}

/// Runs `session` against the gRPC server on `socket`, on a fresh
/// current-thread runtime, giving up after `deadline` (connecting included).
///
/// # Errors
/// The runtime cannot start, the socket does not answer in time, or the session fails.
pub fn with_connection<T, F, Fut>(
    socket: &Path,
    deadline: Duration,
    session: F,
) -> Result<T, GrpcError>
where
    F: FnOnce(Connection) -> Fut,
    Fut: Future<Output = Result<T, GrpcError>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async {
        tokio::time::timeout(deadline, async {
            let conn = Connection::connect(socket).await?;
            session(conn).await
        })
        .await
        .map_err(|_| GrpcError::Timeout(deadline))?
    })
}

/// One HTTP/2 connection to a gRPC server.
#[derive(Debug, Clone)]
pub struct Connection {
    client: h2::client::SendRequest<Bytes>,
}

impl Connection {
    /// Connects (HTTP/2 with prior knowledge, as gRPC over unix sockets is).
    ///
    /// # Errors
    /// The socket refuses or the HTTP/2 handshake fails.
    pub async fn connect(socket: &Path) -> Result<Connection, GrpcError> {
        let stream = tokio::net::UnixStream::connect(socket).await?;
        let (client, conn) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(4 << 20)
            .max_header_list_size(64 << 10)
            .handshake::<_, Bytes>(stream)
            .await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("gRPC connection: {e}");
            }
        });
        Ok(Connection { client })
    }

    /// A unary call: `path` is `/package.Service/Method`, `metadata` extra
    /// request headers (lower-case names), `request` the encoded message.
    /// Returns the answer's message bytes.
    ///
    /// # Errors
    /// A transport error, a non-OK gRPC status, or a malformed or oversized answer.
    pub async fn unary(
        &mut self,
        path: &str,
        metadata: &[(&str, &str)],
        request: &[u8],
    ) -> Result<Vec<u8>, GrpcError> {
        let mut req = http::Request::builder()
            .method("POST")
            .uri(format!("http://localhost{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (k, v) in metadata {
            req = req.header(*k, *v);
        }
        let req = req
            .body(())
            .map_err(|e| GrpcError::Protocol(format!("request {path}: {e}")))?;
        let mut framed = Vec::with_capacity(request.len() + 5);
        framed.push(0);
        let len = u32::try_from(request.len())
            .map_err(|_| GrpcError::Protocol("request too large".into()))?;
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(request);

        let mut client = self.client.clone().ready().await?;
        let (answer, mut send) = client.send_request(req, false)?;
        send.send_data(Bytes::from(framed), true)?;
        let answer = answer.await?;
        let (parts, mut body) = answer.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(GrpcError::Protocol(format!(
                "{path}: HTTP status {}",
                parts.status
            )));
        }
        // A trailers-only answer carries the status in the headers.
        if let Some(err) = status_error(path, &parts.headers) {
            return Err(err);
        }
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if buf.len() + chunk.len() > MAX_MESSAGE + 5 {
                return Err(DecodeError::TooLarge(buf.len() + chunk.len()).into());
            }
            buf.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await?;
        match trailers {
            Some(t) => {
                if let Some(err) = status_error(path, &t) {
                    return Err(err);
                }
                if t.get("grpc-status").is_none() {
                    return Err(GrpcError::Protocol(format!("{path}: no grpc-status")));
                }
            }
            None if parts.headers.get("grpc-status").is_none() => {
                return Err(GrpcError::Protocol(format!("{path}: no grpc-status")));
            }
            None => {}
        }
        unframe(&buf).map(<[u8]>::to_vec)
    }
}

/// The non-OK status in `headers`, if any.
fn status_error(path: &str, headers: &http::HeaderMap) -> Option<GrpcError> {
    let code: u32 = headers
        .get("grpc-status")?
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(2); // UNKNOWN
    if code == 0 {
        return None;
    }
    let message = headers
        .get("grpc-message")
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    Some(GrpcError::Status {
        path: path.to_string(),
        code,
        message,
    })
}

/// `grpc-message` is percent-encoded.
fn percent_decode(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && let Ok(s) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(s, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The message of a unary answer's body: one gRPC frame (a compression
/// flag, a big-endian length, the message).
///
/// # Errors
/// Not exactly one uncompressed frame within the size limit.
pub fn unframe(body: &[u8]) -> Result<&[u8], GrpcError> {
    let head = body
        .get(..5)
        .ok_or_else(|| GrpcError::Protocol("answer shorter than a gRPC frame header".into()))?;
    if head[0] != 0 {
        return Err(GrpcError::Protocol(format!(
            "compressed answer (flag {}) not asked for",
            head[0]
        )));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_MESSAGE {
        return Err(DecodeError::TooLarge(len).into());
    }
    let msg = body.get(5..5 + len).ok_or(DecodeError::Truncated)?;
    if body.len() != 5 + len {
        return Err(GrpcError::Protocol(
            "more than one message in a unary answer".into(),
        ));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(unframe(&[0, 0, 0, 0, 2, 8, 1]).unwrap(), &[8, 1]);
        assert_eq!(unframe(&[0, 0, 0, 0, 0]).unwrap(), &[] as &[u8]);
        assert!(unframe(&[0, 0, 0]).is_err());
        assert!(unframe(&[1, 0, 0, 0, 0]).is_err(), "compressed");
        assert!(unframe(&[0, 0, 0, 0, 3, 1]).is_err(), "truncated");
        assert!(unframe(&[0, 0, 0, 0, 1, 1, 0]).is_err(), "trailing bytes");
        assert!(
            unframe(&[0, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "over the cap"
        );
    }

    #[test]
    fn status_headers() {
        let mut h = http::HeaderMap::new();
        assert!(status_error("/x", &h).is_none());
        h.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert!(status_error("/x", &h).is_none());
        h.insert("grpc-status", http::HeaderValue::from_static("12"));
        h.insert(
            "grpc-message",
            http::HeaderValue::from_static("unknown%20service%3A x%"),
        );
        let e = status_error("/x", &h).unwrap();
        assert!(e.is_unimplemented());
        assert_eq!(
            e.to_string(),
            "/x answered gRPC status 12: unknown service: x%"
        );
    }
}
