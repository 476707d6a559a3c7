use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of scanner `rampart scan` can run over a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScannerKind {
    /// Known vulnerabilities in the packages found (SBOM matched against advisories).
    Vuln,
    /// Exposed credentials.
    Secret,
    /// Malware, by YARA rules.
    Malware,
    /// Compliance and configuration checks.
    Posture,
}

impl ScannerKind {
    /// Every scanner kind, in the order reports list them.
    pub const ALL: [ScannerKind; 4] = [
        ScannerKind::Vuln,
        ScannerKind::Secret,
        ScannerKind::Malware,
        ScannerKind::Posture,
    ];

    /// The name used on the command line and in configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ScannerKind::Vuln => "vuln",
            ScannerKind::Secret => "secret",
            ScannerKind::Malware => "malware",
            ScannerKind::Posture => "posture",
        }
    }
}

impl fmt::Display for ScannerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scanner name that is not one of [`ScannerKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scanner {0:?} (expected one of: vuln, secret, malware, posture)")]
pub struct UnknownScanner(pub String);

impl FromStr for ScannerKind {
    type Err = UnknownScanner;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vuln" | "vulns" | "vulnerability" | "vulnerabilities" => Ok(ScannerKind::Vuln),
            "secret" | "secrets" => Ok(ScannerKind::Secret),
            "malware" => Ok(ScannerKind::Malware),
            "posture" | "compliance" | "config" => Ok(ScannerKind::Posture),
            _ => Err(UnknownScanner(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ScannerKind::ALL {
            assert_eq!(kind.as_str().parse::<ScannerKind>(), Ok(kind));
        }
        assert_eq!("secrets".parse::<ScannerKind>(), Ok(ScannerKind::Secret));
        assert!("antivirus".parse::<ScannerKind>().is_err());
    }
}
