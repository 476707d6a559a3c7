//! The embedded backend: one SQLite file in WAL mode, one connection used
//! from blocking tasks. A transaction holds the connection until it ends
//! (SQLite serialises writers anyway).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use tokio::sync::{Mutex, OwnedMutexGuard};

use super::backend::{Backend, BackendKind, Stmt, Transaction};
use super::migrations::{MIGRATIONS_TABLE, Migration, latest};
use super::value::{Row, Value};
use crate::error::StoreError;

/// SQLite behind a mutex (SQLite serialises writers anyway).
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(SqliteBackend {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = ConnGuard(Arc::clone(&self.conn).lock_owned().await);
        tokio::task::spawn_blocking(move || f(&mut guard.0))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// The connection, locked. Whoever drops it while a transaction is open
/// (a handle dropped uncommitted, a request cancelled mid-statement) rolls
/// that transaction back, so the next user never inherits it.
struct ConnGuard(OwnedMutexGuard<Connection>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if !self.0.is_autocommit()
            && let Err(e) = self.0.execute_batch("ROLLBACK")
        {
            tracing::error!("rolling back an abandoned SQLite transaction: {e}");
        }
    }
}

/// A transaction: the locked connection, moved into a blocking task for
/// each statement and back.
struct SqliteTx {
    conn: Mutex<Option<ConnGuard>>,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx").finish_non_exhaustive()
    }
}

impl SqliteTx {
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut slot = self.conn.lock().await;
        let mut guard = slot
            .take()
            .ok_or_else(|| StoreError::Task("the transaction has already ended".into()))?;
        let (guard, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut guard.0);
            (guard, r)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        *slot = Some(guard);
        result
    }
}

fn execute_on(c: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(map_err)?;
    let n = stmt
        .execute(rusqlite::params_from_iter(params.iter().map(Param)))
        .map_err(map_err)?;
    Ok(n as u64)
}

fn query_on(c: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(map_err)?;
    let n = stmt.column_count();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter().map(Param)), |r| {
            read_row(r, n)
        })
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

#[async_trait]
impl Backend for SqliteTx {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let sql = sql.to_string();
        self.run(move |c| execute_on(c, &sql, &params)).await
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sql.to_string();
        self.run(move |c| query_on(c, &sql, &params)).await
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
impl Transaction for SqliteTx {
    async fn commit(&self) -> Result<(), StoreError> {
        self.run(|c| c.execute_batch("COMMIT").map_err(map_err))
            .await?;
        // Give the connection back.
        self.conn.lock().await.take();
        Ok(())
    }
}

fn to_sql(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::Int(Some(i)) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
    }
}

struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(to_sql(self.0))
    }
}

/// Applies the pending `migrations`, each in its own transaction; refuses
/// to commit one that leaves a dangling foreign key.
fn apply_migrations(
    c: &mut Connection,
    migrations: &[Migration],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut applied = Vec::new();
    for m in migrations {
        // BEGIN IMMEDIATE takes the write lock before reading the
        // version, so two processes cannot both apply a step.
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        if current > latest() {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest(),
            });
        }
        if m.version <= current {
            continue;
        }
        tx.execute_batch(m.sqlite)?;
        let dangling: i64 =
            tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if dangling > 0 {
            return Err(StoreError::Migration(format!(
                "migration {} would leave {dangling} dangling references",
                m.version
            )));
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, now],
        )?;
        tx.commit()?;
        applied.push(m.version);
    }
    Ok(applied)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == ErrorCode::ConstraintViolation
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return StoreError::Conflict;
    }
    StoreError::Sqlite(e)
}

fn read_row(row: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Row> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Text(None),
            ValueRef::Integer(v) => Value::Int(Some(v)),
            ValueRef::Text(t) => Value::Text(Some(String::from_utf8_lossy(t).into_owned())),
            ValueRef::Real(r) => Value::Text(Some(r.to_string())),
            ValueRef::Blob(b) => Value::Text(Some(String::from_utf8_lossy(b).into_owned())),
        });
    }
    Ok(Row(out))
}

#[async_trait]
impl Backend for SqliteBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let sql = sql.to_string();
        self.with_conn(move |c| execute_on(c, &sql, &params)).await
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sql.to_string();
        self.with_conn(move |c| query_on(c, &sql, &params)).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let guard = ConnGuard(Arc::clone(&self.conn).lock_owned().await);
        let tx = SqliteTx {
            conn: Mutex::new(Some(guard)),
        };
        // IMMEDIATE: take the write lock now, so a read-then-write
        // transaction cannot fail halfway with SQLITE_BUSY.
        tx.run(|c| c.execute_batch("BEGIN IMMEDIATE").map_err(map_err))
            .await?;
        Ok(Box::new(tx))
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
        let migrations = migrations.to_vec();
        let now = crate::clock::now();
        self.with_conn(move |c| {
            c.execute_batch(MIGRATIONS_TABLE)?;
            // A migration may rebuild a table others reference (SQLite
            // cannot alter a constraint): foreign keys are off meanwhile
            // (the pragma is a no-op inside a transaction), and checked
            // before each commit.
            c.pragma_update(None, "foreign_keys", "OFF")?;
            let result = apply_migrations(c, &migrations, now);
            c.pragma_update(None, "foreign_keys", "ON")?;
            result
        })
        .await
    }

    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(map_err)?;
            for s in &stmts {
                let n = tx
                    .prepare_cached(&s.sql)
                    .and_then(|mut st| {
                        st.execute(rusqlite::params_from_iter(s.params.iter().map(Param)))
                    })
                    .map_err(map_err)?;
                if s.guard && n == 0 {
                    // Dropping the transaction rolls it back.
                    return Ok(false);
                }
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
