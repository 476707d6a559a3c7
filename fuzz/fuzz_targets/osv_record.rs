//! Fuzz target: an OSV record as the store reads it, its ranges evaluated
//! with the real version schemes, its CVSS vectors scored. Also the version
//! parsers themselves, on the record's own version strings.
#![no_main]

use rampart_vulndb::osv::Vulnerability;
use rampart_vulndb::range::evaluate_affected;
use rampart_vulndb::version::{Scheme, compare, scheme_for_osv_ecosystem};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Vulnerability>(data) else { return };
    let _ = rampart_vulndb::enrich::cvss_scores(&v.severity);
    for a in &v.affected {
        let _ = rampart_vulndb::enrich::cvss_scores(&a.severity);
        let scheme = a
            .package
            .as_ref()
            .and_then(|p| scheme_for_osv_ecosystem(&p.ecosystem))
            .unwrap_or(Scheme::Semver);
        let cmp = |x: &str, y: &str| compare(scheme, x, y);
        for probe in ["0", "1.0.0", "2.3.4-1", "1:2.0~rc1-3", "v1.2.3"] {
            let _ = evaluate_affected(probe, a, &cmp);
        }
        for version in a.versions.iter().take(16) {
            let _ = evaluate_affected(version, a, &cmp);
        }
    }
});
