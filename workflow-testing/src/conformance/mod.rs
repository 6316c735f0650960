//! The backend conformance suite: every kernel command, transition and error message of reference §5–§7
//! (and the deliberate differences of DESIGN §5), as scenario functions over a [`BackendFactory`]. The
//! in-memory backend runs them in `workflow-core`'s tests; `workflow-prisma-compat` runs the same
//! scenarios on SQLite and PostgreSQL.
//!
//! ```text
//! // In an integration test of a backend crate:
//! workflow_testing::conformance_suite!(my_crate::MyBackendFactory::new());
//! ```
//! expands to one `#[tokio::test]` per scenario (the test crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features). Every scenario expects an empty backend from the factory.

pub mod ai_calls;
pub mod annotations;
pub mod bad_input;
pub mod blobs;
pub mod cancel;
pub mod claim_pending;
pub mod concurrent_claims;
pub mod differences;
pub mod fixtures;
pub mod handoff;
mod harness;
pub mod hosts;
pub mod idempotency;
pub mod job_execute;
pub mod leases;
pub mod outbox;
pub mod queries;
pub mod reap_stuck;
pub mod rerun;
pub mod retries;
pub mod run_create;
pub mod suspended;
pub mod transition;

pub use harness::{Backend, BackendFactory, Harness, InMemoryBackend};

/// One `#[tokio::test]` per conformance scenario, over the backend factory `$factory` (an expression
/// evaluated in each test; items of the calling module are in scope). With `optional: $expr`, the
/// expression yields an `Option` of a factory and a test whose factory is `None` returns at once (the
/// factory explains why, for example a missing database URL).
#[macro_export]
macro_rules! conformance_suite {
    (optional: $factory:expr) => {
        $crate::__conformance_scenarios! { $factory }
    };
    ($factory:expr) => {
        $crate::__conformance_scenarios! { ::core::option::Option::Some($factory) }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_scenarios {
    ($factory:expr) => {
        $crate::__conformance_tests! { $factory;
            run_create { creates_a_pending_run, config_overrides_replace_defaults_per_stage, unknown_workflows_are_refused,
                invalid_input_is_refused_with_the_field_path, invalid_config_lists_every_stage, run_annotations_are_written_with_the_run }
            claim_pending { claims_by_priority_then_age, a_claim_creates_the_first_group, an_unregistered_workflow_fails_at_claim }
            transition { a_linear_run_completes, parallel_groups_join_into_a_tuple, transition_waits_for_unfinished_stages,
                a_second_transition_is_a_noop, a_failed_stage_fails_the_run, a_stage_being_retried_keeps_the_run_running,
                design_difference_11_completion_and_transition_commit_together }
            job_execute { a_job_of_a_run_that_is_not_running_is_a_ghost, a_completed_stage_is_not_executed_again,
                a_missing_previous_output_fails_the_stage, invalid_stage_config_is_not_retried,
                an_output_of_the_wrong_shape_is_refused_as_input, stage_records_are_persisted_with_the_outcome,
                a_result_finished_after_cancel_is_discarded, a_panicking_stage_fails }
            retries { failures_retry_with_backoff_until_max_attempts, fatal_failures_are_not_retried }
            cancel { pending_runs_can_be_cancelled, running_runs_cancel_stages_and_queued_jobs }
            rerun { rerun_refusals, rerun_restarts_from_a_group }
            suspended { a_suspended_stage_resumes_when_ready, a_failed_check_fails_stage_run_and_job, a_stage_past_its_max_wait_fails,
                a_cancelled_runs_suspended_stage_is_cancelled, not_ready_annotations_are_kept_with_their_events }
            leases { stale_leases_are_released, design_difference_8_stale_workers_are_fenced,
                a_job_that_keeps_losing_its_lease_fails_at_max_attempts }
            reap_stuck { lost_jobs_of_a_stuck_run_are_requeued, a_running_stage_without_a_job_gets_one_back,
                design_difference_7_waiting_for_a_poll_is_not_stuck, design_difference_12_healthy_runs_are_never_reaped,
                a_settled_stuck_run_is_advanced }
            outbox { events_are_delivered_in_order_once, failing_deliveries_go_to_the_dead_letter_queue,
                concurrent_relays_deliver_each_event_once_in_order }
            idempotency { a_repeated_key_replays_the_first_result, an_in_progress_key_refuses_until_stale, a_failed_command_releases_its_key,
                design_difference_13_a_reused_key_with_another_request_conflicts }
            bad_input { nul_bytes_are_refused_with_the_field_named, oversize_keys_are_refused,
                an_output_that_cannot_be_stored_fails_the_stage }
            annotations { attach_and_list, legacy_metadata_is_projected }
            ai_calls { calls_are_logged_and_aggregated, topic_prefixes_match_exactly,
                stage_calls_are_logged_and_summed_into_the_run }
            queries { runs_are_listed_by_filter_and_page, a_run_reads_back_with_stages_output_and_events,
                the_feed_hands_out_settled_events_once }
            blobs { blob_store_contract }
            concurrent_claims { concurrent_workers_never_share_a_job }
            differences { design_difference_1_outputs_are_checked_by_type, design_difference_3_success_clears_the_old_error,
                design_difference_4_failed_polls_fail_the_job, design_difference_5_retries_back_off,
                design_difference_6_jobs_of_finished_runs_are_not_claimable, design_difference_9_duration_uses_one_clock,
                job_outcomes_are_reported }
            handoff { the_recording_transaction_leases_the_next_stage, a_handoff_takes_the_highest_priority_job,
                a_stopping_worker_hands_off_nothing }
            hosts { a_worker_host_runs_workflows_to_completion, stopping_a_worker_lets_in_flight_stages_finish,
                the_serverless_host_processes_jobs_on_demand, run_and_wait_summarizes_the_run,
                run_until_finished_waits_for_an_existing_run, design_difference_10_work_is_taken_without_waiting_for_a_tick }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $($module:ident { $($scenario:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $scenario() {
                        let ::core::option::Option::Some(factory) = $factory else { return };
                        $crate::conformance::$module::$scenario(&factory).await;
                        $crate::conformance::BackendFactory::cleanup(&factory).await;
                    }
                )*
            }
        )*
    };
}
