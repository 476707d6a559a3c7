//! Secrets encrypted at rest (registry passwords and tokens): ChaCha20-
//! Poly1305 with a random 96-bit nonce per value, under a 256-bit key
//! given as `RAMPART_SECRET_KEY` (base64) or generated into the data
//! directory (`secret.key`, mode 0600) on first start. Every ciphertext is
//! stored with the id of its key (the first 8 bytes of the key's SHA-256,
//! in hex), so older keys can stay configured for decryption while new
//! values use the current one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest as _, Sha256};

/// The generated key's file name in the data directory.
pub const KEY_FILE: &str = "secret.key";

const NONCE_LEN: usize = 12;

/// What can go wrong with keys and ciphertexts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A configured key is not base64 of 32 bytes.
    #[error("{0}: a secret key is the base64 encoding of 32 random bytes")]
    BadKey(String),
    /// The key file could not be read or written.
    #[error("{}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value was encrypted with a key that is not configured.
    #[error(
        "the secret was encrypted with key {0}, which is not configured (RAMPART_SECRET_KEY or old_secret_keys)"
    )]
    UnknownKey(String),
    /// The ciphertext is damaged, or the key is wrong.
    #[error("the stored secret does not decrypt (damaged, or a different key with the same id)")]
    Decrypt,
    /// The system's random source failed.
    #[error("random source: {0}")]
    Random(String),
}

/// Keys by id; new values are encrypted with the current one.
#[derive(Clone)]
pub struct SecretBox {
    current: String,
    keys: BTreeMap<String, Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("current", &self.current)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn decode_key(b64: &str, what: &str) -> Result<Key, CryptoError> {
    let raw = STANDARD
        .decode(b64.trim())
        .map_err(|_| CryptoError::BadKey(what.to_string()))?;
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|_| CryptoError::BadKey(what.to_string()))?;
    Ok(Key::from(bytes))
}

/// A key's id: the first 8 bytes of its SHA-256, in hex.
fn key_id(key: &Key) -> String {
    hex::encode(&Sha256::digest(key.as_slice())[..8])
}

fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0_u8; N];
    getrandom::fill(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

impl SecretBox {
    /// From a base64 key (the current one) and older keys still accepted
    /// for decryption.
    pub fn new(current: &str, old: &[String]) -> Result<Self, CryptoError> {
        let key = decode_key(current, "secret_key")?;
        let id = key_id(&key);
        let mut keys = BTreeMap::new();
        for (i, o) in old.iter().enumerate() {
            let k = decode_key(o, &format!("old_secret_keys[{i}]"))?;
            keys.insert(key_id(&k), k);
        }
        keys.insert(id.clone(), key);
        Ok(SecretBox { current: id, keys })
    }

    /// The configured key, else the one in `DATA_DIR/secret.key`, created
    /// (mode 0600) when missing.
    pub fn load_or_generate(
        configured: Option<&str>,
        old: &[String],
        data_dir: &Path,
    ) -> Result<Self, CryptoError> {
        if let Some(k) = configured {
            return Self::new(k, old);
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| CryptoError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Self::new(&text, old),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            Err(_) => {}
        }
        let encoded = STANDARD.encode(random::<32>()?);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(encoded.as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Self::new(&encoded, old)
            }
            // Another console on the same directory wrote it first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).map_err(io)?;
                Self::new(&text, old)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The id of the key new values are encrypted with.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Encrypts `plain`, bound to `context` (authenticated, not stored);
    /// returns (key id, base64 of nonce + ciphertext).
    pub fn seal(&self, plain: &str, context: &str) -> Result<(String, String), CryptoError> {
        let key = self
            .keys
            .get(&self.current)
            .ok_or_else(|| CryptoError::UnknownKey(self.current.clone()))?;
        let nonce_bytes = random::<NONCE_LEN>()?;
        let ct = ChaCha20Poly1305::new(key)
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        Ok((self.current.clone(), STANDARD.encode(out)))
    }

    /// Decrypts what [`SecretBox::seal`] returned.
    pub fn open(&self, key_id: &str, sealed: &str, context: &str) -> Result<String, CryptoError> {
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        let raw = STANDARD.decode(sealed).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        let plain = ChaCha20Poly1305::new(key)
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rotation_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load_or_generate(None, &[], dir.path()).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // The same file gives the same key.
        let again = SecretBox::load_or_generate(None, &[], dir.path()).unwrap();
        assert_eq!(again.current_key_id(), a.current_key_id());
        let (id, sealed) = a.seal("hunter2-password", "registry:1").unwrap();
        let (_, sealed2) = a.seal("hunter2-password", "registry:1").unwrap();
        assert_ne!(sealed, sealed2, "a fresh nonce per value");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            a.open(&id, &sealed, "registry:1").unwrap(),
            "hunter2-password"
        );
        assert!(matches!(
            a.open(&id, &sealed, "registry:2"),
            Err(CryptoError::Decrypt)
        ));
        let mut bad = STANDARD.decode(&sealed).unwrap();
        bad[15] ^= 1;
        assert!(a.open(&id, &STANDARD.encode(bad), "registry:1").is_err());
        // Rotation: a new current key, the old one kept for decryption.
        let old_key = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        let new_key = STANDARD.encode([7_u8; 32]);
        let b = SecretBox::new(&new_key, &[old_key]).unwrap();
        assert_ne!(b.current_key_id(), id);
        assert_eq!(
            b.open(&id, &sealed, "registry:1").unwrap(),
            "hunter2-password"
        );
        let c = SecretBox::new(&new_key, &[]).unwrap();
        assert!(matches!(
            c.open(&id, &sealed, "registry:1"),
            Err(CryptoError::UnknownKey(_))
        ));
        assert!(SecretBox::new("c2hvcnQ=", &[]).is_err());
    }
}
