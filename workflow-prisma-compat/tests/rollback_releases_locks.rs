//! A command that writes nothing (a no-op `run.transition`, an error) rolls its transaction back before
//! `dispatch` returns, so the run's advisory lock is free at once. Before, the dropped transaction was
//! rolled back later by the pool, and a job claim made in between passed over the run's job (its
//! `pg_try_advisory_xact_lock` failed): `design_difference_11_…` failed about once in 25 runs.

mod common;

use std::sync::Arc;
use workflow_core::kernel::{RunCreate, RunTransition, TransitionAction};
use workflow_testing::FakeClock;

/// Advisory locks held on the run's outbox lock (`pg_advisory_xact_lock(hashtext(id))`: a single
/// bigint key, whose high and low halves are `classid` and `objid`).
const HELD: &str = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 \
     AND classid = ((hashtext($1)::bigint >> 32) & 4294967295)::oid \
     AND objid = (hashtext($1)::bigint & 4294967295)::oid AND granted";

#[tokio::test]
async fn a_no_op_transition_leaves_no_lock_behind() {
    let Some((backend, store)) = common::postgres(module_path!()).await else {
        return;
    };
    let kernel = common::kernel(store.clone(), Arc::new(FakeClock::new()));
    for i in 0..100 {
        let command = RunCreate::new(
            format!("key-{i}"),
            "conformance-linear",
            serde_json::json!({ "value": 1 }),
        );
        let run_id = kernel.dispatch(command).await.unwrap().workflow_run_id;
        let transitioned = kernel.dispatch(RunTransition::new(&run_id)).await.unwrap();
        assert_eq!(transitioned.action, TransitionAction::Noop);
        let held: i64 = sqlx::query_scalar(HELD)
            .bind(run_id.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            held, 0,
            "iteration {i}: run {run_id}'s lock is still held after dispatch returned"
        );
    }
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}
