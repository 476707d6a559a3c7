//! The FIRST EPSS daily scores file: an optional `#model_version:...,
//! score_date:...` line, a `cve,epss,percentile` header, one row per CVE.

use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use crate::error::{DbError, Result};

/// Parsed scores.
#[derive(Debug, Clone, Default)]
pub struct EpssData {
    pub model_version: Option<String>,
    pub score_date: Option<String>,
    /// (cve, probability, percentile)
    pub rows: Vec<(String, f64, f64)>,
}

/// Reads an EPSS CSV, gzip-compressed when `gzip` is set, decompressing at
/// most `limit` bytes.
///
/// # Errors
/// [`DbError::Epss`] for malformed rows, [`DbError::Limit`] past `limit`.
pub fn read(r: impl Read, path: &str, gzip: bool, limit: u64) -> Result<EpssData> {
    let inner: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    let mut reader = BufReader::new(inner.take(limit.saturating_add(1)));
    let err = |line: u64, message: String| DbError::Epss {
        path: path.to_string(),
        line,
        message,
    };
    let mut out = EpssData::default();
    let mut line = String::new();
    let mut n: u64 = 0;
    let mut total: u64 = 0;
    let mut header = false;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| err(n + 1, e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        total += read as u64;
        if total > limit {
            return Err(DbError::Limit {
                path: path.to_string(),
                what: "the decompressed EPSS data".into(),
                limit,
            });
        }
        let l = line.trim_end_matches(['\n', '\r']);
        if l.is_empty() {
            continue;
        }
        if let Some(meta) = l.strip_prefix('#') {
            for part in meta.split(',') {
                if let Some((k, v)) = part.split_once(':') {
                    match k.trim() {
                        "model_version" => out.model_version = Some(v.trim().to_string()),
                        "score_date" => out.score_date = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
            continue;
        }
        if !header {
            if !l.starts_with("cve,epss,percentile") {
                return Err(err(
                    n,
                    format!("expected header cve,epss,percentile, found {l:?}"),
                ));
            }
            header = true;
            continue;
        }
        let mut f = l.split(',');
        let (Some(cve), Some(score), Some(pct)) = (f.next(), f.next(), f.next()) else {
            return Err(err(n, format!("expected 3 fields in {l:?}")));
        };
        let score: f64 = score
            .parse()
            .map_err(|_| err(n, format!("bad score {score:?}")))?;
        let pct: f64 = pct
            .parse()
            .map_err(|_| err(n, format!("bad percentile {pct:?}")))?;
        if !(0.0..=1.0).contains(&score) || !(0.0..=1.0).contains(&pct) {
            return Err(err(n, "score or percentile outside 0..1".into()));
        }
        out.rows.push((cve.to_string(), score, pct));
    }
    if !header {
        return Err(err(n, "no header line (empty or truncated file)".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_rejects_garbage() {
        let csv = "#model_version:v2025.03.14,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94,0.99\n";
        let d = read(csv.as_bytes(), "e.csv", false, 1 << 20).unwrap();
        assert_eq!(d.rows.len(), 1);
        assert_eq!(d.model_version.as_deref(), Some("v2025.03.14"));
        assert!(d.score_date.unwrap().starts_with("2026-08-16"));
        assert!(
            read(
                "cve,epss,percentile\nCVE-1,x,0.1\n".as_bytes(),
                "e",
                false,
                1 << 20
            )
            .is_err()
        );
        assert!(read("".as_bytes(), "e", false, 1 << 20).is_err());
        assert!(matches!(
            read(csv.as_bytes(), "e", false, 10),
            Err(DbError::Limit { .. })
        ));
    }
}
