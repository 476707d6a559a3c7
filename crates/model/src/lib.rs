//! Types shared by every Rampart crate: severities, scanner kinds and the
//! thresholds the command line compares findings against.
//!
//! The finding records themselves arrive with the scanners that produce them;
//! this crate holds what both ends (scanner and console) must agree on.

pub mod agent;
mod scanner;
mod severity;

pub use scanner::{ScannerKind, UnknownScanner};
pub use severity::{Severity, UnknownSeverity};
