//! Prometheus metrics, kept in memory and rendered in the text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Per bucket, not cumulative.
    buckets: [u64; BUCKETS.len()],
}

/// Request counters and latency histograms per (method, route, status).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    login_failures: Mutex<BTreeMap<&'static str, u64>>,
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one request (`route` is the matched route pattern, never
    /// the raw path, so the number of series stays bounded).
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut m) = self.requests.lock() else {
            return;
        };
        let s = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        let secs = took.as_secs_f64();
        s.count += 1;
        s.sum += secs;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            s.buckets[i] += 1;
        }
    }

    /// Counts a refused login by reason.
    pub fn login_failure(&self, reason: &'static str) {
        if let Ok(mut m) = self.login_failures.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().map(|m| m.clone()).unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP rampart_build_info The running version.\n\
             # TYPE rampart_build_info gauge\n\
             rampart_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out.push_str(
            "# HELP rampart_http_requests_total HTTP requests answered.\n\
             # TYPE rampart_http_requests_total counter\n",
        );
        for ((method, route, status), s) in &requests {
            let _ = writeln!(
                out,
                "rampart_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                label(method),
                label(route),
                s.count
            );
        }
        out.push_str(
            "# HELP rampart_http_request_duration_seconds Time to answer HTTP requests.\n\
             # TYPE rampart_http_request_duration_seconds histogram\n",
        );
        for ((method, route, status), s) in &requests {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                label(method),
                label(route)
            );
            let mut cumulative = 0;
            for (b, n) in BUCKETS.iter().zip(s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "rampart_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "rampart_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 rampart_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 rampart_http_request_duration_seconds_count{{{labels}}} {}",
                s.count, s.sum, s.count
            );
        }
        out.push_str(
            "# HELP rampart_login_failures_total Refused logins by reason.\n\
             # TYPE rampart_login_failures_total counter\n",
        );
        if let Ok(m) = self.login_failures.lock() {
            for (reason, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "rampart_login_failures_total{{reason=\"{reason}\"}} {n}"
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, Duration::from_millis(3));
        m.observe("GET", "/healthz", 200, Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains(
            "rampart_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("status=\"200\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("status=\"200\",le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("status=\"200\",le=\"+Inf\"} 2"), "{text}");
    }
}
