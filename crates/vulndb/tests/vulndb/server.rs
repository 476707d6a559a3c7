//! A tiny HTTP/1.1 file server on 127.0.0.1 for update tests: serves a
//! directory, answers conditional requests with ETags and 304, range
//! requests (`Range: bytes=N-` with `If-Range`) with 206, and can be told to
//! fail (503) or to cut a response short.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Default)]
pub struct State {
    /// (path, If-None-Match sent, status answered)
    pub requests: Vec<(String, Option<String>, u16)>,
    /// path -> how many more times to cut the body in half
    pub truncate: HashMap<String, u32>,
    /// path -> how many more times to answer 503
    pub fail: HashMap<String, u32>,
}

pub struct Server {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn etag(data: &[u8]) -> String {
    // FNV-1a: enough to tell fixture versions apart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{}\"", data.len())
}

fn handle(mut s: TcpStream, root: &std::path::Path, state: &Mutex<State>) {
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut inm = None;
    let mut range: Option<usize> = None;
    let mut if_range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_string();
            if k.eq_ignore_ascii_case("if-none-match") {
                inm = Some(v);
            } else if k.eq_ignore_ascii_case("range") {
                range = v
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|n| n.parse().ok());
            } else if k.eq_ignore_ascii_case("if-range") {
                if_range = Some(v);
            }
        }
    }
    let rel = path.trim_start_matches('/').replace("%20", " ");
    let file = root.join(&rel);
    let mut st = state.lock().unwrap();
    let reply = |s: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let _ = write!(s, "HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n");
        let _ = s.write_all(body);
        let _ = s.flush();
    };
    if let Some(n) = st.fail.get_mut(&path)
        && *n > 0
    {
        *n -= 1;
        st.requests.push((path, inm, 503));
        drop(st);
        reply(
            &mut s,
            "503 Service Unavailable",
            "Content-Length: 0\r\n",
            b"",
        );
        return;
    }
    let Ok(data) = std::fs::read(&file) else {
        st.requests.push((path, inm, 404));
        drop(st);
        reply(&mut s, "404 Not Found", "Content-Length: 0\r\n", b"");
        return;
    };
    let tag = etag(&data);
    if inm.as_deref() == Some(tag.as_str()) {
        st.requests.push((path, inm, 304));
        drop(st);
        reply(&mut s, "304 Not Modified", &format!("ETag: {tag}\r\n"), b"");
        return;
    }
    let cut = match st.truncate.get_mut(&path) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    };
    // A range is honoured when If-Range names the current content.
    let from = range.filter(|n| *n < data.len() && if_range.as_deref() == Some(tag.as_str()));
    st.requests
        .push((path, inm, if from.is_some() { 206 } else { 200 }));
    drop(st);
    let part = &data[from.unwrap_or(0)..];
    let mut headers = format!(
        "Content-Length: {}\r\nETag: {tag}\r\nLast-Modified: Sat, 28 Nov 2026 10:00:00 GMT\r\nContent-Type: application/octet-stream\r\n",
        part.len()
    );
    if let Some(n) = from {
        headers.push_str(&format!(
            "Content-Range: bytes {n}-{}/{}\r\n",
            data.len() - 1,
            data.len()
        ));
    }
    let body = if cut { &part[..part.len() / 2] } else { part };
    let status = if from.is_some() {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    reply(&mut s, status, &headers, body);
    // Dropping the stream closes the connection: a cut body ends early.
}

impl Server {
    pub fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(s) = conn {
                    handle(s, &root, &st);
                }
            }
        });
        Server {
            base: format!("http://{addr}"),
            state,
            stop,
            handle: Some(handle),
        }
    }

    /// Requests answered with `status` for paths ending in `suffix`.
    pub fn count(&self, suffix: &str, status: u16) -> usize {
        let st = self.state.lock().unwrap();
        st.requests
            .iter()
            .filter(|(p, _, s)| p.ends_with(suffix) && *s == status)
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
