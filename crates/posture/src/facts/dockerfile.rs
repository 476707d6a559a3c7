//! A Dockerfile reader: instructions with their line numbers, continuation
//! lines joined, comments and parser directives dropped, build stages
//! numbered. It reads; it never runs or expands anything but `ARG`-free
//! text.

use serde::Serialize;

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Upper-case keyword (`FROM`, `RUN`...).
    pub cmd: String,
    /// The rest of the instruction, continuation lines joined with spaces.
    pub args: String,
    /// 1-based line where it starts.
    pub line: usize,
    /// The build stage (0-based, counted by `FROM`).
    pub stage: usize,
    /// Flags such as `--chown=...` or `--from=...`, in order.
    pub flags: Vec<String>,
}

/// The most instructions read.
const MAX_INSTRUCTIONS: usize = 20_000;

/// Whether `name` is a Dockerfile by its name.
#[must_use]
pub fn is_dockerfile_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "dockerfile"
        || n == "containerfile"
        || n.starts_with("dockerfile.")
        || n.ends_with(".dockerfile")
        || n.ends_with(".containerfile")
}

/// Reads a Dockerfile.
#[must_use]
pub fn parse(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut stage: Option<usize> = None;
    let mut cur: Option<(usize, String)> = None;
    let mut escape = '\\';
    let mut seen_instruction = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if !seen_instruction
            && cur.is_none()
            && let Some(d) = trimmed.strip_prefix('#')
            && let Some(v) = d.trim().to_ascii_lowercase().strip_prefix("escape=")
        {
            if v.trim() == "`" {
                escape = '`';
            }
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let (start, mut acc) = cur.take().unwrap_or((n + 1, String::new()));
        if trimmed.is_empty() && acc.is_empty() {
            continue;
        }
        let body = trimmed.trim_end();
        if let Some(stripped) = body.strip_suffix(escape) {
            acc.push_str(stripped);
            acc.push(' ');
            cur = Some((start, acc));
            continue;
        }
        acc.push_str(body);
        seen_instruction = true;
        if out.len() >= MAX_INSTRUCTIONS {
            break;
        }
        if let Some(i) = instruction(&acc, start, &mut stage) {
            out.push(i);
        }
    }
    if let Some((start, acc)) = cur
        && let Some(i) = instruction(&acc, start, &mut stage)
    {
        out.push(i);
    }
    out
}

fn instruction(text: &str, line: usize, stage: &mut Option<usize>) -> Option<Instruction> {
    let text = text.trim();
    let (cmd, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if cmd.is_empty() {
        return None;
    }
    let cmd = cmd.to_ascii_uppercase();
    if cmd == "FROM" {
        *stage = Some(stage.map_or(0, |s| s + 1));
    }
    let mut rest = rest.trim();
    let mut flags = Vec::new();
    while let Some(f) = rest.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        flags.push(format!("--{}", &f[..end]));
        rest = f[end..].trim_start();
    }
    Some(Instruction {
        cmd,
        args: rest.to_string(),
        line,
        stage: stage.unwrap_or(0),
        flags,
    })
}
