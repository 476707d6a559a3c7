//! Passwords (argon2id), bearer secrets (random, stored as SHA-256), and the
//! per-address login rate limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ConsoleError;

/// The shortest password accepted for a user.
pub const MIN_PASSWORD_LEN: usize = 12;

fn hasher() -> Argon2<'static> {
    // argon2id with the library's defaults (19 MiB, 2 passes, 1 lane): the
    // OWASP minimum for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ConsoleError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| ConsoleError::Hash(format!("random source: {e}")))?;
    Ok(buf)
}

/// A PHC-format argon2id hash of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| ConsoleError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Hash(e.to_string()))
}

/// Whether `password` matches the stored `hash` (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that the
/// answer takes as long as for a real user.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("rampart-dummy-password").unwrap_or_default())
}

/// A new bearer secret `<prefix>_<43 base64url chars>` (256 random bits).
pub fn new_secret(prefix: &str) -> Result<String, ConsoleError> {
    let bytes = random_bytes::<32>()?;
    Ok(format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// How a secret is stored: hex SHA-256 (the secret has 256 bits of entropy,
/// so a fast hash is enough; the database never holds the secret).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret shown in listings to recognise it.
pub fn secret_prefix(secret: &str) -> String {
    secret.chars().take(12).collect()
}

/// A generated password for the first admin: 24 characters from an
/// unambiguous alphabet (about 137 bits).
pub fn generate_password() -> Result<String, ConsoleError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<64>()?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::new();
    for b in bytes {
        if usize::from(b) < limit {
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            if out.len() == 24 {
                return Ok(out);
            }
        }
    }
    // 64 bytes give 24 accepted ones with overwhelming probability; if not,
    // draw again.
    generate_password()
}

/// Login attempts allowed per client address per window.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window_secs: i64,
    state: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    /// `max` attempts per `window_secs` per address.
    pub fn new(max: u32, window_secs: i64) -> Self {
        RateLimiter {
            max,
            window_secs: window_secs.max(1),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        if state.len() > 100_000 {
            // Bounded memory: forget finished windows.
            let w = self.window_secs;
            state.retain(|_, (start, _)| now - *start < w);
        }
        let entry = state.entry(ip).or_insert((now, 0));
        if now - entry.0 >= self.window_secs {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err((entry.0 + self.window_secs - now).max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery!", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret("rmt").unwrap();
        let b = new_secret("rmt").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("rmt_") && a.len() == 47, "{a}");
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
        let p = generate_password().unwrap();
        assert_eq!(p.len(), 24);
    }

    #[test]
    fn rate_limiter_windows() {
        let rl = RateLimiter::new(2, 60);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(rl.check(ip, 100).is_ok());
        assert!(rl.check(ip, 101).is_ok());
        assert_eq!(rl.check(ip, 102), Err(58));
        assert!(rl.check("::1".parse().unwrap(), 102).is_ok());
        assert!(rl.check(ip, 160).is_ok());
    }
}
