//! The console end to end over HTTPS, on both backends: every scenario runs
//! once on SQLite and once on a real PostgreSQL server started for the tests
//! (skipped, saying so, when PostgreSQL is not installed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod harness;
mod pg;
mod registries;
mod settings_schedules;
mod suite;
mod threat;
mod topo;

/// Every scenario, by name.
mod all {
    pub use crate::suite::*;
    pub use crate::topo::*;
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { crate::all::$name(crate::harness::Db::Sqlite); })*
        }
        mod postgres {
            $(#[test] fn $name() { crate::all::$name(crate::harness::Db::Postgres); })*
        }
    };
}

/// Like `both_backends!`, for scenarios in another module.
macro_rules! both_backends_in {
    ($module:ident as $tests:ident: $($name:ident),* $(,)?) => {
        mod $tests {
            mod sqlite {
                $(#[test] fn $name() { crate::$module::$name(crate::harness::Db::Sqlite); })*
            }
            mod postgres {
                $(#[test] fn $name() { crate::$module::$name(crate::harness::Db::Postgres); })*
            }
        }
    };
}

both_backends_in!(settings_schedules as settings_and_schedules:
    settings_are_typed_validated_and_used,
    schedules_crud,
    scheduler_queues_each_run_once,
    scheduler_runs_in_the_background,
    audit_failure_rolls_back_the_action,
    postgres_pool_is_concurrent,
    transactions_keep_order_and_roll_back,
    planner_statistics_follow_fast_growth,
);

both_backends_in!(threat as threatgraph:
    threat_ranking_from_reports_and_uploads,
    live_python_loading_libssl_is_in_use,
    kubernetes_services_expose_pods,
);

both_backends_in!(registries as registry:
    registries_api_with_a_real_registry,
    central_scans_run_with_decrypted_credentials,
    central_scans_without_a_scanner_time_out,
    secret_keys_rotate,
);

#[test]
#[ignore = "a benchmark: about a minute and 1.3 GB (docs/BENCHMARKS.md)"]
fn threat_top_is_fast_on_a_generated_fleet() {
    threat::threat_top_is_fast_on_a_generated_fleet();
}

#[test]
fn registry_client_paginates_and_authenticates() {
    registries::registry_client_paginates_and_authenticates(harness::Db::Sqlite);
}

#[test]
fn registry_client_uses_bearer_tokens() {
    registries::registry_client_uses_bearer_tokens(harness::Db::Sqlite);
}

both_backends!(
    health_and_https,
    openapi_document,
    authorization_matrix_from_openapi,
    login_session_and_cookie,
    roles_are_enforced,
    lockout_after_failed_logins,
    login_rate_limit,
    api_tokens_scoped_and_revocable,
    audit_log_records_who_what_when_where,
    users_crud_and_last_admin,
    pagination_filter_sort,
    error_shape,
    restart_keeps_state_and_certificate,
    generated_admin_password,
    metrics_count_requests,
    oversized_body_is_refused,
    nodes_and_findings_read_from_store,
    scans_state_machine,
    scans_never_stay_in_progress,
    reaper_runs_in_the_background,
    ended_sessions_are_purged,
    suppressions_mask_findings,
    database_connection_is_encrypted,
    scans_can_be_compared,
    agents_enroll_once_and_run_scans,
    report_snapshot_then_deltas,
    reporting_agents_keep_their_nodes_active,
    report_resync_and_bad_reports,
    report_gzip_and_bomb,
    report_load_is_pushed_back,
    host_to_host_and_loopback_edges,
    public_and_private_peers,
    inactivity_and_retention,
    agents_claim_own_scans_and_upload_results,
);
