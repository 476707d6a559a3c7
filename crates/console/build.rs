//! Rebuilds the console when the web UI's build output changes, so the
//! embedded copy (rust-embed) is current. Never runs npm: without
//! `console-ui/dist` the console serves a "UI not built" page.
#![allow(clippy::print_stdout)] // cargo reads build script instructions from stdout

fn main() {
    let ui = std::path::Path::new("../../console-ui");
    if ui.join("dist").is_dir() {
        println!("cargo::rerun-if-changed=../../console-ui/dist");
    } else if ui.is_dir() {
        // Watch the parent so that running `npm run build` later is noticed.
        println!("cargo::rerun-if-changed=../../console-ui");
    }
    // (A path that does not exist would rerun this script on every build.)
    println!("cargo::rerun-if-changed=build.rs");
}
