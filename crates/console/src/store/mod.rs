//! The console's state, behind one [`Backend`] trait with two
//! implementations: SQLite (embedded, the default) and PostgreSQL.

pub mod agents;
mod backend;
pub mod inventory;
pub mod jobs;
pub mod migrations;
mod pool;
mod postgres;
mod query;
pub mod registries;
pub mod scans;
pub mod schedules;
pub mod settings;
mod sqlite;
pub mod threat;
pub mod topology;
mod value;

use std::path::Path;
use std::sync::Arc;

pub use backend::{Backend, BackendKind, Stmt, Transaction};
pub use postgres::{DEFAULT_POOL_SIZE, PostgresBackend, redact_url};
pub use query::{Filter, Sort};
pub use sqlite::SqliteBackend;
pub use value::{Row, Value};

use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{AuditEntry, Page, Role, Token, User};

/// The SQLite file's name in the data directory.
pub const SQLITE_FILE: &str = "console.db";

/// Which slice of a list to return.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

/// A user as stored, with what authentication needs.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

impl UserRecord {
    /// The API view (no hash).
    pub fn to_api(&self, now: i64) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            role: self.role,
            disabled: self.disabled,
            locked_until: self.locked_until.filter(|t| *t > now).map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            last_login_at: self.last_login_at.map(rfc3339),
        }
    }
}

const USER_COLS: &str = "id, username, password_hash, role, disabled, failed_logins, \
    locked_until, created_at, updated_at, last_login_at";

fn role_at(row: &Row, i: usize) -> Result<Role, StoreError> {
    let s = row.text(i)?;
    Role::parse(&s).ok_or_else(|| StoreError::Decode(format!("role {s:?}")))
}

fn opt_role_at(row: &Row, i: usize) -> Result<Option<Role>, StoreError> {
    row.opt_text(i)?
        .map(|s| Role::parse(&s).ok_or_else(|| StoreError::Decode(format!("scope {s:?}"))))
        .transpose()
}

fn user_from(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.int(0)?,
        username: row.text(1)?,
        password_hash: row.text(2)?,
        role: role_at(row, 3)?,
        disabled: row.flag(4)?,
        failed_logins: row.int(5)?,
        locked_until: row.opt_int(6)?,
        created_at: row.int(7)?,
        updated_at: row.int(8)?,
        last_login_at: row.opt_int(9)?,
    })
}

/// A token as stored, with its owner.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub kind: String,
    pub name: String,
    pub prefix: String,
    pub scope: Option<Role>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// The API view.
    pub fn to_api(&self) -> Token {
        Token {
            id: self.id,
            user_id: self.user_id,
            username: self.username.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            scope: self.scope,
            created_at: rfc3339(self.created_at),
            expires_at: self.expires_at.map(rfc3339),
            last_used_at: self.last_used_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
        }
    }
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.username, t.kind, t.name, t.prefix, t.scope, \
    t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

const TOKEN_COL_COUNT: usize = 11;

fn token_from(row: &Row) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.int(0)?,
        user_id: row.int(1)?,
        username: row.text(2)?,
        kind: row.text(3)?,
        name: row.text(4)?,
        prefix: row.text(5)?,
        scope: opt_role_at(row, 6)?,
        created_at: row.int(7)?,
        expires_at: row.opt_int(8)?,
        last_used_at: row.opt_int(9)?,
        revoked_at: row.opt_int(10)?,
    })
}

/// A token to insert.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub scope: Option<Role>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// An audit entry to append.
#[derive(Debug, Clone, Default)]
pub struct NewAudit {
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub source: Option<String>,
    pub outcome: String,
    pub detail: Option<serde_json::Value>,
}

const AUDIT_COLS: &str = "id, at, actor_id, actor, action, target, source, outcome, detail";

fn audit_from(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.int(0)?,
        at: rfc3339(row.int(1)?),
        actor_id: row.opt_int(2)?,
        actor: row.text(3)?,
        action: row.text(4)?,
        target: row.opt_text(5)?,
        source: row.opt_text(6)?,
        outcome: row.text(7)?,
        detail: row
            .opt_text(8)?
            .map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))),
    })
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
}

/// The console's state.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<dyn Backend>,
}

/// A [`Store`] inside a transaction (see [`Store::begin`]); derefs to the
/// store, so every query method runs in the transaction.
#[derive(Debug)]
pub struct StoreTx {
    store: Store,
    tx: Arc<dyn Transaction>,
}

impl std::ops::Deref for StoreTx {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl StoreTx {
    /// Makes the changes permanent.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await
    }
}

impl Store {
    /// Wraps a backend (migrations are not applied: see [`Store::migrate`]).
    pub fn new(db: Arc<dyn Backend>) -> Self {
        Store { db }
    }

    /// Opens PostgreSQL when `database_url` is given (trusting `database_ca`
    /// for its certificate), else the SQLite file in `data_dir`, and applies
    /// pending migrations.
    pub async fn open(
        data_dir: &Path,
        database_url: Option<&str>,
        database_ca: Option<&Path>,
    ) -> Result<Self, StoreError> {
        Self::open_pooled(data_dir, database_url, database_ca, DEFAULT_POOL_SIZE).await
    }

    /// Like [`Store::open`], with at most `pool_size` PostgreSQL
    /// connections (SQLite has one).
    pub async fn open_pooled(
        data_dir: &Path,
        database_url: Option<&str>,
        database_ca: Option<&Path>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let db: Arc<dyn Backend> = match database_url {
            Some(url) => {
                Arc::new(PostgresBackend::connect_pooled(url, database_ca, pool_size).await?)
            }
            None => Arc::new(SqliteBackend::open(&data_dir.join(SQLITE_FILE))?),
        };
        let store = Store::new(db);
        store.migrate().await?;
        Ok(store)
    }

    /// Starts a transaction: every [`Store`] method called through the
    /// returned [`StoreTx`] runs in it, until [`StoreTx::commit`]; dropping
    /// it uncommitted (an error, a cancelled request) rolls everything
    /// back. Used to write an action and its audit entry atomically. Do not
    /// use the outer store while a transaction is open on SQLite (it has
    /// one connection, which the transaction holds).
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        let tx: Arc<dyn Transaction> = Arc::from(self.db.begin().await?);
        Ok(StoreTx {
            store: Store {
                db: Arc::clone(&tx) as Arc<dyn Backend>,
            },
            tx,
        })
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let applied = self.db.migrate(migrations::MIGRATIONS).await?;
        for v in &applied {
            tracing::info!("applied schema migration {v} ({})", self.db.kind().name());
        }
        Ok(applied)
    }

    /// Which database this is.
    pub fn kind(&self) -> BackendKind {
        self.db.kind()
    }

    /// The applied schema version.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                vec![],
            )
            .await?;
        rows.first().map_or(Ok(0), |r| r.int(0))
    }

    /// Whether the database connection is encrypted: `None` for SQLite
    /// (no connection), else what PostgreSQL reports for this session.
    pub async fn connection_encrypted(&self) -> Result<Option<bool>, StoreError> {
        if self.kind() == BackendKind::Sqlite {
            return Ok(None);
        }
        let rows = self
            .db
            .query(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                vec![],
            )
            .await?;
        Ok(Some(
            rows.first()
                .map(|r| r.flag(0))
                .transpose()?
                .unwrap_or(false),
        ))
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.query("SELECT 1", vec![]).await.map(|_| ())
    }

    async fn page<T>(
        &self,
        select: &str,
        from: &str,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
        map: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let where_sql = filter.where_sql();
        let count_sql = format!("SELECT COUNT(*) FROM {from}{where_sql}");
        let total = self
            .db
            .query(&count_sql, filter.params())
            .await?
            .first()
            .map_or(Ok(0), |r| r.int(0))?;
        let sql = format!(
            "SELECT {select} FROM {from}{where_sql} ORDER BY {} LIMIT ? OFFSET ?",
            sort.order_by()
        );
        let mut params = filter.params();
        params.push(paging.limit.into());
        params.push(paging.offset.into());
        let rows = self.db.query(&sql, params).await?;
        let items = rows.iter().map(map).collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            total,
            limit: paging.limit,
            offset: paging.offset,
        })
    }

    // ---- users -------------------------------------------------------

    /// Number of users (all roles).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let rows = self.db.query("SELECT COUNT(*) FROM users", vec![]).await?;
        rows.first().map_or(Ok(0), |r| r.int(0))
    }

    /// Number of enabled admins.
    pub async fn count_active_admins(&self) -> Result<i64, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                vec![],
            )
            .await?;
        rows.first().map_or(Ok(0), |r| r.int(0))
    }

    /// Creates a user; [`StoreError::Conflict`] if the name is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING {USER_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    username.into(),
                    password_hash.into(),
                    role.as_str().into(),
                    now.into(),
                    now.into(),
                ],
            )
            .await?;
        rows.first().ok_or(StoreError::Conflict).and_then(user_from)
    }

    /// Creates the first admin unless any user exists; `true` if created.
    /// Safe when several consoles start at once (the name is unique).
    pub async fn create_first_admin(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        if self.count_users().await? > 0 {
            return Ok(false);
        }
        let n = self
            .db
            .execute(
                "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
                 VALUES (?, ?, 'admin', ?, ?) ON CONFLICT (username) DO NOTHING",
                vec![
                    username.into(),
                    password_hash.into(),
                    now.into(),
                    now.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(user_from).transpose()
    }

    /// A user by name.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE username = ?");
        let rows = self.db.query(&sql, vec![username.into()]).await?;
        rows.first().map(user_from).transpose()
    }

    /// A page of users.
    pub async fn list_users(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<UserRecord>, StoreError> {
        self.page(USER_COLS, "users", filter, sort, paging, user_from)
            .await
    }

    /// Applies `changes`; the updated user, or `None` if it does not exist.
    pub async fn update_user(
        &self,
        id: i64,
        changes: &UserChanges,
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut sets = vec!["updated_at = ?".to_string()];
        let mut params: Vec<Value> = vec![now.into()];
        if let Some(r) = changes.role {
            sets.push("role = ?".into());
            params.push(r.as_str().into());
        }
        if let Some(h) = &changes.password_hash {
            sets.push("password_hash = ?".into());
            params.push(h.clone().into());
            // A new password also lifts a lockout.
            sets.push("failed_logins = 0".into());
            sets.push("locked_until = NULL".into());
        }
        if let Some(d) = changes.disabled {
            sets.push("disabled = ?".into());
            params.push(d.into());
        }
        params.push(id.into());
        let sql = format!(
            "UPDATE users SET {} WHERE id = ? RETURNING {USER_COLS}",
            sets.join(", ")
        );
        let rows = self.db.query(&sql, params).await?;
        rows.first().map(user_from).transpose()
    }

    /// Deletes a user (their tokens go with them); `true` if it existed.
    pub async fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute("DELETE FROM users WHERE id = ?", vec![id.into()])
            .await?
            == 1)
    }

    /// Counts a failed login; locks the account for `lock_secs` when this
    /// makes `threshold` failures in a row (the count then starts again).
    /// Returns the lock's end when it locked.
    pub async fn record_login_failure(
        &self,
        id: i64,
        threshold: i64,
        lock_secs: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let until = now.saturating_add(lock_secs);
        let rows = self
            .db
            .query(
                "UPDATE users SET \
                   locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END, \
                   failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END \
                 WHERE id = ? RETURNING locked_until",
                vec![threshold.into(), until.into(), threshold.into(), id.into()],
            )
            .await?;
        let locked = rows.first().map(|r| r.opt_int(0)).transpose()?.flatten();
        Ok(locked.filter(|t| *t == until))
    }

    /// Records a successful login: resets the failure count.
    pub async fn record_login_success(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? \
                 WHERE id = ?",
                vec![now.into(), id.into()],
            )
            .await
            .map(|_| ())
    }

    // ---- tokens ------------------------------------------------------

    /// Stores a token (its hash only).
    pub async fn create_token(&self, t: &NewToken<'_>) -> Result<TokenRecord, StoreError> {
        let rows = self
            .db
            .query(
                "INSERT INTO tokens (user_id, kind, name, token_hash, prefix, scope, created_at, \
                 expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                vec![
                    t.user_id.into(),
                    t.kind.into(),
                    t.name.into(),
                    t.token_hash.into(),
                    t.prefix.into(),
                    t.scope.map(|r| r.as_str().to_string()).into(),
                    t.created_at.into(),
                    t.expires_at.into(),
                ],
            )
            .await?;
        let id = rows.first().ok_or(StoreError::Conflict)?.int(0)?;
        self.token(id).await?.ok_or(StoreError::Conflict)
    }

    /// A token by id.
    pub async fn token(&self, id: i64) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?"
        );
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(token_from).transpose()
    }

    /// A token and its owner by the secret's hash (any state: the caller
    /// checks revocation, expiry and the owner), in one query.
    pub async fn token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        let user_cols: Vec<String> = USER_COLS.split(", ").map(|c| format!("u.{c}")).collect();
        let sql = format!(
            "SELECT {TOKEN_COLS}, {} FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ?",
            user_cols.join(", ")
        );
        let rows = self.db.query(&sql, vec![hash.into()]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let token = token_from(row)?;
        let user = user_from(&Row(row.0[TOKEN_COL_COUNT..].to_vec()))?;
        Ok(Some((token, user)))
    }

    /// Deletes sessions that expired or were revoked more than
    /// `keep_secs` ago (API tokens are kept: they are listed until deleted
    /// with their user). Returns how many.
    pub async fn purge_sessions(&self, now: i64, keep_secs: i64) -> Result<u64, StoreError> {
        let before = now - keep_secs;
        self.db
            .execute(
                "DELETE FROM tokens WHERE kind = 'session' AND (expires_at < ? OR revoked_at < ?)",
                vec![before.into(), before.into()],
            )
            .await
    }

    /// Notes a token's use (at most once a minute, to spare writes).
    pub async fn touch_token(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE tokens SET last_used_at = ? WHERE id = ? \
                 AND (last_used_at IS NULL OR last_used_at < ?)",
                vec![now.into(), id.into(), (now - 60).into()],
            )
            .await
            .map(|_| ())
    }

    /// Revokes a token; `true` if it was live.
    pub async fn revoke_token(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                vec![now.into(), id.into()],
            )
            .await?
            == 1)
    }

    /// Revokes every live token of a user (password change, disabling),
    /// except `keep` (the session making the change).
    pub async fn revoke_user_tokens(
        &self,
        user_id: i64,
        now: i64,
        keep: Option<i64>,
    ) -> Result<u64, StoreError> {
        self.db
            .execute(
                "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL \
                 AND id <> ?",
                vec![now.into(), user_id.into(), keep.unwrap_or(-1).into()],
            )
            .await
    }

    /// A page of tokens.
    pub async fn list_tokens(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<TokenRecord>, StoreError> {
        self.page(
            TOKEN_COLS,
            "tokens t JOIN users u ON u.id = t.user_id",
            filter,
            sort,
            paging,
            token_from,
        )
        .await
    }

    // ---- audit log ---------------------------------------------------

    /// Appends an audit entry.
    pub async fn audit(&self, e: &NewAudit) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO audit_log (at, actor_id, actor, action, target, source, outcome, \
                 detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    e.at.into(),
                    e.actor_id.into(),
                    e.actor.clone().into(),
                    e.action.clone().into(),
                    e.target.clone().into(),
                    e.source.clone().into(),
                    e.outcome.clone().into(),
                    e.detail.as_ref().map(ToString::to_string).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    /// A page of the audit log.
    pub async fn list_audit(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.page(AUDIT_COLS, "audit_log", filter, sort, paging, audit_from)
            .await
    }
}
