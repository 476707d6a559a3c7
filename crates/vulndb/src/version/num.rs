//! Helpers shared by the schemes: big-number-safe numeric runs.

use std::cmp::Ordering;

/// A run of ASCII digits compared by value without parsing it into a
/// machine integer: leading zeros are stripped at construction, so two
/// runs compare by length first and then digit by digit, and equal values
/// are equal strings (`007` == `7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Num(String);

impl Num {
    /// `digits` must be ASCII digits only (callers check); empty means 0.
    pub(crate) fn new(digits: &str) -> Self {
        Num(digits.trim_start_matches('0').to_string())
    }

    pub(crate) fn zero() -> Self {
        Num(String::new())
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two digit strings by value (leading zeros ignored).
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True for a non-empty string of ASCII digits.
pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// Length of the run of bytes at the start of `s` that satisfy `f`.
pub(crate) fn span(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !f(c)).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_by_value() {
        assert_eq!(cmp_digits("007", "7"), Ordering::Equal);
        assert_eq!(cmp_digits("10", "9"), Ordering::Greater);
        assert_eq!(
            cmp_digits("123456789012345678901234567890", "99999999999999999999"),
            Ordering::Greater
        );
        assert_eq!(Num::new("000"), Num::zero());
        assert!(Num::new("0").is_zero());
    }
}
