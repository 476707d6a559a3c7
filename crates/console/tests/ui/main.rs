//! The web UI end to end: the embedded files served with their headers, and
//! the pages driven in a real headless Chromium against a real console.
//! Without a built UI (`console-ui/dist` when the crate was compiled) or
//! without Chromium, the tests print SKIPPED with the reason and pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../api/pg.rs"]
#[allow(dead_code)]
mod pg;

mod cdp;
mod scenarios;

use harness::{Db, TestConsole};

fn built() -> bool {
    if rampart_console::ui::is_built() {
        return true;
    }
    println!(
        "SKIPPED: the web UI was not built when rampart-console was compiled \
         (run `npm ci && npm run build` in console-ui/, then the tests again)"
    );
    false
}

#[test]
fn ui_is_served_with_its_headers() {
    if !built() {
        return;
    }
    let c = TestConsole::start(Db::Sqlite, |_| {}).unwrap();
    scenarios::headers(&c);
}

#[test]
fn ui_in_headless_chromium() {
    if !built() {
        return;
    }
    let Some(chromium) = cdp::find_chromium() else {
        println!(
            "SKIPPED: no chromium on the PATH (apt install chromium, or set RAMPART_CHROMIUM)"
        );
        return;
    };
    let c = TestConsole::start(Db::Sqlite, |_| {}).unwrap();
    scenarios::browser(&c, &chromium);
}
