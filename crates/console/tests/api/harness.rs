//! Starts a real console over HTTPS on an ephemeral loopback port and talks
//! to it with a client that trusts only its generated certificate.

use std::path::Path;

use rampart_console::{Console, ConsoleConfig, InitialAdmin};
use serde_json::{Value, json};

use crate::pg;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A running console and an HTTPS client for it.
pub struct TestConsole {
    pub rt: tokio::runtime::Runtime,
    pub console: Option<Console>,
    pub base: String,
    pub agent: ureq::Agent,
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub headers: ureq::http::HeaderMap,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and the one error shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{:#}", self.json);
        let obj = self.json.as_object().expect("error body is an object");
        assert_eq!(obj.len(), 1, "only `error`: {:#}", self.json);
        let err = self.json["error"].as_object().expect("error object");
        assert_eq!(err.len(), 2, "code and message: {:#}", self.json);
        assert_eq!(self.code(), code, "{:#}", self.json);
        assert!(
            !self.json["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
    }
}

pub fn config(dir: &Path) -> ConsoleConfig {
    let mut cfg = ConsoleConfig::new(dir.to_path_buf());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.admin_password = Some(ADMIN_PASSWORD.into());
    cfg.login_attempts_per_minute = 1000;
    cfg
}

impl TestConsole {
    /// Starts a console on `db`; `None` (after printing SKIPPED) when
    /// PostgreSQL is wanted but cannot run here.
    pub fn start(db: Db, tweak: impl FnOnce(&mut ConsoleConfig)) -> Option<TestConsole> {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => match pg::fresh_database() {
                Ok(url) => Some(url),
                Err(why) => {
                    println!("SKIPPED: no PostgreSQL server: {why}");
                    return None;
                }
            },
        };
        let mut cfg = config(dir.path());
        cfg.database_url.clone_from(&database_url);
        if db == Db::Postgres {
            cfg.database_ca = pg::ca_file();
        }
        tweak(&mut cfg);
        Some(Self::start_with(cfg, dir, database_url))
    }

    /// Starts with a prepared configuration.
    pub fn start_with(
        cfg: ConsoleConfig,
        dir: tempfile::TempDir,
        database_url: Option<String>,
    ) -> TestConsole {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let console = rt.block_on(rampart_console::start(cfg)).unwrap();
        let cert = ureq::tls::Certificate::from_pem(console.tls().cert_pem.as_bytes()).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .build()
            .new_agent();
        let base = format!("https://127.0.0.1:{}", console.local_addr().port());
        TestConsole {
            rt,
            console: Some(console),
            base,
            agent,
            dir,
            database_url,
        }
    }

    pub fn console(&self) -> &Console {
        self.console.as_ref().unwrap()
    }

    pub fn initial_admin(&self) -> InitialAdmin {
        self.console().initial_admin().clone()
    }

    /// Stops the console, keeping the data directory.
    pub fn stop(mut self) -> (tempfile::TempDir, Option<String>) {
        if let Some(c) = self.console.take() {
            self.rt.block_on(c.shutdown());
        }
        (
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
            self.database_url.take(),
        )
    }

    /// Sends a request; `auth` is a bearer token.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(
            method,
            path,
            auth.map(|t| ("authorization", format!("Bearer {t}"))),
            body,
        )
    }

    /// Sends a request with one extra header.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        header: Option<(&str, String)>,
        body: Option<Value>,
    ) -> Answer {
        self.try_call_with(method, path, header, body).unwrap()
    }

    /// Sends a request; transport errors are returned.
    pub fn try_call_with(
        &self,
        method: &str,
        path: &str,
        header: Option<(&str, String)>,
        body: Option<Value>,
    ) -> Result<Answer, ureq::Error> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let resp = match body {
            Some(b) => self.agent.run(
                req.header("content-type", "application/json")
                    .body(b.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(req.body(()).unwrap()),
        }?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.into_body().read_to_string().unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Answer {
            status,
            json,
            headers,
        })
    }

    pub fn get(&self, path: &str, auth: &str) -> Answer {
        self.call("GET", path, Some(auth), None)
    }

    /// Logs in; the session token.
    #[track_caller]
    pub fn login(&self, username: &str, password: &str) -> String {
        let a = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "username": username, "password": password })),
        );
        assert_eq!(a.status, 200, "login {username}: {:#}", a.json);
        a.json["token"].as_str().unwrap().to_string()
    }

    pub fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD)
    }

    /// Creates a user as `admin_token`; the new user's id.
    #[track_caller]
    pub fn create_user(&self, admin_token: &str, name: &str, role: &str) -> i64 {
        let a = self.call(
            "POST",
            "/api/v1/users",
            Some(admin_token),
            Some(json!({ "username": name, "password": format!("{name}-password-123"), "role": role })),
        );
        assert_eq!(a.status, 201, "{:#}", a.json);
        a.json["id"].as_i64().unwrap()
    }
}

impl Drop for TestConsole {
    fn drop(&mut self) {
        if let Some(c) = self.console.take() {
            self.rt.block_on(c.shutdown());
        }
    }
}
