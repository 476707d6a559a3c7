//! The embedded backend: one SQLite file in WAL mode, one connection used
//! from blocking tasks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::backend::{Backend, BackendKind, Stmt};
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
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("SQLite connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
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
        self.with_conn(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let n = stmt
                .execute(rusqlite::params_from_iter(params.iter().map(Param)))
                .map_err(map_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sql.to_string();
        self.with_conn(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let n = stmt.column_count();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter().map(Param)), |r| {
                    read_row(r, n)
                })
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
        .await
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
        let migrations = migrations.to_vec();
        let now = crate::clock::now();
        self.with_conn(move |c| {
            c.execute_batch(MIGRATIONS_TABLE)?;
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
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![m.version, m.name, now],
                )?;
                tx.commit()?;
                applied.push(m.version);
            }
            Ok(applied)
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
