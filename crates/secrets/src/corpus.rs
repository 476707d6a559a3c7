//! A labeled corpus generator: realistic files (configs, code, manifests,
//! lockfiles, keys) with planted secrets and planted decoys, and the
//! precision/recall of a set of findings against the labels. Used by the
//! accuracy test and by `bench/run-secrets-bench.sh` (through the `corpus`
//! example) to compare scanners on the same files.
//!
//! Every value is generated from a seed: nothing here is a real credential.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use base64::Engine as _;

use crate::checksum::base62;
use crate::finding::Finding;

/// A secret planted in the corpus.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planted {
    pub path: String,
    /// 1-based line of the secret's first character.
    pub line: u64,
    /// What was planted (for reports of misses).
    pub kind: String,
}

/// Generated files and their labels.
#[derive(Debug, Default)]
pub struct Corpus {
    /// `(path, content)`; paths start with `/`.
    pub files: Vec<(String, Vec<u8>)>,
    pub planted: Vec<Planted>,
    /// How many decoys (secret-looking values that are not secrets) were planted.
    pub decoys: usize,
}

/// Precision and recall of findings against a corpus's labels.
#[derive(Debug, Default, serde::Serialize)]
pub struct Evaluation {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub missed: Vec<Planted>,
    /// `(path, line, rule)` of findings that match no planted secret.
    pub spurious: Vec<(String, u64, String)>,
}

/// Scores `(path, line, rule)` triples against the labels: a finding on
/// the line of a planted secret is a true positive (several findings of
/// one secret count once); any other finding is a false positive.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn evaluate_lines(corpus: &Corpus, found: &[(String, u64, String)]) -> Evaluation {
    let labels: BTreeSet<(&str, u64)> = corpus
        .planted
        .iter()
        .map(|p| (p.path.as_str(), p.line))
        .collect();
    let mut hit = BTreeSet::new();
    let mut spurious = Vec::new();
    for (path, line, rule) in found {
        if labels.contains(&(path.as_str(), *line)) {
            hit.insert((path.clone(), *line));
        } else {
            spurious.push((path.clone(), *line, rule.clone()));
        }
    }
    let missed: Vec<Planted> = corpus
        .planted
        .iter()
        .filter(|p| !hit.contains(&(p.path.clone(), p.line)))
        .cloned()
        .collect();
    let tp = hit.len();
    let fp = spurious.len();
    Evaluation {
        true_positives: tp,
        false_positives: fp,
        false_negatives: missed.len(),
        precision: if tp + fp == 0 {
            1.0
        } else {
            tp as f64 / (tp + fp) as f64
        },
        recall: if corpus.planted.is_empty() {
            1.0
        } else {
            tp as f64 / corpus.planted.len() as f64
        },
        missed,
        spurious,
    }
}

/// [`evaluate_lines`] for Rampart findings.
#[must_use]
pub fn evaluate(corpus: &Corpus, findings: &[Finding]) -> Evaluation {
    let found: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| (f.path.clone(), f.line.unwrap_or(0), f.rule_id.clone()))
        .collect();
    evaluate_lines(corpus, &found)
}

/// SplitMix64: small, deterministic, good enough for test data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    #[allow(clippy::cast_possible_truncation)]
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

const A62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B64U: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const UP32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DIGITS: &[u8] = b"0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// One planted item: the lines to write and, per line, whether the line
/// holds a secret (with its kind).
struct Item {
    lines: Vec<String>,
    secret_line: Option<(usize, String)>,
}

fn secret(kind: &str, lines: Vec<String>, at: usize) -> Item {
    Item {
        lines,
        secret_line: Some((at, kind.to_string())),
    }
}

fn decoy(lines: Vec<String>) -> Item {
    Item {
        lines,
        secret_line: None,
    }
}

fn pem(rng: &mut Rng, label: &str, n: usize) -> Vec<String> {
    let body = b64(&rng.bytes(n));
    let mut lines = vec![format!("-----BEGIN {label}-----")];
    lines.extend(
        body.as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
    );
    lines.push(format!("-----END {label}-----"));
    lines
}

/// A GitHub-format token from its 30 random characters, with a valid
/// checksum: for tests that must not store a whole token in the repository.
#[must_use]
pub fn github_token(prefix: &str, random30: &str) -> String {
    format!(
        "{prefix}{random30}{}",
        base62(crc32fast::hash(random30.as_bytes()), 6)
    )
}

fn github(rng: &mut Rng, prefix: &str, valid: bool) -> String {
    let random = rng.chars(A62, 30);
    let crc = crc32fast::hash(random.as_bytes());
    format!(
        "{prefix}{random}{}",
        base62(if valid { crc } else { crc ^ 1 }, 6)
    )
}

fn jwt(rng: &mut Rng) -> String {
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        e(r#"{"alg":"RS256","typ":"JWT"}"#),
        e(&format!(
            r#"{{"sub":"{}","exp":{}}}"#,
            rng.chars(A62, 10),
            1_700_000_000 + rng.below(100_000_000)
        )),
        rng.chars(B64U, 86)
    )
}

/// A random secret item (always one secret line).
fn planted(rng: &mut Rng) -> Item {
    let upper = |r: &mut Rng| r.chars(LETTERS, 1).to_ascii_uppercase();
    match rng.below(34) {
        0 => secret(
            "aws-access-key-id",
            vec![format!("aws_access_key_id = AKIA{}", rng.chars(UP32, 16))],
            0,
        ),
        1 => secret(
            "aws-secret-access-key",
            vec![format!("aws_secret_access_key = {}", rng.chars(B64, 40))],
            0,
        ),
        2 => secret(
            "github-classic",
            vec![format!("GITHUB_TOKEN={}", github(rng, "ghp_", true))],
            0,
        ),
        3 => secret(
            "github-fine-grained",
            vec![format!(
                "  token: github_pat_{}_{}",
                rng.chars(A62, 22),
                rng.chars(A62, 59)
            )],
            0,
        ),
        4 => secret(
            "gitlab",
            vec![format!("CI_JOB_PAT=glpat-{}", rng.chars(B64U, 20))],
            0,
        ),
        5 => secret(
            "slack-bot",
            vec![format!(
                "SLACK_BOT_TOKEN=xoxb-{}-{}-{}",
                rng.chars(DIGITS, 12),
                rng.chars(DIGITS, 13),
                rng.chars(A62, 24)
            )],
            0,
        ),
        6 => secret(
            "slack-webhook",
            vec![format!(
                "webhook_url: https://hooks.slack.com/services/T{}/B{}/{}",
                rng.chars(A62, 10).to_ascii_uppercase(),
                rng.chars(A62, 10).to_ascii_uppercase(),
                rng.chars(A62, 24)
            )],
            0,
        ),
        7 => secret(
            "stripe-live",
            vec![format!(
                "stripe.api_key = \"sk_live_{}\"",
                rng.chars(A62, 32)
            )],
            0,
        ),
        8 => secret(
            "openai",
            vec![format!(
                "OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}",
                rng.chars(B64U, 74),
                rng.chars(B64U, 74)
            )],
            0,
        ),
        9 => secret(
            "anthropic",
            vec![format!(
                "client = Anthropic(api_key=\"sk-ant-api03-{}AA\")",
                rng.chars(B64U, 93)
            )],
            0,
        ),
        10 => secret(
            "huggingface",
            vec![format!("HF_TOKEN=hf_{}", rng.chars(LETTERS, 34))],
            0,
        ),
        11 => secret(
            "npm",
            vec![format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                rng.chars(A62, 36)
            )],
            0,
        ),
        12 => secret(
            "sendgrid",
            vec![format!(
                "SENDGRID_API_KEY=SG.{}.{}",
                rng.chars(B64U, 22),
                rng.chars(B64U, 43)
            )],
            0,
        ),
        13 => secret(
            "google-api-key",
            vec![format!("  apiKey: \"AIza{}\",", rng.chars(B64U, 35))],
            0,
        ),
        14 => secret(
            "azure-storage",
            vec![format!(
                "AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName=acct{};AccountKey={}==;EndpointSuffix=core.windows.net\"",
                rng.chars(DIGITS, 4),
                rng.chars(B64, 86)
            )],
            0,
        ),
        15 => secret(
            "postgres-url",
            vec![format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/app",
                rng.chars(A62, 20)
            )],
            0,
        ),
        16 => secret(
            "mongodb-url",
            vec![format!(
                "  uri: mongodb+srv://svc:{}@cluster0.mongodb.net/prod",
                rng.chars(A62, 18)
            )],
            0,
        ),
        17 => secret(
            "redis-url",
            vec![format!(
                "REDIS_URL=rediss://default:{}@cache.internal:6380/0",
                rng.chars(A62, 24)
            )],
            0,
        ),
        18 => {
            let mut lines = pem(rng, "RSA PRIVATE KEY", 600);
            lines.insert(0, "# deploy key".to_string());
            secret("rsa-private-key", lines, 1)
        }
        19 => {
            let mut lines = pem(rng, "PRIVATE KEY", 120);
            lines.insert(0, "# service key".to_string());
            secret("pkcs8-private-key", lines, 1)
        }
        20 => secret(
            "jwt",
            vec![format!("Authorization: Bearer {}", jwt(rng))],
            0,
        ),
        21 => secret(
            "generic-password",
            vec![format!(
                "  password: \"{}{}{}!\"",
                upper(rng),
                rng.chars(A62, 12),
                rng.chars(DIGITS, 2)
            )],
            0,
        ),
        22 => secret(
            "generic-api-key",
            vec![format!("PAYMENTS_API_KEY={}", rng.chars(A62, 32))],
            0,
        ),
        23 => {
            let v = b64(format!("{}{}", rng.chars(A62, 14), rng.chars(DIGITS, 3)).as_bytes());
            secret(
                "k8s-secret",
                vec![
                    "apiVersion: v1".to_string(),
                    "kind: Secret".to_string(),
                    "metadata:".to_string(),
                    "  name: db".to_string(),
                    "type: Opaque".to_string(),
                    "data:".to_string(),
                    format!("  password: {v}"),
                    "---".to_string(),
                ],
                6,
            )
        }
        24 => {
            let v = b64(format!("ci-bot:{}", rng.chars(A62, 20)).as_bytes());
            secret(
                "docker-auths",
                vec![
                    "{".to_string(),
                    "  \"auths\": {".to_string(),
                    format!("    \"registry.example.org\": {{ \"auth\": \"{v}\" }}"),
                    "  }".to_string(),
                    "}".to_string(),
                ],
                2,
            )
        }
        25 => secret(
            "datadog",
            vec![format!("DD_API_KEY={}", rng.chars(HEX, 32))],
            0,
        ),
        26 => secret(
            "shopify",
            vec![format!("SHOPIFY_ACCESS_TOKEN=shpat_{}", rng.chars(HEX, 32))],
            0,
        ),
        27 => secret(
            "digitalocean",
            vec![format!("DO_TOKEN=dop_v1_{}", rng.chars(HEX, 64))],
            0,
        ),
        28 => secret(
            "vault",
            vec![format!("export VAULT_TOKEN=hvs.{}", rng.chars(B64U, 90))],
            0,
        ),
        29 => secret(
            "telegram",
            vec![format!(
                "bot = Bot(\"{}:AA{}\")",
                rng.chars(DIGITS, 10),
                rng.chars(B64U, 33)
            )],
            0,
        ),
        30 => secret(
            "twilio",
            vec![format!("TWILIO_API_KEY=SK{}", rng.chars(HEX, 32))],
            0,
        ),
        31 => secret(
            "pypi",
            vec![format!(
                "password = pypi-AgEIcHlwaS5vcmc{}",
                rng.chars(B64U, 140)
            )],
            0,
        ),
        32 => secret(
            "mysql-url",
            vec![format!(
                "spring.datasource.url=mysql://root:{}@mysql:3306/shop",
                rng.chars(A62, 16)
            )],
            0,
        ),
        _ => secret(
            "databricks",
            vec![format!("DATABRICKS_TOKEN=dapi{}", rng.chars(HEX, 32))],
            0,
        ),
    }
}

/// A random decoy: looks like a secret, is not one.
fn decoy_item(rng: &mut Rng) -> Item {
    match rng.below(30) {
        0 => decoy(vec!["aws_access_key_id = AKIAIOSFODNN7EXAMPLE".to_string()]),
        1 => decoy(vec![
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
        ]),
        2 => decoy(vec!["API_KEY=${API_KEY}".to_string()]),
        3 => decoy(vec![
            "  password: \"{{ .Values.postgresql.password }}\"".to_string(),
        ]),
        4 => decoy(vec!["token: <your-token-here>".to_string()]),
        5 => decoy(vec![format!("GITHUB_TOKEN={}", github(rng, "ghp_", false))]),
        6 => decoy(vec![format!("sha256 = \"{}\"", rng.chars(HEX, 64))]),
        7 => decoy(vec![format!("commit: {}", rng.chars(HEX, 40))]),
        8 => {
            let h = rng.chars(HEX, 32);
            decoy(vec![format!(
                "request_id = \"{}-{}-4{}-a{}-{}\"",
                &h[..8],
                &h[8..12],
                &h[13..16],
                &h[17..20],
                &h[20..]
            )])
        }
        9 => decoy(vec![format!(
            "      \"integrity\": \"sha512-{}==\",",
            rng.chars(B64, 86)
        )]),
        10 => decoy(pem(rng, "PUBLIC KEY", 90)),
        11 => decoy(pem(rng, "CERTIFICATE", 400)),
        12 => decoy(vec!["password = os.environ[\"DB_PASSWORD\"]".to_string()]),
        13 => decoy(vec!["  password: \"\"".to_string()]),
        14 => decoy(vec!["token = get_token(scope=\"read\")".to_string()]),
        15 => decoy(vec![format!(
            "<img src=\"data:image/png;base64,{}\">",
            rng.chars(B64, 120)
        )]),
        16 => decoy(vec!["SECRET_KEY = settings.SECRET_KEY".to_string()]),
        17 => decoy(vec![
            "DATABASE_URL=postgres://user:password@localhost:5432/dev".to_string(),
        ]),
        18 => decoy(vec![format!(
            "checksum: {}  ./dist/app-{}.tar.gz",
            rng.chars(HEX, 64),
            rng.chars(DIGITS, 3)
        )]),
        19 => decoy(vec![format!(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} deploy@ci",
            rng.chars(B64, 43)
        )]),
        20 => decoy(vec![
            "SLACK_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXXXXXX".to_string(),
        ]),
        21 => decoy(vec![
            "stripe_key = \"sk_live_xxxxxxxxxxxxxxxxxxxxxxxx\"".to_string(),
        ]),
        22 => decoy(vec![format!(
            "h1 = '{}'  # golden hash",
            rng.chars(HEX, 40)
        )]),
        23 => decoy(vec!["export NPM_TOKEN=$(cat ~/.npm-token)".to_string()]),
        24 => decoy(vec![format!(
            "color: #{}; font-family: \"{}\";",
            rng.chars(HEX, 6),
            rng.chars(LETTERS, 8)
        )]),
        25 => decoy(vec![format!(
            "const tokenizerVocabulary = \"{}\";",
            rng.chars(LETTERS, 40).to_ascii_lowercase()
        )]),
        26 => decoy(vec![format!(
            "version = \"{}.{}.{}\"",
            rng.below(10),
            rng.below(30),
            rng.below(100)
        )]),
        27 => decoy(vec!["eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.".to_string()]),
        28 => decoy(vec!["password_reset_token_ttl = 3600".to_string()]),
        _ => decoy(vec![format!(
            "  secret_name: {}-credentials",
            rng.chars(LETTERS, 8).to_ascii_lowercase()
        )]),
    }
}

const FILLER: &[&str] = &[
    "import os",
    "def handler(event, context):",
    "    return {\"statusCode\": 200}",
    "# TODO: move this to the config service",
    "server:",
    "  port: 8080",
    "logging:",
    "  level: info",
    "const app = express();",
    "app.use(bodyParser.json());",
    "RUN apt-get update && apt-get install -y curl",
    "WORKDIR /srv/app",
    "    timeout_seconds = 30",
    "retries: 3",
    "}",
    "",
    "for item in items:",
    "    total += item.price * item.quantity",
    "<dependency><groupId>org.example</groupId></dependency>",
    "[tool.poetry]",
];

const NAMES: &[&str] = &[
    ".env",
    "config/settings.yaml",
    "app/settings.py",
    "src/index.js",
    "deploy/values.yaml",
    "deploy/secret.yaml",
    "scripts/deploy.sh",
    "docker/config.json",
    "README.md",
    "src/main/resources/application.properties",
    "package-lock.json",
    "terraform/main.tf",
    "notes.txt",
    "keys/id_rsa",
];

/// Generates `n_files` files from `seed`: every file mixes filler lines
/// with planted secrets (about 2 per file) and decoys (about 4 per file).
#[must_use]
pub fn generate(seed: u64, n_files: usize) -> Corpus {
    let mut rng = Rng(seed);
    let mut corpus = Corpus::default();
    for i in 0..n_files {
        let base = rng.pick(NAMES);
        let path = format!("/project{:03}/{base}", i);
        let mut text = String::new();
        let mut line: u64 = 1;
        let items = 4 + rng.below(6);
        for _ in 0..items {
            for _ in 0..rng.below(6) {
                let _ = writeln!(text, "{}", rng.pick(FILLER));
                line += 1;
            }
            let item = if rng.below(3) == 0 {
                planted(&mut rng)
            } else {
                corpus.decoys += 1;
                decoy_item(&mut rng)
            };
            if let Some((at, kind)) = &item.secret_line {
                // Column of the secret does not matter: labels are by line.
                corpus.planted.push(Planted {
                    path: path.clone(),
                    line: line + *at as u64,
                    kind: kind.clone(),
                });
            }
            for l in &item.lines {
                let _ = writeln!(text, "{l}");
                line += 1;
            }
        }
        corpus.files.push((path, text.into_bytes()));
    }
    corpus
}
