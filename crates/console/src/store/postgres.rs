//! The scale-out backend: PostgreSQL through `tokio-postgres`, with a small
//! bounded pool of connections (see [`super::pool`]) so concurrent requests
//! do not wait for each other, and transactions on a connection of their
//! own.

use std::path::Path;
use std::sync::Arc;

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
use super::pool::{Pool, Pooled};
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

fn map_err(e: tokio_postgres::Error) -> StoreError {
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
        execute_on(conn.client()?, sql, &values).await
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let conn = self.pool.get().await?;
        query_on(conn.client()?, sql, &values).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let mut conn = self.pool.get().await?;
        conn.hold();
        conn.client()?
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
        // The shared client pipelines other tasks' queries: a transaction
        // needs a connection of its own.
        let mut client = connect(&self.url, &self.tls).await?;
        let tx = client.transaction().await.map_err(map_err)?;
        for s in &stmts {
            let sql = numbered_placeholders(&s.sql);
            let boxed = params(&s.params);
            let refs: Vec<&(dyn ToSql + Sync)> = boxed
                .iter()
                .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let n = tx.execute(&sql, &refs).await.map_err(map_err)?;
            if s.guard && n == 0 {
                tx.rollback().await.map_err(map_err)?;
                return Ok(false);
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}

async fn execute_on(client: &Client, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
    let sql = numbered_placeholders(sql);
    let boxed = params(values);
    let refs: Vec<&(dyn ToSql + Sync)> = boxed
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    client.execute(&sql, &refs).await.map_err(map_err)
}

async fn query_on(client: &Client, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
    let sql = numbered_placeholders(sql);
    let boxed = params(values);
    let refs: Vec<&(dyn ToSql + Sync)> = boxed
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await.map_err(map_err)?;
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
        execute_on(conn.client()?, sql, &values).await
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let guard = self.conn.lock().await;
        let conn = guard.as_ref().ok_or_else(finished)?;
        query_on(conn.client()?, sql, &values).await
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
        conn.client()?
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
