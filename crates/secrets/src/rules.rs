//! Rules: the YAML schema, the built-in rule files, compilation and the
//! self-check of every rule against its own examples.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use globset::{Glob, GlobSet, GlobSetBuilder};
use rampart_model::Severity;
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::checksum::Checksum;
use crate::error::{Result, SecretsError};
use crate::finding::Confidence;

/// The rule files compiled into the binary, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("cloud.yaml", include_str!("../rules/cloud.yaml")),
    ("vcs-ci.yaml", include_str!("../rules/vcs-ci.yaml")),
    ("registries.yaml", include_str!("../rules/registries.yaml")),
    ("payments.yaml", include_str!("../rules/payments.yaml")),
    ("messaging.yaml", include_str!("../rules/messaging.yaml")),
    ("ai.yaml", include_str!("../rules/ai.yaml")),
    ("saas.yaml", include_str!("../rules/saas.yaml")),
    ("keys.yaml", include_str!("../rules/keys.yaml")),
    ("generic.yaml", include_str!("../rules/generic.yaml")),
];

/// The marker that splits example values in rule files, so no complete
/// token is stored in the repository; removed before an example is scanned.
pub const SPLIT_MARKER: &str = "%%";

/// Largest compiled size of one rule's regular expression.
const REGEX_SIZE_LIMIT: usize = 4 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RuleDef>,
}

/// One rule as written in YAML (docs/secrets.md documents every field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    name: String,
    description: String,
    severity: Severity,
    confidence: Confidence,
    keywords: Vec<String>,
    pattern: String,
    #[serde(default)]
    min_entropy: Option<f64>,
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    example_path: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    generic: bool,
    #[serde(default)]
    references: Vec<String>,
    examples: Vec<String>,
    negative_examples: Vec<String>,
}

/// Where a rule's pattern is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// On the lines holding a keyword (the default: most secrets sit on one line).
    #[default]
    Line,
    /// On the whole file (chunk), for multi-line secrets such as PEM blocks.
    File,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub keywords: Vec<String>,
    pub pattern: String,
    pub references: Vec<String>,
    pub scope: Scope,
    /// A generic rule (assignment heuristics): stricter value filters, and a
    /// specific rule matching the same text wins over it.
    pub generic: bool,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
    pub(crate) regex: Regex,
    pub(crate) context: Option<Regex>,
    pub(crate) min_entropy: Option<f64>,
    pub(crate) checksum: Option<Checksum>,
    pub(crate) paths: Option<GlobSet>,
    pub(crate) example_path: String,
}

impl Rule {
    /// Whether the rule applies to a file at `path` (rules may be restricted
    /// to file names such as `.netrc`).
    #[must_use]
    pub fn applies_to(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|g| g.is_match(path))
    }

    /// Whether the rule is restricted to some file paths.
    #[must_use]
    pub fn has_paths(&self) -> bool {
        self.paths.is_some()
    }
}

/// All rules, with the keyword automatons built over them.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Every keyword, searched in any case in one pass.
    pub(crate) keywords: Option<AhoCorasick>,
    /// Per keyword: the exact spelling to check when it has capitals (such
    /// keywords match only as written), and the rules it triggers.
    pub(crate) keyword_rules: Vec<(Option<Vec<u8>>, Vec<usize>)>,
    /// Rules without keywords (path-restricted): always run where they apply.
    pub(crate) always: Vec<usize>,
}

/// A rule that failed its own examples, as `rules check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub rule_id: String,
    pub message: String,
}

impl RuleSet {
    /// The rules compiled into Rampart.
    ///
    /// # Errors
    /// A built-in rule is invalid (the tests make sure none is).
    pub fn builtin() -> Result<RuleSet> {
        let mut defs = Vec::new();
        for (name, text) in BUILTIN {
            defs.extend(parse_file(name, text)?);
        }
        RuleSet::compile(defs)
    }

    /// Rules from YAML text (a file with a top-level `rules:` list).
    ///
    /// # Errors
    /// The text is not a valid rule file, or a rule is invalid.
    pub fn from_yaml(name: &str, text: &str) -> Result<RuleSet> {
        RuleSet::compile(parse_file(name, text)?)
    }

    fn compile(defs: Vec<RuleDef>) -> Result<RuleSet> {
        let mut seen = std::collections::BTreeSet::new();
        let mut rules = Vec::with_capacity(defs.len());
        for d in defs {
            if !seen.insert(d.id.clone()) {
                return Err(SecretsError::DuplicateId(d.id));
            }
            rules.push(compile_rule(d)?);
        }
        let mut words: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<(Option<Vec<u8>>, Vec<usize>)> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
            }
            for k in &r.keywords {
                match words.iter().position(|w| w == k) {
                    Some(p) => keyword_rules[p].1.push(i),
                    None => {
                        words.push(k.clone());
                        let exact = k
                            .bytes()
                            .any(|b| b.is_ascii_uppercase())
                            .then(|| k.as_bytes().to_vec());
                        keyword_rules.push((exact, vec![i]));
                    }
                }
            }
        }
        let keywords = if words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&words)
                    .map_err(|e| SecretsError::Rule {
                        id: "(keywords)".to_string(),
                        message: e.to_string(),
                    })?,
            )
        };
        Ok(RuleSet {
            keywords,
            keyword_rules,
            always,
            rules,
        })
    }

    /// The rules, in file order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Looks a rule up by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub(crate) fn rule(&self, i: usize) -> &Rule {
        &self.rules[i]
    }

    /// Checks every rule against its examples with the full engine: each
    /// example must produce a finding of that rule, each negative example
    /// none. Returns the failures (empty when every rule holds).
    #[must_use]
    pub fn check(&self) -> Vec<CheckFailure> {
        let engine = crate::engine::Engine::new(self, crate::engine::ScanOptions::default());
        let mut failures = Vec::new();
        for r in &self.rules {
            let mut fail = |message: String| {
                failures.push(CheckFailure {
                    rule_id: r.id.clone(),
                    message,
                });
            };
            if r.examples.is_empty() {
                fail("has no examples".to_string());
            }
            if r.negative_examples.is_empty() {
                fail("has no negative examples".to_string());
            }
            if !valid_id(&r.id) {
                fail("id must look like RMP-SECRET-PROVIDER-NNN".to_string());
            }
            if r.keywords.is_empty() && !r.has_paths() {
                fail("a rule without keywords must be restricted by paths".to_string());
            }
            let hits = |text: &str| -> usize {
                let text = text.replace(SPLIT_MARKER, "");
                engine
                    .scan_bytes(&r.example_path, text.as_bytes())
                    .iter()
                    .filter(|m| m.rule_id == r.id)
                    .count()
            };
            for (n, ex) in r.examples.iter().enumerate() {
                if !r.keywords.is_empty()
                    && !r.keywords.iter().any(|k| {
                        ex.replace(SPLIT_MARKER, "")
                            .to_ascii_lowercase()
                            .contains(&k.to_ascii_lowercase())
                    })
                {
                    fail(format!("example {} holds none of the keywords", n + 1));
                }
                if hits(ex) == 0 {
                    fail(format!("example {} is not found", n + 1));
                }
                // The text as stored must not match by itself: examples of
                // provider formats are split so the repository holds no
                // well-formed token.
                let stored = if r.generic {
                    0
                } else {
                    engine
                        .scan_bytes(&r.example_path, ex.as_bytes())
                        .iter()
                        .filter(|m| m.rule_id == r.id)
                        .count()
                };
                if stored > 0 {
                    fail(format!(
                        "example {} matches without removing its {SPLIT_MARKER} marks: split the value",
                        n + 1
                    ));
                }
            }
            for (n, ex) in r.negative_examples.iter().enumerate() {
                if hits(ex) > 0 {
                    fail(format!("negative example {} is reported", n + 1));
                }
            }
        }
        failures
    }
}

fn valid_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("RMP-SECRET-") else {
        return false;
    };
    let Some((provider, num)) = rest.rsplit_once('-') else {
        return false;
    };
    !provider.is_empty()
        && provider
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && num.len() == 3
        && num.bytes().all(|b| b.is_ascii_digit())
}

fn parse_file(name: &str, text: &str) -> Result<Vec<RuleDef>> {
    let file: RuleFile = yaml_serde::from_str(text).map_err(|e| SecretsError::RuleFile {
        file: name.to_string(),
        message: e.to_string(),
    })?;
    Ok(file.rules)
}

fn compile_rule(d: RuleDef) -> Result<Rule> {
    let err = |message: String| SecretsError::Rule {
        id: d.id.clone(),
        message,
    };
    let regex = RegexBuilder::new(&d.pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| err(format!("pattern: {e}")))?;
    if regex.captures_len() < 2 {
        return Err(err(
            "pattern needs a capture group around the secret".to_string()
        ));
    }
    let context = d
        .context
        .as_deref()
        .map(|c| {
            RegexBuilder::new(c)
                .unicode(false)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
        })
        .transpose()
        .map_err(|e| err(format!("context: {e}")))?;
    if d.keywords.iter().any(String::is_empty) {
        return Err(err("empty keyword".to_string()));
    }
    let paths = if d.paths.is_empty() {
        None
    } else {
        let mut b = GlobSetBuilder::new();
        for p in &d.paths {
            b.add(Glob::new(p).map_err(|e| err(format!("path {p:?}: {e}")))?);
        }
        Some(b.build().map_err(|e| err(format!("paths: {e}")))?)
    };
    if let Some(e) = d.min_entropy
        && !(0.0..=8.0).contains(&e)
    {
        return Err(err(format!("min_entropy {e} is outside 0..8")));
    }
    let example_path = match d.example_path {
        Some(p) => format!("/{}", p.trim_start_matches('/')),
        None => "/app/settings.txt".to_string(),
    };
    Ok(Rule {
        regex,
        context,
        min_entropy: d.min_entropy,
        checksum: d.checksum,
        paths,
        example_path,
        id: d.id,
        name: d.name,
        description: d.description,
        severity: d.severity,
        confidence: d.confidence,
        keywords: d.keywords,
        pattern: d.pattern,
        references: d.references,
        scope: d.scope,
        generic: d.generic,
        examples: d.examples,
        negative_examples: d.negative_examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(valid_id("RMP-SECRET-AWS-001"));
        assert!(valid_id("RMP-SECRET-K8S-002"));
        assert!(!valid_id("RMP-SECRET-aws-001"));
        assert!(!valid_id("RMP-SECRET-AWS-1"));
        assert!(!valid_id("SECRET-AWS-001"));
    }

    #[test]
    fn bad_rules_are_refused_with_their_id() {
        let base = "rules:\n- id: RMP-SECRET-X-001\n  name: x\n  description: x\n  severity: high\n  confidence: high\n  keywords: [x]\n";
        let no_group =
            format!("{base}  pattern: 'x+'\n  examples: [x]\n  negative_examples: [y]\n");
        let e = RuleSet::from_yaml("t.yaml", &no_group)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("capture group")),
            "{e:?}"
        );
        let bad_re = format!("{base}  pattern: '(x'\n  examples: [x]\n  negative_examples: [y]\n");
        assert!(RuleSet::from_yaml("t.yaml", &bad_re).is_err());
        let unknown = format!(
            "{base}  pattern: '(x)'\n  colour: red\n  examples: [x]\n  negative_examples: [y]\n"
        );
        assert!(RuleSet::from_yaml("t.yaml", &unknown).is_err());
    }
}
