//! The attack vector of a CVSS 3.x or 4.0 vector (and 2.0, which spells it
//! the same way).

use serde::{Deserialize, Serialize};

/// CVSS `AV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackVector {
    Network,
    Adjacent,
    Local,
    Physical,
}

impl AttackVector {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AttackVector::Network => "network",
            AttackVector::Adjacent => "adjacent",
            AttackVector::Local => "local",
            AttackVector::Physical => "physical",
        }
    }
}

/// Why a vector's attack vector could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    #[error("unsupported CVSS version prefix {0:?}")]
    Version(String),
    #[error("no AV metric")]
    NoAttackVector,
    #[error("AV appears twice")]
    Repeated,
    #[error("unknown AV value {0:?}")]
    Value(String),
}

/// Reads `AV` from `CVSS:3.0/...`, `CVSS:3.1/...`, `CVSS:4.0/...` or a
/// prefix-less 2.0 vector (`AV:N/AC:L/Au:N/...`).
///
/// # Errors
///
/// [`VectorError`] when the prefix names another version, `AV` is missing or
/// repeated, or its value is not one of `N`, `A`, `L`, `P`.
pub fn attack_vector(vector: &str) -> Result<AttackVector, VectorError> {
    let mut parts = vector.trim().split('/').peekable();
    if let Some(first) = parts.peek()
        && let Some(version) = first.strip_prefix("CVSS:")
    {
        if !matches!(version, "3.0" | "3.1" | "4.0") {
            return Err(VectorError::Version(version.to_string()));
        }
        parts.next();
    }
    let mut found = None;
    for part in parts {
        if let Some(v) = part.strip_prefix("AV:") {
            if found.is_some() {
                return Err(VectorError::Repeated);
            }
            found = Some(match v {
                "N" => AttackVector::Network,
                "A" => AttackVector::Adjacent,
                "L" => AttackVector::Local,
                "P" => AttackVector::Physical,
                other => return Err(VectorError::Value(other.to_string())),
            });
        }
    }
    found.ok_or(VectorError::NoAttackVector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attack_vectors() {
        for (v, want) in [
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                AttackVector::Network,
            ),
            (
                "CVSS:3.0/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                AttackVector::Adjacent,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                AttackVector::Local,
            ),
            (
                "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                AttackVector::Physical,
            ),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", AttackVector::Network),
        ] {
            assert_eq!(attack_vector(v), Ok(want), "{v}");
        }
    }

    #[test]
    fn refuses_bad_vectors() {
        assert_eq!(
            attack_vector("CVSS:5.0/AV:N"),
            Err(VectorError::Version("5.0".into()))
        );
        assert_eq!(
            attack_vector("CVSS:3.1/AC:L"),
            Err(VectorError::NoAttackVector)
        );
        assert_eq!(attack_vector(""), Err(VectorError::NoAttackVector));
        assert_eq!(
            attack_vector("CVSS:3.1/AV:X/AC:L"),
            Err(VectorError::Value("X".into()))
        );
        assert_eq!(
            attack_vector("CVSS:3.1/AV:N/AV:L"),
            Err(VectorError::Repeated)
        );
    }
}
