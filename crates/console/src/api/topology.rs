//! The topology graph: nodes and the edges between them.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Caller};
use crate::model::Node;
use crate::store::inventory::NODE_KINDS;
use crate::store::topology::GraphQuery;
use crate::topology::Edge;

/// The default and the largest `limit`.
pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;
/// The deepest neighbourhood.
pub const MAX_DEPTH: u32 = 5;

/// Topology filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopologyQuery {
    /// Node types, comma-separated (`host,container`); default all.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only active (true) or inactive (false) nodes and edges.
    pub active: Option<bool>,
    /// Only the neighbourhood of this node, `depth` edges away in either direction.
    pub root: Option<i64>,
    /// With `root`: 1-5 (default 1).
    pub depth: Option<u32>,
    /// Only this host node and what runs on it (containers, processes,
    /// their images, pods and namespaces).
    pub host: Option<i64>,
    /// The most nodes returned, 1-10000 (default 1000); `truncated` says
    /// when more matched. At most 4 x limit edges are returned.
    pub limit: Option<usize>,
}

/// A slice of the graph.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Topology {
    pub nodes: Vec<Node>,
    /// Edges whose ends are both in `nodes` (or whose target is an
    /// unmonitored private peer, `target: null`).
    pub edges: Vec<Edge>,
    /// More nodes or edges matched than were returned.
    pub truncated: bool,
}

/// The topology graph, filtered. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/graph/topology",
    tag = "inventory",
    params(TopologyQuery),
    responses(
        (status = 200, description = "Nodes and edges", body = Topology),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such root or host node", body = ErrorBody),
    )
)]
pub async fn topology(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<TopologyQuery>,
) -> Result<Json<Topology>, ApiError> {
    let mut kinds = Vec::new();
    for k in q.kind.as_deref().unwrap_or("").split(',') {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        if !NODE_KINDS.contains(&k) {
            return Err(ApiError::bad_request(format!(
                "type is one or more of {} (comma-separated)",
                NODE_KINDS.join(", ")
            )));
        }
        kinds.push(k.to_string());
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let depth = q.depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ApiError::bad_request(format!(
            "depth must be between 1 and {MAX_DEPTH}"
        )));
    }
    if q.root.is_some() && q.host.is_some() {
        return Err(ApiError::bad_request("give root or host, not both"));
    }
    if let Some(id) = q.root.or(q.host) {
        let node = state
            .store
            .node(id)
            .await?
            .ok_or_else(|| ApiError::not_found("node"))?;
        if q.host.is_some() && node.kind != "host" {
            return Err(ApiError::bad_request(format!(
                "node {id} is a {}, not a host",
                node.kind
            )));
        }
    }
    let graph = state
        .store
        .topology(&GraphQuery {
            kinds,
            active: q.active,
            root: q.root,
            depth,
            host: q.host,
            limit,
        })
        .await?;
    Ok(Json(Topology {
        nodes: graph.nodes,
        edges: graph.edges,
        truncated: graph.truncated,
    }))
}
