//! ThreatGraph: the most exploitable findings, attack paths and grouped
//! views, answered from the cached analysis (see `crate::threat`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use rampart_graph::{AttackPath, GroupBy, GroupSummary, RankedFinding, Summary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, Caller};
use crate::clock::rfc3339;
use crate::threat::Computed;

/// The default `limit` and the largest.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 1000;

fn limit(l: Option<usize>) -> Result<usize, ApiError> {
    let l = l.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )))
    }
}

fn computed(state: &AppState) -> Result<Arc<Computed>, ApiError> {
    state.threat.current().ok_or_else(|| {
        let why = state
            .threat
            .last_error()
            .map_or_else(String::new, |e| format!(" (last attempt: {e})"));
        ApiError::unavailable(format!(
            "the threat analysis has not been computed yet{why}; retry in a few seconds"
        ))
    })
}

/// A node named in an answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeLabel {
    /// `host`, `container`, `image`, `pod`, `namespace`, `process`, `internet`.
    pub kind: String,
    pub name: String,
}

fn label(c: &Computed, id: &str) -> Option<NodeLabel> {
    let g = c.analysis.graph();
    let n = g.node(g.node_index(id)?);
    Some(NodeLabel {
        kind: n.kind.as_str().to_string(),
        name: n.name.clone(),
    })
}

/// `top` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopQuery {
    /// 1-1000 (default 20).
    pub limit: Option<usize>,
    /// Only the findings on this node.
    pub node: Option<i64>,
    /// Only the findings this scan reported (and that are still open).
    pub scan: Option<i64>,
}

/// Ranked findings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ThreatTop {
    /// When the analysis was computed.
    pub computed_at: String,
    /// Counts over the whole graph: `nodes`, `exposed`, `reachable`,
    /// `findings`, `credentials`, `at_maximum`.
    #[schema(value_type = Object)]
    pub summary: Summary,
    /// Best first: `id` (the finding's id), `node`, `kind`, `rule_id`,
    /// `severity`, `score` (0-100), `reach` (`hops` with `hops`,
    /// `isolated`, `unknown`), `runtime` (`use`: `in_use` with `file`,
    /// `not_in_use`, `unknown` with `reason`, `not_applicable`) and
    /// `reasons` (`factor`, `points`, `detail`).
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<RankedFinding>,
    /// The nodes the findings are on.
    pub nodes: BTreeMap<String, NodeLabel>,
}

/// The most exploitable findings of the fleet, a node or a scan, with
/// their scores and reasons. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/threat/top",
    tag = "threat",
    params(TopQuery),
    responses(
        (status = 200, description = "Ranked findings", body = ThreatTop),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such node or scan", body = ErrorBody),
        (status = 503, description = "Not computed yet", body = ErrorBody),
    )
)]
pub async fn top(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<TopQuery>,
) -> Result<Json<ThreatTop>, ApiError> {
    let limit = limit(q.limit)?;
    if q.node.is_some() && q.scan.is_some() {
        return Err(ApiError::bad_request("give node or scan, not both"));
    }
    let scan_ids = match q.scan {
        Some(id) => Some(
            state
                .store
                .scan_finding_ids(id)
                .await?
                .ok_or_else(|| ApiError::not_found("scan"))?,
        ),
        None => None,
    };
    let c = computed(&state)?;
    let a = &c.analysis;
    let findings = match (q.node, scan_ids) {
        (Some(node), _) => match a.top_for_node(&node.to_string(), limit) {
            Ok(f) => f,
            Err(_) if state.store.node(node).await?.is_some() => Vec::new(),
            Err(_) => return Err(ApiError::not_found("node")),
        },
        (None, Some(ids)) => {
            let ids: Vec<String> = ids
                .into_iter()
                .map(|i| i.to_string())
                .filter(|i| a.score_of(i).is_some())
                .collect();
            a.top_for_scan(&ids, limit)
                .map_err(|e| ApiError::internal(&e))?
        }
        (None, None) => a.top(limit),
    };
    let nodes = findings
        .iter()
        .filter_map(|f| label(&c, &f.node).map(|l| (f.node.clone(), l)))
        .collect();
    Ok(Json(ThreatTop {
        computed_at: rfc3339(c.computed_at),
        summary: a.summary(),
        findings,
        nodes,
    }))
}

/// `paths` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathsQuery {
    /// The path to this node; without it, the top paths of the fleet.
    pub node: Option<i64>,
    /// Without `node`: 1-1000 (default 20).
    pub limit: Option<usize>,
}

/// Attack paths.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ThreatPaths {
    pub computed_at: String,
    /// Each: `target`, `hops`, `steps` (`from`, `to`, `kind`, `evidence`),
    /// `findings` along it (`node`, `id`, `score`) and `score` (the best at
    /// the target). Empty when `node` is not reachable from the internet.
    #[schema(value_type = Vec<Object>)]
    pub paths: Vec<AttackPath>,
    /// With `node`: how far the internet is (`reach`: `hops` with `hops`,
    /// `isolated` or `unknown`).
    #[schema(value_type = Option<Object>)]
    pub reach: Option<rampart_graph::Reach>,
    /// Every node the paths name.
    pub nodes: BTreeMap<String, NodeLabel>,
    /// The rule (advisory, check) of each finding the paths list.
    pub rules: BTreeMap<String, String>,
}

/// Attack paths from the internet: to one node, or the fleet's top paths
/// (to the reachable nodes with the worst findings). Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/threat/paths",
    tag = "threat",
    params(PathsQuery),
    responses(
        (status = 200, description = "Attack paths", body = ThreatPaths),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
        (status = 503, description = "Not computed yet", body = ErrorBody),
    )
)]
pub async fn paths(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<PathsQuery>,
) -> Result<Json<ThreatPaths>, ApiError> {
    let limit = limit(q.limit)?;
    let c = computed(&state)?;
    let a = &c.analysis;
    let (paths, reach) = match q.node {
        Some(node) => {
            let id = node.to_string();
            match a.path_to(&id) {
                Ok(p) => (p.into_iter().collect(), a.reach(&id)),
                Err(_) if state.store.node(node).await?.is_some() => (Vec::new(), None),
                Err(_) => return Err(ApiError::not_found("node")),
            }
        }
        None => (a.top_paths(limit), None),
    };
    let mut nodes = BTreeMap::new();
    for p in &paths {
        for id in std::iter::once(&p.target)
            .chain(p.steps.iter().flat_map(|s| [&s.from, &s.to]))
            .chain(p.findings.iter().map(|f| &f.node))
        {
            if !nodes.contains_key(id)
                && let Some(l) = label(&c, id)
            {
                nodes.insert(id.clone(), l);
            }
        }
    }
    let rules = paths
        .iter()
        .flat_map(|p| &p.findings)
        .filter_map(|f| a.explain(&f.id).map(|r| (f.id.clone(), r.rule_id)))
        .collect();
    Ok(Json(ThreatPaths {
        computed_at: rfc3339(c.computed_at),
        paths,
        reach,
        nodes,
        rules,
    }))
}

/// `graph` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// `auto` (default: namespace when known, else account/region, else
    /// host), `cluster`, `namespace`, `account`, `region` or `host`.
    pub group_by: Option<String>,
    /// The best findings listed per group, 0-20 (default 5).
    pub top: Option<usize>,
}

/// The grouped view.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ThreatGroups {
    pub computed_at: String,
    pub group_by: String,
    #[schema(value_type = Object)]
    pub summary: Summary,
    /// Each: `key` (`-` for nodes without one), `nodes`, `exposed`,
    /// `reachable`, `findings`, `top` (pairs of finding id and score).
    #[schema(value_type = Vec<Object>)]
    pub groups: Vec<GroupSummary>,
}

/// The graph grouped by cluster, namespace, cloud account/region or host,
/// with counts and the best findings of each group. Role: read-only.
#[utoipa::path(
    get,
    path = "/api/v1/threat/graph",
    tag = "threat",
    params(GroupQuery),
    responses(
        (status = 200, description = "Groups", body = ThreatGroups),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 503, description = "Not computed yet", body = ErrorBody),
    )
)]
pub async fn graph(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> Result<Json<ThreatGroups>, ApiError> {
    let name = q.group_by.unwrap_or_else(|| "auto".into());
    let by = match name.as_str() {
        "auto" => GroupBy::Auto,
        "cluster" => GroupBy::Cluster,
        "namespace" => GroupBy::Namespace,
        "account" => GroupBy::Account,
        "region" => GroupBy::Region,
        "host" => GroupBy::Host,
        _ => {
            return Err(ApiError::bad_request(
                "group_by must be auto, cluster, namespace, account, region or host",
            ));
        }
    };
    let top = q.top.unwrap_or(5);
    if top > crate::threat::MAX_GROUP_TOP {
        return Err(ApiError::bad_request(format!(
            "top must be between 0 and {}",
            crate::threat::MAX_GROUP_TOP
        )));
    }
    let c = computed(&state)?;
    let computed_at = rfc3339(c.computed_at);
    let summary = c.analysis.summary();
    // The first grouping of an analysis walks every node: off the runtime.
    let groups = tokio::task::spawn_blocking(move || c.groups(by, top))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(ThreatGroups {
        computed_at,
        group_by: name,
        summary,
        groups,
    }))
}
