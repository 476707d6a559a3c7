//! Filters and sort orders for list queries. Column names only ever come
//! from the code (whitelists); values are always bound parameters.

use super::value::Value;

/// `WHERE` clauses joined with `AND`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Filter {
    /// No condition.
    pub fn new() -> Self {
        Filter::default()
    }

    /// `column = value`.
    pub fn eq(&mut self, column: &'static str, value: impl Into<Value>) -> &mut Self {
        self.clauses.push(format!("{column} = ?"));
        self.params.push(value.into());
        self
    }

    /// `column >= value`.
    pub fn ge(&mut self, column: &'static str, value: i64) -> &mut Self {
        self.clauses.push(format!("{column} >= ?"));
        self.params.push(value.into());
        self
    }

    /// `column <= value`.
    pub fn le(&mut self, column: &'static str, value: i64) -> &mut Self {
        self.clauses.push(format!("{column} <= ?"));
        self.params.push(value.into());
        self
    }

    /// `column IS NULL` or `IS NOT NULL`.
    pub fn null(&mut self, column: &'static str, is_null: bool) -> &mut Self {
        let not = if is_null { "" } else { "NOT " };
        self.clauses.push(format!("{column} IS {not}NULL"));
        self
    }

    /// Case-insensitive substring match (ASCII case folding on both
    /// backends; `%` and `_` in `needle` match themselves).
    pub fn contains(&mut self, column: &'static str, needle: &str) -> &mut Self {
        let mut pattern = String::from("%");
        for c in needle.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        self.clauses
            .push(format!("LOWER({column}) LIKE ? ESCAPE '\\'"));
        self.params.push(pattern.into());
        self
    }

    /// A fixed condition written in the code (no user input in it).
    pub fn raw(&mut self, clause: &'static str) -> &mut Self {
        self.clauses.push(clause.to_string());
        self
    }

    /// ` WHERE ...`, or nothing.
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The bound values, in clause order.
    pub fn params(&self) -> Vec<Value> {
        self.params.clone()
    }
}

/// An `ORDER BY` on one whitelisted column, ties broken by `tiebreak`.
#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub column: &'static str,
    pub descending: bool,
    pub tiebreak: &'static str,
}

impl Sort {
    /// Parses `field` or `-field` (descending) against `allowed`
    /// `(field, column)` pairs.
    pub fn parse(
        spec: Option<&str>,
        allowed: &[(&'static str, &'static str)],
        default: (&'static str, bool),
        tiebreak: &'static str,
    ) -> Result<Sort, String> {
        let Some(spec) = spec.filter(|s| !s.is_empty()) else {
            return Ok(Sort {
                column: default.0,
                descending: default.1,
                tiebreak,
            });
        };
        let (field, descending) = match spec.strip_prefix('-') {
            Some(f) => (f, true),
            None => (spec.strip_prefix('+').unwrap_or(spec), false),
        };
        allowed
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, column)| Sort {
                column,
                descending,
                tiebreak,
            })
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                format!(
                    "cannot sort by {field:?}; sort by one of {} (prefix - for descending)",
                    names.join(", ")
                )
            })
    }

    /// The `ORDER BY` body.
    pub fn order_by(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        if self.column == self.tiebreak {
            format!("{} {dir}", self.column)
        } else {
            format!("{} {dir}, {} {dir}", self.column, self.tiebreak)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_is_whitelisted() {
        let allowed = [("name", "username"), ("id", "id")];
        let s = Sort::parse(Some("-name"), &allowed, ("id", false), "id").unwrap();
        assert_eq!(s.order_by(), "username DESC, id DESC");
        let s = Sort::parse(None, &allowed, ("id", false), "id").unwrap();
        assert_eq!(s.order_by(), "id ASC");
        let e = Sort::parse(Some("password_hash"), &allowed, ("id", false), "id").unwrap_err();
        assert!(e.contains("name, id"), "{e}");
    }

    #[test]
    fn like_patterns_are_escaped() {
        let mut f = Filter::new();
        f.contains("username", "A_b%");
        assert_eq!(f.params(), vec![Value::from("%a\\_b\\%%")]);
        assert_eq!(f.where_sql(), " WHERE LOWER(username) LIKE ? ESCAPE '\\'");
    }
}
