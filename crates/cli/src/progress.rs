//! Progress on stderr, only when stderr is a terminal and not `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar that does nothing when nobody is watching.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `what`, shown when stderr is a terminal.
    pub fn new(what: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(what.to_string());
        Progress { bar: Some(bar) }
    }

    /// A spinner for work whose size is not known up front.
    pub fn spinner(what: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Sets how far along the work is.
    pub fn update(&self, done: usize, total: usize) {
        if let Some(b) = &self.bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// One bar per feed for `db update` and `db import`: bytes while a feed
/// downloads (with its size when the server sends one), records while it
/// is imported, then a line saying how it ended.
pub struct FeedProgress {
    multi: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, ProgressBar>>,
}

impl FeedProgress {
    pub fn new(quiet: bool) -> Self {
        let multi = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        FeedProgress {
            multi,
            bars: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    fn bar(&self, key: &str, template: &str) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let mut bars = self.bars.lock().ok()?;
        let bar = bars
            .entry(key.to_string())
            .or_insert_with(|| {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_prefix(key.to_string());
                b
            })
            .clone();
        // Late reports from worker threads do not reopen a finished feed.
        if bar.is_finished() {
            return None;
        }
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Some(bar)
    }

    /// The callback for the vulndb crate.
    pub fn report(&self, p: &rampart_vulndb::Progress<'_>) -> std::ops::ControlFlow<()> {
        use rampart_vulndb::Progress as P;
        match p {
            P::Downloading {
                source,
                bytes,
                total,
            } => {
                let template = if total.is_some() {
                    "{prefix:>20} download [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}"
                } else {
                    "{prefix:>20} download {spinner} {bytes} {bytes_per_sec}"
                };
                if let Some(b) = self.bar(source, template) {
                    if let Some(t) = total {
                        b.set_length(*t);
                    }
                    b.set_position(*bytes);
                }
            }
            P::Downloaded {
                source,
                not_modified,
            } => {
                if let Some(b) = self.bar(source, "{prefix:>20} {msg}") {
                    b.finish_with_message(if *not_modified {
                        "not modified"
                    } else {
                        "downloaded"
                    });
                }
            }
            P::Importing { source, records } => {
                if let Some(b) = self.bar(source, "{prefix:>20} import {spinner} {pos} records") {
                    b.set_position(*records);
                    b.tick();
                }
            }
            P::Imported { source, records } => {
                if let Some(b) = self.bar(source, "{prefix:>20} {msg}") {
                    b.finish_with_message(format!("{records} records"));
                }
            }
            P::Finishing => {
                if let Some(b) = self.bar("(database)", "{prefix:>20} {spinner} {msg} {elapsed}") {
                    b.set_message("building indexes, swapping the new database in");
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    }

    /// Clears every bar.
    pub fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for b in bars.values() {
                b.finish_and_clear();
            }
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}
