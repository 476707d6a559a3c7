//! The errors of building a graph from its input.

/// Why an input could not be turned into a graph. Every variant names the
/// offending value so the caller can point at it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error("a {what} has an empty id")]
    EmptyId { what: &'static str },
    #[error(
        "node id {id:?} is reserved for the internet node: give that node kind internet, or another id"
    )]
    ReservedId { id: String },
    #[error("node id {id:?} is used twice")]
    DuplicateNode { id: String },
    #[error("{what} names node {id:?}, which is not in the input")]
    UnknownNode { what: String, id: String },
    #[error("a {edge} edge cannot go from a {from} node to a {to} node ({from_id:?} -> {to_id:?})")]
    EdgeKinds {
        edge: &'static str,
        from: &'static str,
        to: &'static str,
        from_id: String,
        to_id: String,
    },
    #[error("{what} must name a {expected} node, and {id:?} is a {kind}")]
    NodeKind {
        what: String,
        id: String,
        kind: &'static str,
        expected: &'static str,
    },
    #[error("more than one internet node ({first:?} and {second:?})")]
    TwoInternets { first: String, second: String },
    #[error("not an IP address: {value:?}")]
    BadAddress { value: String },
    #[error("not a network in CIDR notation: {value:?}")]
    BadCidr { value: String },
    #[error("finding {finding:?}: {field} {value} is outside {range}")]
    OutOfRange {
        finding: String,
        field: &'static str,
        value: f64,
        range: &'static str,
    },
    #[error("finding id {id:?} is used twice")]
    DuplicateFinding { id: String },
    #[error("no finding has id {id:?}")]
    UnknownFinding { id: String },
    #[error("too many {what}: {count} (at most 4,294,967,294)")]
    TooLarge { what: &'static str, count: usize },
    #[error("port range {from}-{to} is empty")]
    BadPortRange { from: u16, to: u16 },
}
