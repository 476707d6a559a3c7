//! The storage trait both databases implement.

use async_trait::async_trait;

use super::migrations::Migration;
use super::value::{Row, Value};
use crate::error::StoreError;

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
}

/// A transaction in progress: a [`Backend`] whose statements all run in it.
/// Dropped without [`Transaction::commit`], it rolls back.
#[async_trait]
pub trait Transaction: Backend {
    /// Makes the transaction's changes permanent; afterwards every
    /// statement on the handle fails.
    async fn commit(&self) -> Result<(), StoreError>;
}
