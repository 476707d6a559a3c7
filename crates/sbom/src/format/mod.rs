//! SBOM documents Rampart writes.

mod cyclonedx;
mod spdx;

pub use cyclonedx::to_cyclonedx;
pub use spdx::to_spdx;

use sha2_free::content_uuid;

/// Details of the document's creation, passed in so output is reproducible
/// (tests fix the time; the CLI passes the current time).
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    /// RFC 3339 creation time.
    pub timestamp: String,
    /// The producing tool's version.
    pub tool_version: String,
}

/// A stable identifier derived from the document's content, so the same
/// target cataloged twice gets the same serial number.
mod sha2_free {
    /// A version-4-shaped UUID from a 128-bit FNV-1a hash of `data`.
    pub fn content_uuid(data: &str) -> String {
        let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
        for b in data.bytes() {
            h ^= u128::from(b);
            h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
        let mut bytes = h.to_be_bytes();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// The UUID of a catalog: a hash of its target and package URLs.
#[must_use]
pub fn document_uuid(sbom: &crate::Sbom) -> String {
    let mut key = sbom.target.clone();
    for p in &sbom.packages {
        key.push('\n');
        key.push_str(&p.purl);
    }
    content_uuid(&key)
}
