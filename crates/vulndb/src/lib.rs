//! Vulnerability data for Rampart: advisory feeds (OSV exports, CISA KEV,
//! FIRST EPSS), the local advisory store, exact version ordering per
//! ecosystem, and matching packages against advisories.

pub mod version;
// [modules: db]
