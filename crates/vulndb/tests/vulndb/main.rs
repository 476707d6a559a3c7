//! Integration tests of the advisory store: import of fixture feeds, the
//! atomic swap, HTTP updates against a local mirror, the real data in
//! ../shared/vulndata, and the (ignored) benchmark.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod bench;
mod common;
mod distros;
mod import;
mod real_data;
mod server;
mod update;
