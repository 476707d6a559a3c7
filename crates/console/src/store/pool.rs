//! A small bounded pool of PostgreSQL connections: at most `size` open at
//! once, idle ones reused, broken ones dropped and replaced on demand.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::Client;

use super::postgres::{Tls, connect};
use crate::error::StoreError;

/// The pool: a semaphore bounds the connections in use, a stack keeps the
/// idle ones.
pub(super) struct Pool {
    url: String,
    tls: Tls,
    size: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Client>>,
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

    fn pop_idle(&self) -> Option<Client> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(c) = idle.pop() {
            if !c.is_closed() {
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
            None => connect(&self.url, &self.tls).await?,
        };
        Ok(Pooled {
            client: Some(client),
            pool: Arc::clone(self),
            reusable: true,
            _permit: permit,
        })
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it
/// broke or was marked [`Pooled::hold`] (a transaction in progress).
pub(super) struct Pooled {
    client: Option<Client>,
    pool: Arc<Pool>,
    reusable: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    /// The connection (present until the value is dropped).
    pub(super) fn client(&self) -> Result<&Client, StoreError> {
        self.client
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
        if let Some(c) = self.client.take()
            && self.reusable
            && !c.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(c);
        }
    }
}
