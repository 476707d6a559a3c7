//! The scale-out backend: PostgreSQL through `tokio-postgres`, with a small
//! bounded pool of connections (see [`super::pool`]) so concurrent requests
//! do not wait for each other, and transactions on a pooled connection of
//! their own.
//!
//! Round trips are what a busy console pays for: every statement is
//! prepared once per connection and kept, and the statements of a
//! [`Backend::transaction`] are pipelined (sent without waiting for each
//! other's answers; PostgreSQL runs them in order), so an agent report of
//! hundreds of writes costs a handful of round trips instead of two per
//! statement.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use async_trait::async_trait;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::Mutex;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::backend::{Backend, BackendKind, Stmt, Transaction};
use super::migrations::{MIGRATIONS_TABLE, Migration, latest};
use super::pool::{Conn, Pool, Pooled};
use super::value::{Row, Value};
use crate::error::StoreError;

/// Any session-level advisory lock key unique to Rampart's migrations.
const MIGRATION_LOCK: i64 = 0x5241_4d50_4d49_4752; // "RAMPMIGR"

/// A PostgreSQL database given by URL.
pub struct PostgresBackend {
    url: String,
    tls: Tls,
    pool: Arc<Pool>,
}

/// The default number of pooled connections.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// How to talk to the server: `sslmode=disable` in the URL means plain TCP;
/// otherwise (`prefer`, the default, or `require`) TLS whenever the server
/// offers it, always verifying its certificate against the configured CA
/// file or the system's bundle.
#[derive(Clone)]
pub(super) enum Tls {
    Off,
    Rustls(MakeRustlsConnect),
}

/// Where distributions keep the system CA bundle.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn tls_for(url: &str, ca: Option<&Path>) -> Result<Tls, StoreError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Url(format!("{}: {e}", redact_url(url))))?;
    if config.get_ssl_mode() == SslMode::Disable {
        return Ok(Tls::Off);
    }
    let mut roots = rustls::RootCertStore::empty();
    let files: Vec<&Path> = match ca {
        Some(p) => vec![p],
        None => SYSTEM_BUNDLES
            .iter()
            .map(Path::new)
            .filter(|p| p.is_file())
            .take(1)
            .collect(),
    };
    for file in files {
        let pem = std::fs::read(file).map_err(|source| StoreError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| StoreError::Tls(format!("{}: {e}", file.display())))?;
            // A bundle may hold certificates rustls cannot use; skip those.
            if roots.add(cert).is_ok() {
                n += 1;
            }
        }
        if n == 0 && ca.is_some() {
            return Err(StoreError::Tls(format!(
                "{}: no usable CA certificate",
                file.display()
            )));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Tls::Rustls(MakeRustlsConnect::new(client)))
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("PostgresBackend").finish_non_exhaustive()
    }
}

pub(super) async fn connect(url: &str, tls: &Tls) -> Result<Client, StoreError> {
    let client = match tls {
        Tls::Off => {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!("PostgreSQL connection closed: {e}");
                }
            });
            client
        }
        Tls::Rustls(make) => {
            let (client, connection) = tokio_postgres::connect(url, make.clone()).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!("PostgreSQL connection closed: {e}");
                }
            });
            client
        }
    };
    Ok(client)
}

/// `?` placeholders to PostgreSQL's `$1, $2, ...` (the console's SQL has no
/// `?` inside string literals).
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn map_err(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict
    } else {
        StoreError::Postgres(e)
    }
}

fn params(values: &[Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
            }
        })
        .collect()
}

/// The parameters as `tokio-postgres` takes them.
fn refs(boxed: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    boxed
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            Value::Int(row.try_get::<_, Option<i64>>(i)?)
        } else if *t == Type::INT4 {
            Value::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else if *t == Type::INT2 {
            Value::Int(row.try_get::<_, Option<i16>>(i)?.map(i64::from))
        } else if *t == Type::BOOL {
            Value::Int(row.try_get::<_, Option<bool>>(i)?.map(i64::from))
        } else if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::NAME || *t == Type::BPCHAR
        {
            Value::Text(row.try_get::<_, Option<String>>(i)?)
        } else {
            return Err(StoreError::Decode(format!("{} ({t})", col.name())));
        };
        out.push(v);
    }
    Ok(Row(out))
}

impl PostgresBackend {
    /// Connects to `url` (`postgres://user:password@host:port/db`), over TLS
    /// unless the URL says `sslmode=disable`; `ca` is the PEM file of the
    /// CA that signed the server's certificate (default: the system bundle).
    pub async fn connect(url: &str, ca: Option<&Path>) -> Result<Self, StoreError> {
        Self::connect_pooled(url, ca, DEFAULT_POOL_SIZE).await
    }

    /// Like [`PostgresBackend::connect`], with at most `pool_size`
    /// connections open at once (at least 1). One is opened now, to fail
    /// early on a wrong URL, password or certificate.
    pub async fn connect_pooled(
        url: &str,
        ca: Option<&Path>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Url(redact_url(url)));
        }
        let tls = tls_for(url, ca)?;
        let pool = Arc::new(Pool::new(url.to_string(), tls.clone(), pool_size));
        // Open (and keep) the first connection.
        drop(pool.get().await?);
        Ok(PostgresBackend {
            url: url.to_string(),
            tls,
            pool,
        })
    }

    /// How many connections the pool may open.
    pub fn pool_size(&self) -> usize {
        self.pool.size()
    }

    /// Whether connections use TLS when the server offers it.
    pub fn tls_enabled(&self) -> bool {
        matches!(self.tls, Tls::Rustls(_))
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
        let conn = self.pool.get().await?;
        execute_on(conn.conn()?, sql, &values).await
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let conn = self.pool.get().await?;
        query_on(conn.conn()?, sql, &values).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let mut conn = self.pool.get().await?;
        conn.hold();
        conn.conn()?
            .client()
            .batch_execute("BEGIN")
            .await
            .map_err(map_err)?;
        Ok(Box::new(PostgresTx {
            conn: Mutex::new(Some(conn)),
        }))
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
        // A dedicated connection: the advisory lock and the transactions
        // must not interleave with other queries.
        let mut client = connect(&self.url, &self.tls).await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let result = apply(&mut client, migrations).await;
        let unlock = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        let applied = result?;
        unlock?;
        Ok(applied)
    }

    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        let mut pooled = self.pool.get().await?;
        // Until COMMIT or ROLLBACK, the connection must not go back.
        pooled.hold();
        let conn = pooled.conn()?;
        let result = run_transaction(conn, &stmts).await;
        let end = match result {
            Ok(true) => "COMMIT",
            Ok(false) | Err(_) => "ROLLBACK",
        };
        let ended = conn.client().batch_execute(end).await.map_err(map_err);
        match (result, ended) {
            (Ok(done), Ok(())) => {
                pooled.reuse();
                Ok(done)
            }
            // The statement's own error says more than the rollback's;
            // the connection is clean again if the rollback went through.
            (Err(e), ended) => {
                if ended.is_ok() {
                    pooled.reuse();
                }
                Err(e)
            }
            (Ok(_), Err(e)) => Err(e),
        }
    }
}

/// The most statements sent in one pipeline before waiting for their
/// answers (bounds the work of polling them all on every wakeup).
const PIPELINE: usize = 256;

/// `stmts` in a transaction on `conn` (`BEGIN` is sent here; the caller
/// commits or rolls back). Statements are prepared (one round trip for
/// those the connection has not seen), then sent in pipelines, each
/// [`Stmt::guard`] on its own so its row count is known before anything
/// after it runs. `Ok(false)` when a guard changed no row.
async fn run_transaction(conn: &Conn, stmts: &[Stmt]) -> Result<bool, StoreError> {
    conn.client()
        .batch_execute("BEGIN")
        .await
        .map_err(map_err)?;
    let sqls: Vec<&str> = stmts.iter().map(|s| s.sql.as_str()).collect();
    let prepared = conn.prepared(&sqls).await?;
    let boxed: Vec<Vec<Box<dyn ToSql + Sync + Send>>> =
        stmts.iter().map(|s| params(&s.params)).collect();
    let mut i = 0;
    while i < stmts.len() {
        let end = if stmts[i].guard {
            i + 1
        } else {
            let mut j = i;
            while j < stmts.len() && !stmts[j].guard && j - i < PIPELINE {
                j += 1;
            }
            j
        };
        let futures = (i..end)
            .map(|k| {
                let refs = refs(&boxed[k]);
                let client = conn.client();
                let st = &prepared[k];
                async move { client.execute(st, &refs).await }
            })
            .collect();
        let counts = pipelined(futures).await.map_err(map_err)?;
        if stmts[i].guard && counts.first() == Some(&0) {
            return Ok(false);
        }
        i = end;
    }
    Ok(true)
}

/// Runs `futures` on one connection as a pipeline: each is first polled in
/// order, and a `tokio-postgres` request is sent when its future is first
/// polled (for a prepared statement), so the server receives them in this
/// order. Returns every output in order, or the first error in order.
pub(super) async fn pipelined<F, T, E>(futures: Vec<F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    let mut next = 0;
    std::future::poll_fn(|cx| {
        for (i, f) in futures.iter_mut().enumerate().skip(next) {
            if out[i].is_some() {
                continue;
            }
            match f.as_mut().poll(cx) {
                Poll::Ready(Ok(v)) => out[i] = Some(v),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        while next < out.len() && out[next].is_some() {
            next += 1;
        }
        if next == out.len() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    Ok(out.into_iter().flatten().collect())
}

async fn execute_on(conn: &Conn, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
    let st = conn.prepared(&[sql]).await?;
    let boxed = params(values);
    match st.first() {
        Some(st) => conn
            .client()
            .execute(st, &refs(&boxed))
            .await
            .map_err(map_err),
        None => Err(StoreError::Task("no prepared statement".into())),
    }
}

async fn query_on(conn: &Conn, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
    let st = conn.prepared(&[sql]).await?;
    let boxed = params(values);
    let Some(st) = st.first() else {
        return Err(StoreError::Task("no prepared statement".into()));
    };
    let rows = conn
        .client()
        .query(st, &refs(&boxed))
        .await
        .map_err(map_err)?;
    rows.iter().map(read_row).collect()
}

/// A transaction on a pooled connection of its own. The connection goes
/// back to the pool only after `COMMIT`; a transaction dropped without
/// commit closes its connection, and the server rolls it back.
struct PostgresTx {
    conn: Mutex<Option<Pooled>>,
}

impl std::fmt::Debug for PostgresTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTx").finish_non_exhaustive()
    }
}

fn finished() -> StoreError {
    StoreError::Task("the transaction has already ended".into())
}

#[async_trait]
impl Backend for PostgresTx {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
        let guard = self.conn.lock().await;
        let conn = guard.as_ref().ok_or_else(finished)?;
        execute_on(conn.conn()?, sql, &values).await
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let guard = self.conn.lock().await;
        let conn = guard.as_ref().ok_or_else(finished)?;
        query_on(conn.conn()?, sql, &values).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        Err(StoreError::Task("transactions do not nest".into()))
    }

    async fn migrate(&self, _migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
        Err(StoreError::Task(
            "migrations run outside transactions".into(),
        ))
    }

    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        super::backend::nested_transaction(self, stmts).await
    }
}

#[async_trait]
impl Transaction for PostgresTx {
    async fn commit(&self) -> Result<(), StoreError> {
        let mut guard = self.conn.lock().await;
        let mut conn = guard.take().ok_or_else(finished)?;
        conn.conn()?
            .client()
            .batch_execute("COMMIT")
            .await
            .map_err(map_err)?;
        conn.reuse();
        Ok(())
    }
}

async fn apply(client: &mut Client, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
    client.batch_execute(MIGRATIONS_TABLE).await?;
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?;
    let current: i64 = row.try_get(0)?;
    if current > latest() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest(),
        });
    }
    let now = crate::clock::now();
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > current) {
        let tx = client.transaction().await?;
        tx.batch_execute(m.postgres).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now],
        )
        .await?;
        tx.commit().await?;
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://rampart:s3cret@db:5432/rampart"),
            "postgres://rampart:***@db:5432/rampart"
        );
        assert_eq!(redact_url("mysql://x"), "mysql://x");
    }
}
