//! A small bounded pool of PostgreSQL connections: at most `size` open at
//! once, idle ones reused, broken ones dropped and replaced on demand. Each
//! connection keeps the statements it prepared (see [`Conn::prepared`]), so
//! a statement the console runs again costs one round trip, not two.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, Statement};

use super::postgres::{Tls, connect, map_err, numbered_placeholders, pipelined};
use crate::error::StoreError;

/// The most prepared statements a connection keeps; when full, the cache
/// starts over (statements with a variable `IN (...)` list would otherwise
/// grow it without bound).
const MAX_PREPARED: usize = 256;

/// An open connection and the statements prepared on it, by their SQL
/// (with `?` placeholders).
pub(super) struct Conn {
    client: Client,
    prepared: Mutex<HashMap<String, Statement>>,
}

impl Conn {
    fn new(client: Client) -> Self {
        Conn {
            client,
            prepared: Mutex::new(HashMap::new()),
        }
    }

    /// The connection.
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    fn cached(&self, sql: &str) -> Option<Statement> {
        self.prepared.lock().ok()?.get(sql).cloned()
    }

    fn remember(&self, sql: &str, st: &Statement) {
        if let Ok(mut m) = self.prepared.lock() {
            if m.len() >= MAX_PREPARED {
                m.clear();
            }
            m.insert(sql.to_string(), st.clone());
        }
    }

    /// The prepared statement for each of `sqls` (in order): the ones not
    /// prepared on this connection yet are prepared now, in one pipelined
    /// round trip.
    pub(super) async fn prepared(&self, sqls: &[&str]) -> Result<Vec<Statement>, StoreError> {
        let mut missing: Vec<&str> = sqls
            .iter()
            .copied()
            .filter(|s| self.cached(s).is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let numbered: Vec<String> = missing.iter().map(|s| numbered_placeholders(s)).collect();
            let futures = numbered.iter().map(|s| self.client.prepare(s)).collect();
            let statements = pipelined(futures).await.map_err(map_err)?;
            for (sql, st) in missing.iter().zip(&statements) {
                self.remember(sql, st);
            }
        }
        let mut out = Vec::with_capacity(sqls.len());
        for s in sqls {
            match self.cached(s) {
                Some(st) => out.push(st),
                // The cache started over while preparing (more distinct
                // statements than it holds): prepare this one alone.
                None => {
                    let st = self
                        .client
                        .prepare(&numbered_placeholders(s))
                        .await
                        .map_err(map_err)?;
                    self.remember(s, &st);
                    out.push(st);
                }
            }
        }
        Ok(out)
    }
}

/// The pool: a semaphore bounds the connections in use, a stack keeps the
/// idle ones.
pub(super) struct Pool {
    url: String,
    tls: Tls,
    size: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    pub(super) fn new(url: String, tls: Tls, size: usize) -> Self {
        let size = size.max(1);
        Pool {
            url,
            tls,
            size,
            permits: Arc::new(Semaphore::new(size)),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    fn pop_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(c) = idle.pop() {
            if !c.client.is_closed() {
                return Some(c);
            }
        }
        None
    }

    /// A connection: an idle one that is still open, else a new one. Waits
    /// while `size` connections are in use.
    pub(super) async fn get(self: &Arc<Self>) -> Result<Pooled, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Task("the connection pool is closed".into()))?;
        let client = match self.pop_idle() {
            Some(c) => c,
            None => Conn::new(connect(&self.url, &self.tls).await?),
        };
        Ok(Pooled {
            conn: Some(client),
            pool: Arc::clone(self),
            reusable: true,
            _permit: permit,
        })
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it
/// broke or was marked [`Pooled::hold`] (a transaction in progress).
pub(super) struct Pooled {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    reusable: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    /// The connection (present until the value is dropped).
    pub(super) fn conn(&self) -> Result<&Conn, StoreError> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Task("pooled connection already released".into()))
    }

    /// Do not give this connection back to the pool when dropped (it is in
    /// a transaction: closing it makes the server roll back).
    pub(super) fn hold(&mut self) {
        self.reusable = false;
    }

    /// The connection is clean again (after `COMMIT`).
    pub(super) fn reuse(&mut self) {
        self.reusable = true;
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && self.reusable
            && !c.client.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(c);
        }
    }
}
