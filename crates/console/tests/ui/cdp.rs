//! A headless Chromium driven through the DevTools protocol over a pipe
//! (`--remote-debugging-pipe`: JSON messages separated by NUL bytes on the
//! browser's file descriptors 3 and 4), so no WebSocket client is needed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Chromium to use: `RAMPART_CHROMIUM`, else `chromium` or
/// `chromium-browser` on the PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RAMPART_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo: what
/// `--ignore-certificate-errors-spki-list` trusts (this one key only).
pub fn spki_hash(cert_pem: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    // (tag, header length, content length) of the DER element at `at`.
    let tlv = |at: usize| -> (u8, usize, usize) {
        let tag = der[at];
        let first = der[at + 1];
        if first < 0x80 {
            (tag, 2, usize::from(first))
        } else {
            let n = usize::from(first & 0x7f);
            let len = der[at + 2..at + 2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (tag, 2 + n, len)
        }
    };
    let (_, cert_h, _) = tlv(0);
    let tbs = cert_h;
    let (_, tbs_h, _) = tlv(tbs);
    let mut at = tbs + tbs_h;
    // [0] version, serial, signature algorithm, issuer, validity, subject.
    let (tag, h, l) = tlv(at);
    if tag == 0xa0 {
        at += h + l;
    }
    for _ in 0..5 {
        let (_, h, l) = tlv(at);
        at += h + l;
    }
    let (tag, h, l) = tlv(at);
    assert_eq!(tag, 0x30, "SubjectPublicKeyInfo is a SEQUENCE");
    let spki = &der[at..at + h + l];
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
}

/// A running browser with one page attached.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    messages: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event received, in order.
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium trusting the key of `cert_pem` and opens a page.
    pub fn start(chromium: &PathBuf, cert_pem: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(profile.path().join("chromium.log")).unwrap();
        // The shell hands our stdin and stdout to Chromium as its fds 3 and 4.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--remote-debugging-pipe",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--mute-audio",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!(
                "--ignore-certificate-errors-spki-list={}",
                spki_hash(cert_pem)
            ))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = child.stdout.take().unwrap();
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(output);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            input,
            messages,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: profile,
        };
        let target = b.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.browser_call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page", "Runtime", "Log", "Audits"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        b
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.input.write_all(&bytes).unwrap();
        self.input.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(v) if v["id"].as_u64() == Some(id) => {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
                Ok(v) => {
                    if v.get("method").is_some() {
                        self.events.push(v);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("{method}: no answer in 30 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("{method}: the browser exited"),
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    /// Collects the events that arrived since the last call.
    pub fn drain(&mut self) {
        while let Ok(v) = self.messages.try_recv() {
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Evaluates JavaScript in the page (promises awaited), returning its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let script = format!("(async () => {{ {PRELUDE} return ({expr}); }})()");
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": script, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {:#}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is truthy (10 s at most).
    #[track_caller]
    pub fn wait_for(&mut self, what: &str, expr: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.eval(expr);
            if v.as_bool() == Some(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval("document.body ? document.body.innerText.slice(0, 2000) : ''");
                panic!(
                    "timed out waiting for {what} ({expr}) at {}; page text:\n{}",
                    self.eval("location.href"),
                    body.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Loads a URL.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// Saves a PNG of the page as `NAME.png` in `RAMPART_UI_SCREENSHOTS`, when
    /// that is set (to look at the pages a test run saw).
    pub fn screenshot(&mut self, name: &str) {
        use base64::Engine as _;
        let Some(dir) = std::env::var_os("RAMPART_UI_SCREENSHOTS") else {
            return;
        };
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }

    /// The Content-Security-Policy violations reported so far.
    pub fn csp_violations(&mut self) -> Vec<Value> {
        self.drain();
        self.events
            .iter()
            .filter(|e| {
                let m = e["method"].as_str().unwrap_or("");
                let p = &e["params"];
                (m == "Audits.issueAdded" && p["issue"]["code"] == "ContentSecurityPolicyIssue")
                    || (m == "Log.entryAdded"
                        && (p["entry"]["source"] == "violation"
                            && p["entry"]["text"].as_str().is_some_and(|t| {
                                t.contains("Content Security Policy") || t.contains("Trusted Type")
                            })))
            })
            .cloned()
            .collect()
    }

    /// Uncaught JavaScript exceptions so far.
    pub fn exceptions(&mut self) -> Vec<Value> {
        self.drain();
        self.events
            .iter()
            .filter(|e| e["method"] == "Runtime.exceptionThrown")
            .cloned()
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Helpers every evaluated expression can use.
const PRELUDE: &str = r"
const $ = (s) => document.querySelector(s);
const $$ = (s) => [...document.querySelectorAll(s)];
const text = (s) => { const e = $(s); return e ? e.textContent.trim() : null; };
const fill = (s, v) => { const e = $(s); if (!e) throw new Error('no ' + s); e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true; };
const click = (s) => { const e = $(s); if (!e) throw new Error('no ' + s); e.click(); return true; };
";

/// A JavaScript string literal.
pub fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
