//! Fuzz target: the secret engine over arbitrary bytes (text, binaries,
//! archives nested in archives), with small chunks so chunk boundaries,
//! overlaps and long lines are exercised. The first byte picks the path the
//! content pretends to be at (some rules only apply to some file names),
//! and where a pretend secret is for the credential-target reader.
#![no_main]

use std::sync::OnceLock;

use rampart_secrets::{Engine, RuleSet, ScanOptions};

const PATHS: &[&str] = &[
    "/app/.env",
    "/home/u/.netrc",
    "/home/u/.pgpass",
    "/srv/terraform.tfstate",
    "/app/lib.jar",
    "/app/bundle.tar.gz",
    "/usr/bin/tool",
    "/app/config.yaml",
];

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().unwrap_or_else(|e| panic!("built-in rules: {e}")))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let opts = ScanOptions {
        chunk_bytes: 8192,
        overlap_bytes: 1024,
        archive_max_bytes: 1 << 20,
        archive_max_entries: 64,
        ..ScanOptions::default()
    };
    let engine = Engine::new(rules(), opts);
    let path = PATHS[usize::from(pick) % PATHS.len()];
    for f in engine.scan_bytes(path, content) {
        assert_eq!(f.fingerprint.len(), 16);
        assert!(f.line.is_none_or(|l| l >= 1));
    }
    // Credential targets on any line, with any secret range: never the
    // secret's text.
    let at = usize::from(pick) % (content.len() + 1);
    let end = (at + 12).min(content.len());
    let secret = String::from_utf8_lossy(&content[at..end]).into_owned();
    for t in rampart_secrets::targets::targets(content, at..end) {
        assert!(secret.len() < 4 || !t.contains(&secret), "{t} holds the secret");
    }
});
