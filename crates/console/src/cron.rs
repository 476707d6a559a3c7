//! Cron expressions, evaluated in UTC: five fields (minute, hour, day of
//! month, month, day of week) with `*`, values, ranges `a-b`, steps `/n`,
//! lists `a,b`, month and day names (`jan`, `mon`), and the macros
//! `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly`
//! (`@annually`). As in Vixie cron, when both the day of month and the day
//! of week are restricted, a day matching either runs.

use std::fmt;
use std::str::FromStr;

use crate::clock::{civil_from_days, days_from_civil};

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: {reason}")]
pub struct CronError {
    pub expr: String,
    pub reason: String,
}

/// A parsed expression: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month and day of week both restricted: either matches.
    either_day: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            let i = u32::try_from(i).unwrap_or(0);
            return Ok(i + if self.names.len() == 12 { 1 } else { 0 });
        }
        let v: u32 = s
            .parse()
            .map_err(|_| format!("{}: {s:?} is not a number", self.name))?;
        if v < self.min || v > self.max {
            return Err(format!(
                "{}: {v} is outside {}-{}",
                self.name, self.min, self.max
            ));
        }
        Ok(v)
    }

    /// The bits `spec` selects; `true` with them when it is unrestricted
    /// (starts with `*`).
    fn parse(&self, spec: &str) -> Result<(u64, bool), String> {
        let mut bits = 0_u64;
        for part in spec.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s
                        .parse()
                        .map_err(|_| format!("{}: step {s:?} is not a number", self.name))?;
                    if step == 0 || step > self.max {
                        return Err(format!("{}: step {step} is out of range", self.name));
                    }
                    (r, Some(step))
                }
                None => (part, None),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("{}: range {a}-{b} is backwards", self.name));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(format!("{}: empty list item", self.name));
            } else {
                let a = self.value(range)?;
                // `a/n` means from a to the end, every n.
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1);
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok((bits, spec.starts_with('*')))
    }
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(expr: &str) -> Result<Self, CronError> {
        let err = |reason: String| CronError {
            expr: expr.to_string(),
            reason,
        };
        let trimmed = expr.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            s if s.starts_with('@') => {
                return Err(err(
                    "unknown macro (use @hourly, @daily, @weekly, @monthly or @yearly)".into(),
                ));
            }
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                fields.len()
            )));
        }
        let (minutes, _) = MINUTE.parse(fields[0]).map_err(err)?;
        let (hours, _) = HOUR.parse(fields[1]).map_err(err)?;
        let (days, any_day) = DAY.parse(fields[2]).map_err(err)?;
        let (months, _) = MONTH.parse(fields[3]).map_err(err)?;
        let (mut weekdays, any_weekday) = WEEKDAY.parse(fields[4]).map_err(err)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        let cron = Cron {
            source: trimmed.to_string(),
            minutes,
            hours,
            days,
            months,
            weekdays,
            either_day: !any_day && !any_weekday,
        };
        if cron.next_after(0).is_none() {
            return Err(err("it never matches a real date".into()));
        }
        Ok(cron)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn has(bits: u64, v: u32) -> bool {
    bits & (1 << v) != 0
}

/// How far ahead [`Cron::next_after`] looks: 29 February can be 8 years
/// apart (2096, 2104).
const HORIZON_DAYS: i64 = 366 * 9;

impl Cron {
    /// Whether the minute starting at `t` (Unix seconds, UTC) matches.
    pub fn matches(&self, t: i64) -> bool {
        let days = t.div_euclid(86_400);
        let rem = t.rem_euclid(86_400);
        let (_, month, day) = civil_from_days(days);
        let (h, m) = (
            u32::try_from(rem / 3600).unwrap_or(0),
            u32::try_from(rem % 3600 / 60).unwrap_or(0),
        );
        has(self.months, month)
            && self.day_matches(days, day)
            && has(self.hours, h)
            && has(self.minutes, m)
    }

    fn day_matches(&self, days: i64, day: u32) -> bool {
        // 1970-01-01 was a Thursday (4).
        let weekday = u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
        let dom = has(self.days, day);
        let dow = has(self.weekdays, weekday);
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first matching minute strictly after `t`; `None` when there is
    /// none within nine years (an impossible date such as 30 February).
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let start = t.div_euclid(60).checked_add(1)?.checked_mul(60)?;
        let first_day = start.div_euclid(86_400);
        let mut days = first_day;
        while days <= first_day + HORIZON_DAYS {
            let (year, month, day) = civil_from_days(days);
            if !has(self.months, month) {
                // Jump to the 1st of the next month.
                let (y, m) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                days = days_from_civil(y, m, 1);
                continue;
            }
            if self.day_matches(days, day) {
                let day_start = days * 86_400;
                let from = if days == first_day {
                    start - day_start
                } else {
                    0
                };
                let first_hour = u32::try_from(from / 3600).unwrap_or(0);
                for h in first_hour..24 {
                    if !has(self.hours, h) {
                        continue;
                    }
                    let first_minute = if h == first_hour {
                        u32::try_from(from % 3600 / 60).unwrap_or(0)
                    } else {
                        0
                    };
                    if let Some(m) = (first_minute..60).find(|m| has(self.minutes, *m)) {
                        return Some(day_start + i64::from(h) * 3600 + i64::from(m) * 60);
                    }
                }
            }
            days += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::rfc3339;

    fn next(expr: &str, t: i64) -> String {
        rfc3339(expr.parse::<Cron>().unwrap().next_after(t).unwrap())
    }

    // 2026-11-28T20:48:18Z, a Saturday.
    const T: i64 = 1_795_898_898;

    #[test]
    fn known_next_times() {
        assert_eq!(rfc3339(T), "2026-11-28T20:48:18Z");
        assert_eq!(next("* * * * *", T), "2026-11-28T20:49:00Z");
        assert_eq!(next("@hourly", T), "2026-11-28T21:00:00Z");
        assert_eq!(next("@daily", T), "2026-11-29T00:00:00Z");
        assert_eq!(next("@weekly", T), "2026-11-29T00:00:00Z");
        assert_eq!(next("@monthly", T), "2026-12-01T00:00:00Z");
        assert_eq!(next("@yearly", T), "2027-01-01T00:00:00Z");
        assert_eq!(next("*/15 * * * *", T), "2026-11-28T21:00:00Z");
        assert_eq!(next("30 2 * * mon-fri", T), "2026-11-30T02:30:00Z");
        assert_eq!(next("0 9,17 * * *", T), "2026-11-29T09:00:00Z");
        assert_eq!(next("0 0 29 feb *", T), "2028-02-29T00:00:00Z");
        assert_eq!(next("0 12 * jan,JUL 7", T), "2027-01-03T12:00:00Z");
        // Day of month or day of week when both are restricted.
        assert_eq!(next("0 0 15 * sun", T), "2026-11-29T00:00:00Z");
        assert_eq!(next("5/20 * * * *", T), "2026-11-28T21:05:00Z");
        assert_eq!(next("0 22-23/1 * * *", T), "2026-11-28T22:00:00Z");
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
            "1,,2 * * * *",
            "@reboot",
            "0 0 30 2 *",
            "0 0 31 apr,jun,sep,nov *",
        ] {
            assert!(bad.parse::<Cron>().is_err(), "{bad:?} was accepted");
        }
    }

    /// A small deterministic generator, so the property test needs no crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    fn field(r: &mut Lcg, min: u64, max: u64) -> String {
        let a = min + r.next(max - min + 1);
        let b = a + r.next(max - a + 1);
        match r.next(6) {
            0 => "*".into(),
            1 => format!("*/{}", 1 + r.next(max.min(12))),
            2 => a.to_string(),
            3 => format!("{a}-{b}"),
            4 => format!("{a}-{b}/{}", 1 + r.next(5)),
            _ => format!("{a},{b}"),
        }
    }

    #[test]
    fn next_is_the_first_match_after_t() {
        let mut r = Lcg(42);
        let mut checked = 0;
        while checked < 300 {
            let expr = format!(
                "{} {} {} {} {}",
                field(&mut r, 0, 59),
                field(&mut r, 0, 23),
                field(&mut r, 1, 28),
                field(&mut r, 1, 12),
                field(&mut r, 0, 6)
            );
            let cron: Cron = expr.parse().unwrap();
            let t = 1_600_000_000 + i64::try_from(r.next(400_000_000)).unwrap();
            let n = cron.next_after(t).unwrap();
            assert!(n > t, "{expr}: {n} <= {t}");
            assert_eq!(n % 60, 0);
            assert!(cron.matches(n), "{expr}: {} does not match", rfc3339(n));
            // Brute force over a bounded window: no matching minute skipped.
            let window = (n - t).min(7 * 86_400);
            let mut m = (t.div_euclid(60) + 1) * 60;
            while m < t + window && m < n {
                assert!(!cron.matches(m), "{expr}: skipped {}", rfc3339(m));
                m += 60;
            }
            checked += 1;
        }
    }
}
