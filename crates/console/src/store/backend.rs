//! The storage trait both databases implement.

use async_trait::async_trait;

use super::migrations::Migration;
use super::value::{Row, Value};
use crate::error::StoreError;

/// One statement of a [`Backend::transaction`].
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: String,
    pub params: Vec<Value>,
    /// When set, the statement must change at least one row, or the whole
    /// transaction is rolled back (a compare-and-set).
    pub guard: bool,
}

impl Stmt {
    /// A statement.
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Self {
        Stmt {
            sql: sql.into(),
            params,
            guard: false,
        }
    }

    /// A statement that must change a row.
    pub fn guard(sql: impl Into<String>, params: Vec<Value>) -> Self {
        Stmt {
            guard: true,
            ..Stmt::new(sql, params)
        }
    }
}

/// Which database a backend talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    /// The name shown in logs and `/healthz`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

/// A database the console stores its state in. SQL is written once, with
/// `?` placeholders, in the dialect both SQLite and PostgreSQL accept; each
/// backend binds [`Value`]s and returns [`Row`]s. Only the schema (see
/// [`Migration`]) differs per backend.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Which database this is.
    fn kind(&self) -> BackendKind;

    /// Runs a statement; returns the number of rows changed.
    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError>;

    /// Runs a query (or a statement with `RETURNING`); returns every row.
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError>;

    /// Starts a transaction: statements on the returned handle run in it
    /// until [`Transaction::commit`]; dropping it uncommitted rolls back.
    /// Transactions do not nest.
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;

    /// Applies the migrations not applied yet, each in its own transaction,
    /// recording them in `schema_migrations`; safe when several consoles
    /// start at once. Returns the versions applied now.
    async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, StoreError>;

    /// Runs `stmts` in one transaction, in order. `Ok(false)` (and nothing
    /// written) when a [`Stmt::guard`] statement changed no row.
    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError>;
}

/// A transaction in progress: a [`Backend`] whose statements all run in it.
/// Dropped without [`Transaction::commit`], it rolls back.
#[async_trait]
pub trait Transaction: Backend {
    /// Makes the transaction's changes permanent; afterwards every
    /// statement on the handle fails.
    async fn commit(&self) -> Result<(), StoreError>;
}

/// [`Backend::transaction`] inside a transaction already open on `db`: the
/// statements run under a savepoint, rolled back to when a guard statement
/// changes no row (both SQLite and PostgreSQL have savepoints).
pub(super) async fn nested_transaction(
    db: &dyn Backend,
    stmts: Vec<Stmt>,
) -> Result<bool, StoreError> {
    db.execute("SAVEPOINT rampart_nested", Vec::new()).await?;
    for s in stmts {
        let n = db.execute(&s.sql, s.params).await?;
        if s.guard && n == 0 {
            db.execute("ROLLBACK TO SAVEPOINT rampart_nested", Vec::new())
                .await?;
            db.execute("RELEASE SAVEPOINT rampart_nested", Vec::new())
                .await?;
            return Ok(false);
        }
    }
    db.execute("RELEASE SAVEPOINT rampart_nested", Vec::new())
        .await?;
    Ok(true)
}
