//! A stop signal threads can wait on (shutdown of the sensor, cancellation of a job).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Cloneable; `stop` wakes every waiter.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Stop {
    /// A new, not yet stopped, signal.
    #[must_use]
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks every holder to stop.
    pub fn stop(&self) {
        let (m, c) = &*self.inner;
        if let Ok(mut g) = m.lock() {
            *g = true;
        }
        c.notify_all();
    }

    /// Whether [`Stop::stop`] was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.inner.0.lock().map(|g| *g).unwrap_or(true)
    }

    /// Sleeps up to `d`; returns `true` as soon as the signal is stopped.
    #[must_use]
    pub fn wait(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let (m, c) = &*self.inner;
        let Ok(mut g) = m.lock() else { return true };
        while !*g {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match c.wait_timeout(g, deadline - now) {
                Ok((next, _)) => g = next,
                Err(_) => return true,
            }
        }
        true
    }
}
