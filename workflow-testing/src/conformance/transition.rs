//! `run.transition` (reference §5.3) and complete runs.

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::JobOutcome;
use workflow_core::kernel::{RunCancel, RunTransition, TransitionAction};
use workflow_core::ports::Status;

/// A linear run goes group by group to `COMPLETED`; its output is the last stage's output, its totals the
/// sum of the stages' metrics, its duration measured on the kernel clock from creation.
pub async fn a_linear_run_completes(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 4 })).await;
    h.advance(Duration::from_millis(1500));
    h.claim().await;
    assert_eq!(
        h.run_next_job().await.unwrap().outcome,
        JobOutcome::Completed
    );
    let stages = h.stages(&run_id).await;
    assert_eq!(
        stages
            .iter()
            .map(|s| (s.stage_id.as_str(), s.status))
            .collect::<Vec<_>>(),
        [("first", Status::Completed), ("second", Status::Pending)]
    );
    assert_eq!(stages[1].execution_group, 2);
    h.advance(Duration::from_millis(500));
    assert_eq!(
        h.run_next_job().await.unwrap().outcome,
        JobOutcome::Completed
    );
    assert_eq!(
        h.run_next_job().await.unwrap().outcome,
        JobOutcome::Completed
    );
    assert!(h.run_next_job().await.is_none());

    let run = h.run(&run_id).await;
    assert_eq!(run.status, Status::Completed);
    assert_eq!(run.output, Some(json!("value=9")));
    assert_eq!(run.completed_at, Some(h.clock_now()));
    assert_eq!(run.duration, Some(2000));
    assert_eq!((run.total_cost, run.total_tokens), (0.5, 100));
    assert!(
        h.jobs(&run_id)
            .await
            .iter()
            .all(|j| j.status == Status::Completed)
    );
    assert_eq!(
        h.event_types(&run_id).await,
        [
            "workflow:created",
            "workflow:started",
            "stage:started",
            "stage:progress",
            "stage:progress",
            "stage:completed",
            "stage:started",
            "stage:completed",
            "stage:started",
            "stage:completed",
            "workflow:completed",
        ]
    );
    let outbox = h.outbox(&run_id).await;
    assert_eq!(
        outbox.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=11).collect::<Vec<_>>()
    );
    let completed = &outbox.last().unwrap().payload;
    assert_eq!(
        (
            completed["duration"].clone(),
            completed["output"].clone(),
            completed["totalCost"].clone(),
            completed["totalTokens"].clone()
        ),
        (json!(2000), json!("value=9"), json!(0.5), json!(100))
    );
}

/// A parallel group receives the previous output; the next stage takes their outputs as a tuple; a
/// parallel last group makes the run output an object keyed by stage id.
pub async fn parallel_groups_join_into_a_tuple(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let fan = h.create("conformance-fanout", json!({ "value": 2 })).await;
    let run = h.drive(&fan).await;
    assert_eq!(run.status, Status::Completed);
    assert_eq!(run.output, Some(json!("40#4 from 4")));
    let groups: Vec<(String, i32)> = h
        .stages(&fan)
        .await
        .into_iter()
        .map(|s| (s.stage_id.into_string(), s.execution_group))
        .collect();
    assert_eq!(
        groups,
        [
            ("first".into(), 1),
            ("left".into(), 2),
            ("right".into(), 2),
            ("join".into(), 3)
        ]
    );

    let end = h
        .create("conformance-parallel-end", json!({ "value": 1 }))
        .await;
    let run = h.drive(&end).await;
    assert_eq!(run.output, Some(json!({ "left": 20, "right": "#2" })));
}

/// While a stage is pending, running or suspended the transition does nothing; a pending run does not
/// advance either.
pub async fn transition_waits_for_unfinished_stages(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    let noop = h
        .kernel
        .dispatch(RunTransition::new(&run_id))
        .await
        .unwrap();
    assert_eq!(
        noop.action,
        TransitionAction::Noop,
        "a PENDING run is advanced only by a claim"
    );
    assert!(h.stages(&run_id).await.is_empty());
    h.claim().await;
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );
    let missing = h
        .kernel
        .dispatch(RunTransition::new("missing"))
        .await
        .unwrap();
    assert_eq!(missing.action, TransitionAction::Noop);
    h.kernel.dispatch(RunCancel::new(&run_id)).await.unwrap();
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );
}

/// Repeated transitions after a group finished advance once: one set of rows and jobs. (A stage executed by
/// a host transitions its run itself, DESIGN §5.11; `job.execute` dispatched directly does not.)
pub async fn a_second_transition_is_a_noop(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    let config = job.job().run_config();
    let command =
        workflow_core::kernel::JobExecute::new(&run_id, "conformance-linear", "first", config);
    h.kernel.dispatch(command).await.unwrap();
    let first = h
        .kernel
        .dispatch(RunTransition::new(&run_id))
        .await
        .unwrap();
    assert_eq!(
        (first.action, first.next_group),
        (TransitionAction::Advanced, Some(2))
    );
    let second = h
        .kernel
        .dispatch(RunTransition::new(&run_id))
        .await
        .unwrap();
    assert_eq!(second.action, TransitionAction::Noop);
    let jobs = h.jobs(&run_id).await;
    assert_eq!(jobs.iter().filter(|j| j.stage_id == "second").count(), 1);
    assert_eq!(h.stages(&run_id).await.len(), 2);
}

/// A stage that failed without a pending retry fails the run with its error; the output stays null.
pub async fn a_failed_stage_fails_the_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-linear",
            json!({ "failTimes": 1, "fatal": true }),
        )
        .await;
    let run = h.drive(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    assert_eq!(run.output, None);
    assert_eq!(run.completed_at, Some(h.clock_now()));
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(
        (stage.status, stage.error_message.as_deref()),
        (Status::Failed, Some("scripted failure 1"))
    );
    let outbox = h.outbox(&run_id).await;
    let failed = outbox
        .iter()
        .find(|e| e.event_type == "workflow:failed")
        .expect("workflow:failed");
    assert_eq!(failed.payload["error"], "scripted failure 1");
    let stage_failed = outbox
        .iter()
        .find(|e| e.event_type == "stage:failed")
        .expect("stage:failed");
    assert_eq!(
        (
            stage_failed.payload["stageId"].clone(),
            stage_failed.payload["error"].clone()
        ),
        (json!("first"), json!("scripted failure 1"))
    );
    assert_eq!(h.jobs(&run_id).await[0].status, Status::Failed);
    assert!(
        h.logs(&run_id)
            .await
            .iter()
            .any(|l| l.level == workflow_core::LogLevel::Error
                && l.message == "Stage first failed: scripted failure 1")
    );
}

/// A failed stage whose job is still being retried does not fail the run.
pub async fn a_stage_being_retried_keeps_the_run_running(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "failTimes": 1 }))
        .await;
    h.claim().await;
    assert_eq!(h.run_next_job().await.unwrap().outcome, JobOutcome::Failed);
    assert_eq!(h.stage(&run_id, "first").await.status, Status::Failed);
    let job = &h.jobs(&run_id).await[0];
    assert_eq!((job.status, job.attempt), (Status::Pending, 1));
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );
    assert_eq!(h.run(&run_id).await.status, Status::Running);
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}

/// **DESIGN §5.11** — a stage's completion, its job's completion and its run's transition commit
/// together: after one host execution the next group is queued, with nothing left for `run.transition`.
pub async fn design_difference_11_completion_and_transition_commit_together(
    factory: &dyn BackendFactory,
) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    h.claim().await;
    h.run_next_job().await;
    let jobs = h.jobs(&run_id).await;
    assert_eq!(
        jobs.iter()
            .map(|j| (j.stage_id.as_str(), j.status))
            .collect::<Vec<_>>(),
        [("first", Status::Completed), ("second", Status::Pending)]
    );
    assert_eq!(h.stage(&run_id, "second").await.status, Status::Pending);
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );
    h.run_next_job().await;
    h.run_next_job().await;
    let run = h.run(&run_id).await;
    assert_eq!(
        run.status,
        Status::Completed,
        "the last stage completed the run"
    );
    assert_eq!(run.output, Some(json!("value=3")));
}
