//! The engine: keyword prefilter, regular expressions where a keyword hit,
//! filters, and chunked reading of large files.

use std::io::Read;
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::filters::{generic_reject, is_placeholder, shannon_entropy};
use crate::finding::{Confidence, Finding, Origin, fingerprint, redact};
use crate::rules::{Rule, RuleSet, Scope};

/// Limits and switches of a scan. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Bytes read and scanned at a time; larger files are scanned in chunks.
    pub chunk_bytes: usize,
    /// Bytes shared by consecutive chunks, so a secret across a chunk
    /// boundary is still seen whole (must exceed the longest secret).
    pub overlap_bytes: usize,
    /// Files larger than this are skipped.
    pub max_file_bytes: u64,
    /// Time one file (with its archive members) may take.
    pub file_time_budget: Option<Duration>,
    /// How many archives deep to look (1: members of an archive, but not
    /// archives inside it).
    pub archive_depth: usize,
    /// Largest archive (compressed) read, and most bytes decompressed from
    /// one top-level file.
    pub archive_max_bytes: u64,
    /// Most members read from one top-level file.
    pub archive_max_entries: usize,
    /// Scan the printable strings of binary files.
    pub binaries: bool,
    /// Open compressed package documentation (`.gz` under
    /// `/usr/share/{man,doc,info}`), left alone by default.
    pub package_docs: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            chunk_bytes: 8 << 20,
            overlap_bytes: 64 << 10,
            max_file_bytes: 1 << 30,
            file_time_budget: Some(Duration::from_secs(30)),
            archive_depth: 3,
            archive_max_bytes: 256 << 20,
            archive_max_entries: 20_000,
            binaries: true,
            package_docs: false,
        }
    }
}

/// Lines longer than this are searched in windows around each keyword.
const MAX_LINE: usize = 4096;
const WINDOW_BEFORE: usize = 1024;
const WINDOW_AFTER: usize = 3072;
/// Bytes looked at to tell text from binary.
pub(crate) const SNIFF: usize = 8192;
/// Inline comment that suppresses findings on its line.
const ALLOW_MARK: &[u8] = b"rampart:allow";

/// A rule set ready to scan, with its options.
#[derive(Debug)]
pub struct Engine<'r> {
    rules: &'r RuleSet,
    pub(crate) opts: ScanOptions,
}

/// A match inside one buffer, before it becomes a finding.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
}

/// Stopped early: the file's time budget ran out.
#[derive(Debug)]
pub(crate) struct TimedOut;

impl<'r> Engine<'r> {
    #[must_use]
    pub fn new(rules: &'r RuleSet, opts: ScanOptions) -> Self {
        Engine { rules, opts }
    }

    #[must_use]
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.opts.file_time_budget.map(|d| Instant::now() + d)
    }

    /// Scans bytes held in memory as the content of a file at `path`
    /// (archives included). Used by `rules check`, the tests and the fuzzer.
    #[must_use]
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        let _ = self.scan_file(path, &mut std::io::Cursor::new(data), &mut |f| out.push(f));
        out
    }

    /// Scans one file's content: archives are opened (bounded), binaries
    /// reduced to their printable strings, text scanned in chunks.
    ///
    /// # Errors
    /// A reason to record as a skip: unreadable content, a limit reached, the
    /// time budget spent. Findings made before the error were emitted.
    pub fn scan_file(
        &self,
        path: &str,
        reader: &mut dyn Read,
        emit: &mut dyn FnMut(Finding),
    ) -> Result<(), String> {
        let mut budget = crate::archive::Budget {
            bytes: self.opts.archive_max_bytes,
            entries: self.opts.archive_max_entries,
            deadline: self.deadline(),
        };
        crate::archive::scan_any(self, path, reader, 0, &mut budget, emit)
    }

    /// Scans a text or binary stream (no archive handling) whose first bytes
    /// are `head`.
    pub(crate) fn scan_stream(
        &self,
        path: &str,
        head: &[u8],
        reader: &mut dyn Read,
        deadline: Option<Instant>,
        emit: &mut dyn FnMut(Finding),
    ) -> Result<(), String> {
        let sniff = &head[..head.len().min(SNIFF)];
        if sniff.starts_with(&[0xFF, 0xFE]) || sniff.starts_with(&[0xFE, 0xFF]) {
            return self.scan_utf16(path, head, reader, deadline, emit);
        }
        if sniff.contains(&0) {
            if !self.opts.binaries {
                return Ok(());
            }
            return self.scan_binary(path, head, reader, deadline, emit);
        }
        let chunk = self.opts.chunk_bytes.max(SNIFF);
        let overlap = self.opts.overlap_bytes.min(chunk / 2);
        let mut buf: Vec<u8> = head.to_vec();
        let mut abs: u64 = 0;
        let mut lines_before: u64 = 0;
        loop {
            let eof = fill(reader, &mut buf, chunk + overlap).map_err(|e| format!("read: {e}"))?;
            let accept_end = if eof { buf.len() } else { buf.len() - overlap };
            let mut hits = Vec::new();
            let done = self.scan_chunk(path, &buf, 0..accept_end, deadline, &mut hits);
            self.emit_hits(
                path,
                &buf,
                &hits,
                &|p| abs + p as u64,
                lines_before,
                Origin::File,
                emit,
            );
            if done.is_err() {
                return Err(budget_reason(self.opts.file_time_budget));
            }
            if eof {
                return Ok(());
            }
            let keep_from = buf.len() - overlap;
            lines_before += count_newlines(&buf[..keep_from]);
            abs += keep_from as u64;
            buf.drain(..keep_from);
        }
    }

    /// Scans the printable strings of a binary: runs of printable ASCII
    /// (with tabs and line breaks) of at least [`MIN_STRING`] bytes, each
    /// followed by a line break, so no match spans two strings. Only those
    /// bytes go through the keyword automaton (most of a binary is not
    /// text); findings keep their offsets in the file.
    fn scan_binary(
        &self,
        path: &str,
        head: &[u8],
        reader: &mut dyn Read,
        deadline: Option<Instant>,
        emit: &mut dyn FnMut(Finding),
    ) -> Result<(), String> {
        let chunk = self.opts.chunk_bytes.max(SNIFF);
        let overlap = self.opts.overlap_bytes.min(chunk / 2);
        let mut strings = Strings::default();
        strings.feed(head);
        let mut raw = vec![0u8; 64 << 10];
        loop {
            let mut eof = false;
            while strings.text.len() < chunk + overlap {
                let n = match reader.read(&mut raw) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("read: {e}")),
                };
                if n == 0 {
                    strings.finish();
                    eof = true;
                    break;
                }
                strings.feed(&raw[..n]);
            }
            let buf = &strings.text;
            let accept_end = if eof { buf.len() } else { buf.len() - overlap };
            let mut hits = Vec::new();
            let done = self.scan_chunk(path, buf, 0..accept_end, deadline, &mut hits);
            self.emit_hits(
                path,
                buf,
                &hits,
                &|p| strings.file_offset(p),
                0,
                Origin::BinaryStrings,
                emit,
            );
            if done.is_err() {
                return Err(budget_reason(self.opts.file_time_budget));
            }
            if eof {
                return Ok(());
            }
            let keep_from = buf.len() - overlap;
            strings.drain(keep_from);
        }
    }

    fn scan_utf16(
        &self,
        path: &str,
        head: &[u8],
        reader: &mut dyn Read,
        deadline: Option<Instant>,
        emit: &mut dyn FnMut(Finding),
    ) -> Result<(), String> {
        let limit = self.opts.chunk_bytes.saturating_mul(8) as u64;
        let mut raw = head.to_vec();
        reader
            .take(limit)
            .read_to_end(&mut raw)
            .map_err(|e| format!("read: {e}"))?;
        let le = raw.starts_with(&[0xFF, 0xFE]);
        let units: Vec<u16> = raw[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        let text = String::from_utf16_lossy(&units);
        let mut hits = Vec::new();
        let done = self.scan_chunk(path, text.as_bytes(), 0..text.len(), deadline, &mut hits);
        // Offsets are in the UTF-8 transcoding; lines and columns are exact.
        self.emit_hits(
            path,
            text.as_bytes(),
            &hits,
            &|p| p as u64,
            0,
            Origin::File,
            emit,
        );
        done.map_err(|_| budget_reason(self.opts.file_time_budget))
    }

    /// Finds the rules' matches in `buf` whose secret starts in `accept`.
    fn scan_chunk(
        &self,
        path: &str,
        buf: &[u8],
        accept: Range<usize>,
        deadline: Option<Instant>,
        out: &mut Vec<Hit>,
    ) -> Result<(), TimedOut> {
        let rules = self.rules;
        let n = rules.rules().len();
        let mut positions: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut any = false;
        if let Some(ac) = &rules.keywords {
            for m in ac.find_overlapping_iter(buf) {
                let (exact, triggered) = &rules.keyword_rules[m.pattern().as_usize()];
                if exact
                    .as_ref()
                    .is_some_and(|k| &buf[m.start()..m.end()] != k.as_slice())
                {
                    continue;
                }
                for &r in triggered {
                    let p = &mut positions[r];
                    if p.last() != Some(&m.start()) && p.len() < 1_000_000 {
                        p.push(m.start());
                        any = true;
                    }
                }
            }
        }
        if !any && rules.always.is_empty() {
            return Ok(());
        }
        for &r in &rules.always {
            positions[r].push(0);
        }
        let example_file = is_example_file(path);
        let before = out.len();
        let mut vetoed: Vec<(usize, usize)> = Vec::new();
        for (ri, pos) in positions.iter_mut().enumerate() {
            if pos.is_empty() {
                continue;
            }
            let rule = rules.rule(ri);
            if !rule.applies_to(path) || (rule.confidence < Confidence::High && example_file) {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(TimedOut);
            }
            if rule.scope == Scope::File || rule.keywords.is_empty() {
                if rule.context.as_ref().is_some_and(|c| !c.is_match(buf)) {
                    continue;
                }
                self.match_in(rule, ri, buf, 0, &accept, out, &mut vetoed);
                continue;
            }
            pos.sort_unstable();
            let mut covered = 0usize;
            for &p in pos.iter() {
                if p < covered {
                    continue;
                }
                let ls = memchr::memrchr(b'\n', &buf[..p]).map_or(0, |i| i + 1);
                let le = memchr::memchr(b'\n', &buf[p..]).map_or(buf.len(), |i| p + i);
                let (ws, we) = if le - ls > MAX_LINE {
                    (
                        p.saturating_sub(WINDOW_BEFORE).max(ls).max(covered),
                        (p + WINDOW_AFTER).min(le),
                    )
                } else {
                    (ls, le)
                };
                covered = we;
                self.match_in(rule, ri, &buf[ws..we], ws, &accept, out, &mut vetoed);
            }
        }
        let mut fresh = out.split_off(before);
        // A value a specific rule recognised and rejected (bad checksum,
        // documented example) is not reported by a generic rule either.
        if !vetoed.is_empty() {
            fresh.retain(|h| {
                !rules.rule(h.rule).generic
                    || !vetoed.iter().any(|&(s, e)| h.start < e && s < h.end)
            });
        }
        dedupe(rules, &mut fresh);
        out.extend(fresh);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn match_in(
        &self,
        rule: &Rule,
        ri: usize,
        hay: &[u8],
        base: usize,
        accept: &Range<usize>,
        out: &mut Vec<Hit>,
        vetoed: &mut Vec<(usize, usize)>,
    ) {
        for caps in rule.regex.captures_iter(hay) {
            let Some(m) = (1..caps.len()).find_map(|i| caps.get(i)) else {
                continue;
            };
            let (start, end) = (base + m.start(), base + m.end());
            if !accept.contains(&start) {
                continue;
            }
            if keep(rule, m.as_bytes()) {
                out.push(Hit {
                    rule: ri,
                    start,
                    end,
                });
            } else if !rule.generic {
                vetoed.push((start, end));
            }
        }
    }

    /// Turns hits into findings: redaction, fingerprint, position, inline
    /// allow comments. The secret bytes go no further than this.
    #[allow(clippy::too_many_arguments)]
    fn emit_hits(
        &self,
        path: &str,
        buf: &[u8],
        hits: &[Hit],
        offset_of: &dyn Fn(usize) -> u64,
        lines_before: u64,
        origin: Origin,
        emit: &mut dyn FnMut(Finding),
    ) {
        let mut sorted: Vec<Hit> = hits.to_vec();
        sorted.sort_by_key(|h| (h.start, h.end, h.rule));
        let mut line = lines_before + 1;
        let mut counted_to = 0usize;
        for h in sorted {
            line += count_newlines(&buf[counted_to..h.start]);
            counted_to = h.start;
            let ls = memchr::memrchr(b'\n', &buf[..h.start]).map_or(0, |i| i + 1);
            let le = memchr::memchr(b'\n', &buf[h.start..]).map_or(buf.len(), |i| h.start + i);
            if memchr::memmem::find(&buf[ls..le], ALLOW_MARK).is_some() {
                continue;
            }
            let rule = self.rules.rule(h.rule);
            let secret = &buf[h.start..h.end];
            let column = 1 + buf[ls..h.start]
                .iter()
                .filter(|&&b| (b & 0xC0) != 0x80)
                .count() as u64;
            let text = origin != Origin::BinaryStrings;
            emit(Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                severity: rule.severity,
                confidence: rule.confidence,
                path: path.to_string(),
                line: text.then_some(line),
                column: text.then_some(column),
                offset: offset_of(h.start),
                layer: None,
                origin,
                redacted: redact(secret),
                fingerprint: fingerprint(&rule.id, secret),
                targets: crate::targets::targets(&buf[ls..le.max(h.end)], h.start - ls..h.end - ls),
            });
        }
    }
}

/// Files whose name says they hold examples, samples or templates
/// (`.env.example`, `config.sample.yaml`, `s3-2006-03-01.examples.json`):
/// only high-confidence rules apply there, as documentation values are
/// expected.
fn is_example_file(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    [
        "example",
        "sample",
        "template",
        "mock",
        "dummy",
        "placeholder",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn budget_reason(budget: Option<Duration>) -> String {
    format!(
        "secret scan stopped: time budget of {}s per file spent (findings so far are reported)",
        budget.map_or(0, |d| d.as_secs())
    )
}

/// Whether a matched value survives the filters.
fn keep(rule: &Rule, secret: &[u8]) -> bool {
    if secret.is_empty() || is_placeholder(secret) {
        return false;
    }
    if rule.generic && generic_reject(secret) {
        return false;
    }
    if let Some(min) = rule.min_entropy
        && shannon_entropy(secret) < min
    {
        return false;
    }
    rule.checksum.is_none_or(|c| c.verify(secret))
}

/// Resolves overlapping hits found since `before`: where a specific rule
/// and a generic one match overlapping text, the specific one stays; the
/// same span found twice is kept once.
fn dedupe(rules: &RuleSet, fresh: &mut Vec<Hit>) {
    if fresh.len() < 2 {
        return;
    }
    fresh.sort_by_key(|h| (h.start, h.end, h.rule));
    let overlaps = |a: &Hit, b: &Hit| a.start < b.end && b.start < a.end;
    let mut keep = vec![true; fresh.len()];
    for i in 0..fresh.len() {
        for j in (i + 1)..fresh.len() {
            if fresh[j].start >= fresh[i].end {
                break;
            }
            if !overlaps(&fresh[i], &fresh[j]) {
                continue;
            }
            let (ri, rj) = (rules.rule(fresh[i].rule), rules.rule(fresh[j].rule));
            let same = fresh[i].start == fresh[j].start && fresh[i].end == fresh[j].end;
            if ri.generic && !rj.generic {
                keep[i] = false;
            } else if rj.generic && !ri.generic {
                keep[j] = false;
            } else if same {
                if rj.confidence > ri.confidence {
                    keep[i] = false;
                } else {
                    keep[j] = false;
                }
            }
        }
    }
    let mut k = keep.into_iter();
    fresh.retain(|_| k.next().unwrap_or(true));
}

/// Reads into `buf` until it holds `want` bytes or the input ends; returns
/// whether the input ended.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    if buf.len() >= want {
        return Ok(false);
    }
    let missing = (want - buf.len()) as u64;
    // `read_to_end` grows the buffer without zeroing it first.
    reader.take(missing).read_to_end(buf)?;
    Ok(buf.len() < want)
}

fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Shortest printable string of a binary that is scanned: shorter ones
/// cannot hold a keyword and a secret.
const MIN_STRING: usize = 10;
/// A longer string is cut into pieces of this size (contiguous: nothing
/// separates them, so matches still span them).
const MAX_PIECE: usize = 1 << 20;

/// Bytes that belong to a printable string: printable ASCII, tab, CR, LF.
const PRINTABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x20;
    while i < 0x7f {
        t[i] = true;
        i += 1;
    }
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// The printable strings of a binary stream, collected into one text with
/// a map back to file offsets.
#[derive(Debug, Default)]
struct Strings {
    /// The strings kept, each followed by a line break.
    text: Vec<u8>,
    /// `(position in text, offset in the file)` where each piece starts,
    /// ascending.
    pieces: Vec<(usize, u64)>,
    /// The string being read (it may continue in the next block).
    run: Vec<u8>,
    run_start: u64,
    /// Whether `run` continues a piece already in `text`.
    run_continues: bool,
    /// Bytes of the file seen so far.
    consumed: u64,
}

impl Strings {
    /// Adds the next block of the file. Strings of [`MIN_STRING`] bytes
    /// are found by probing every `MIN_STRING`th byte: a byte that is not
    /// printable rules out every string around it, so most of a binary's
    /// bytes are never looked at.
    fn feed(&mut self, block: &[u8]) {
        let printable = |b: u8| PRINTABLE[usize::from(b)];
        let base = self.consumed;
        let n = block.len();
        let mut start = 0;
        // A string left open by the previous block.
        if !self.run.is_empty() || self.run_continues {
            let len = block.iter().position(|&b| !printable(b)).unwrap_or(n);
            self.extend_run(base, &block[..len]);
            if len == n {
                self.consumed += n as u64;
                return;
            }
            self.end_run();
            start = len + 1;
        }
        // Invariant: `start` is 0 (the previous block ended on a byte that
        // is not printable) or follows such a byte.
        while start < n {
            let probe = start + MIN_STRING - 1;
            if probe >= n {
                // Too short to be a string here, but it may go on in the
                // next block.
                let tail = block[start..]
                    .iter()
                    .rposition(|&b| !printable(b))
                    .map_or(start, |q| start + q + 1);
                self.extend_run(base + tail as u64, &block[tail..]);
                break;
            }
            if !printable(block[probe]) {
                start = probe + 1;
                continue;
            }
            if let Some(q) = block[start..probe].iter().rposition(|&b| !printable(b)) {
                start += q + 1;
                continue;
            }
            let end = block[probe..]
                .iter()
                .position(|&b| !printable(b))
                .map_or(n, |e| probe + e);
            if end == n {
                self.extend_run(base + start as u64, &block[start..]);
                break;
            }
            self.pieces.push((self.text.len(), base + start as u64));
            self.text.extend_from_slice(&block[start..end]);
            self.text.push(b'\n');
            start = end + 1;
        }
        self.consumed += n as u64;
    }

    /// Appends bytes found at file offset `at` to the open string.
    fn extend_run(&mut self, at: u64, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.run.is_empty() && !self.run_continues {
            self.run_start = at;
        }
        self.run.extend_from_slice(bytes);
        if self.run.len() >= MAX_PIECE {
            self.push_piece(false);
            self.run_continues = true;
        }
    }

    fn push_piece(&mut self, close: bool) {
        if !self.run_continues {
            self.pieces.push((self.text.len(), self.run_start));
        }
        self.text.extend_from_slice(&self.run);
        if close {
            self.text.push(b'\n');
        }
        self.run_start += self.run.len() as u64;
        self.run.clear();
    }

    fn end_run(&mut self) {
        if self.run_continues || self.run.len() >= MIN_STRING {
            self.push_piece(true);
        }
        self.run.clear();
        self.run_continues = false;
    }

    fn finish(&mut self) {
        self.end_run();
    }

    /// The file offset of a position in `text`.
    fn file_offset(&self, pos: usize) -> u64 {
        let i = self.pieces.partition_point(|&(p, _)| p <= pos);
        match i.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some(&(p, off)) => off + (pos - p) as u64,
            None => pos as u64,
        }
    }

    /// Drops the first `n` bytes of `text`, keeping the offset map right.
    fn drain(&mut self, n: usize) {
        let first_kept = self
            .pieces
            .partition_point(|&(p, _)| p <= n)
            .saturating_sub(1);
        let mut kept: Vec<(usize, u64)> = Vec::with_capacity(self.pieces.len() - first_kept);
        for (j, &(p, off)) in self.pieces.iter().enumerate().skip(first_kept) {
            if j == first_kept && p < n {
                kept.push((0, off + (n - p) as u64));
            } else {
                kept.push((p - n, off));
            }
        }
        self.pieces = kept;
        self.text.drain(..n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Just;

    /// The strings a byte-by-byte reading finds, with their offsets.
    fn reference_strings(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &b) in data.iter().chain(std::iter::once(&0u8)).enumerate() {
            match (PRINTABLE[usize::from(b)] && i < data.len(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= MIN_STRING {
                        out.push((s as u64, data[s..i].to_vec()));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn binary_strings_match_a_byte_by_byte_reading(
            data in proptest::collection::vec(
                proptest::prop_oneof![1 => Just(0u8), 6 => Just(b'a'), 1 => Just(b'\n'), 2 => proptest::num::u8::ANY],
                0..600,
            ),
            block in 1usize..40,
        ) {
            let mut s = Strings::default();
            for b in data.chunks(block) {
                s.feed(b);
            }
            s.finish();
            let mut expect_text = Vec::new();
            let mut expect_offsets = Vec::new();
            for (off, bytes) in reference_strings(&data) {
                for k in 0..bytes.len() {
                    expect_offsets.push((expect_text.len() + k, off + k as u64));
                }
                expect_text.extend_from_slice(&bytes);
                expect_text.push(b'\n');
            }
            proptest::prop_assert_eq!(&s.text, &expect_text);
            for (pos, off) in expect_offsets {
                proptest::prop_assert_eq!(s.file_offset(pos), off);
            }
        }
    }

    #[test]
    fn binary_strings_keep_their_file_offsets() {
        let mut data = vec![0u8; 5];
        data.extend_from_slice(b"short");
        data.push(0);
        data.extend_from_slice(b"a long printable string");
        data.extend_from_slice(&[0xff, 1, 2]);
        data.extend_from_slice(b"line one\nline two");
        let mut s = Strings::default();
        // Fed in awkward blocks: strings straddle them.
        for block in data.chunks(3) {
            s.feed(block);
        }
        s.finish();
        assert_eq!(
            s.text,
            b"a long printable string\nline one\nline two\n".to_vec()
        );
        assert_eq!(s.file_offset(0), 11);
        assert_eq!(s.file_offset(2), 13);
        let second = 24;
        assert_eq!(s.file_offset(second), 37);
        assert_eq!(s.file_offset(second + 9), 46);
        s.drain(2);
        assert_eq!(s.file_offset(0), 13);
        assert_eq!(s.file_offset(second - 2), 37);
    }

    #[test]
    fn fill_reads_until_full_or_eof() {
        let mut r = std::io::Cursor::new(vec![1u8; 10]);
        let mut buf = Vec::new();
        assert!(!fill(&mut r, &mut buf, 4).unwrap_or(true));
        assert_eq!(buf.len(), 4);
        assert!(fill(&mut r, &mut buf, 100).unwrap_or(false));
        assert_eq!(buf.len(), 10);
    }

    #[test]
    fn findings_name_their_targets_without_the_secret() {
        let rules = crate::RuleSet::builtin().unwrap();
        let engine = Engine::new(&rules, ScanOptions::default());
        let pw = "FAKE7g7xeKJl7m1Te9";
        let text = format!(
            "DATABASE_URL=postgresql://app:{pw}@db.internal:5432/app\n\
             jdbc.url=jdbc:postgresql://pg.prod.local:5432/app?user=app&password={pw}\n"
        );
        let found = engine.scan_bytes("app.env", text.as_bytes());
        let by_line: Vec<(Option<u64>, &str, Vec<String>)> = found
            .iter()
            .map(|f| (f.line, f.rule_id.as_str(), f.targets.clone()))
            .collect();
        assert!(
            by_line.contains(&(
                Some(1),
                "RMP-SECRET-DB-001",
                vec!["db.internal:5432".into()]
            )),
            "{by_line:?}"
        );
        assert!(
            by_line.contains(&(
                Some(2),
                "RMP-SECRET-DB-007",
                vec!["pg.prod.local:5432".into()]
            )),
            "{by_line:?}"
        );
        for f in &found {
            assert!(f.targets.iter().all(|t| !t.contains(pw)), "{f:?}");
        }
    }
}
