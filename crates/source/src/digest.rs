//! Content digests (`sha256:<hex>`) and readers that compute them on the fly.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::SourceError;

/// Hash algorithms the OCI image spec registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The algorithm's name in digests and blob paths.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// A validated content digest: algorithm plus lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// The digest's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex part, safe to use as a file name.
    #[must_use]
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The SHA-256 digest of `data`.
    #[must_use]
    pub fn sha256_of(data: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(data)),
        }
    }

    /// Computes the digest of `data` with this digest's algorithm.
    #[must_use]
    pub fn same_algorithm_of(&self, data: &[u8]) -> Digest {
        let mut h = Hasher::new(self.algorithm);
        h.update(data);
        h.finish()
    }

    /// Checks `data` against this digest.
    ///
    /// # Errors
    /// [`SourceError::DigestMismatch`] naming `what` when they differ.
    pub fn verify(&self, what: &str, data: &[u8]) -> Result<(), SourceError> {
        self.check(what, &self.same_algorithm_of(data))
    }

    /// Compares a computed digest with this expected one.
    ///
    /// # Errors
    /// [`SourceError::DigestMismatch`] naming `what` when they differ.
    pub fn check(&self, what: &str, actual: &Digest) -> Result<(), SourceError> {
        if self == actual {
            Ok(())
        } else {
            Err(SourceError::DigestMismatch {
                what: what.to_string(),
                expected: self.to_string(),
                actual: actual.to_string(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {0:?}: expected sha256:<64 hex> or sha512:<128 hex>")]
pub struct InvalidDigest(pub String);

impl FromStr for Digest {
    type Err = InvalidDigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidDigest(s.chars().take(200).collect());
        let (alg, hex) = s.split_once(':').ok_or_else(bad)?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(bad()),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An incremental hash of either supported algorithm.
#[derive(Debug, Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher.
    #[must_use]
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    #[must_use]
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                hex: hex::encode(h.finalize()),
            },
            Hasher::Sha512(h) => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex::encode(h.finalize()),
            },
        }
    }
}

/// What a [`HashingReader`] has seen: the running hash and the byte count.
#[derive(Debug)]
pub struct HashState {
    hasher: Hasher,
    bytes: u64,
}

/// A shared handle on a [`HashingReader`]'s state, readable after the reader
/// has been moved into a decoder chain.
#[derive(Debug, Clone)]
pub struct HashHandle(Arc<Mutex<HashState>>);

impl HashHandle {
    /// Bytes read through the reader so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).bytes
    }

    /// The digest of the bytes read so far.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hasher
            .clone()
            .finish()
    }
}

/// A reader that hashes and counts everything read through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    state: HashHandle,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; returns the reader and a handle to its state.
    pub fn new(inner: R, algorithm: Algorithm) -> (Self, HashHandle) {
        let state = HashHandle(Arc::new(Mutex::new(HashState {
            hasher: Hasher::new(algorithm),
            bytes: 0,
        })));
        (
            HashingReader {
                inner,
                state: state.clone(),
            },
            state,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let mut st = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
            st.hasher.update(&buf[..n]);
            st.bytes += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays() {
        let d: Digest = EMPTY.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d, Digest::sha256_of(b""));
    }

    #[test]
    fn rejects_malformed_digests() {
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            "md5:e3b0c44298fc1c149afbf4c8996fb924",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad} accepted");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_and_parse_round_trip(hex in "[0-9a-f]{64}", long in "[0-9a-f]{128}") {
            for text in [format!("sha256:{hex}"), format!("sha512:{long}")] {
                let d: Digest = text.parse().unwrap();
                proptest::prop_assert_eq!(d.to_string(), text);
                let json = serde_json::to_string(&d).unwrap();
                proptest::prop_assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,200}") {
            let _ = s.parse::<Digest>();
        }
    }

    #[test]
    fn hashing_reader_matches_one_shot_digest() {
        let data = b"hello layers".repeat(1000);
        let (mut r, h) = HashingReader::new(&data[..], Algorithm::Sha256);
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).unwrap_or_default();
        assert_eq!(h.bytes(), data.len() as u64);
        assert_eq!(h.digest(), Digest::sha256_of(&data));
    }
}
