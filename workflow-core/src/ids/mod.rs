//! Ids: the typed ids of runs, stages, jobs and workflows ([`RunId`], [`StageRecordId`], [`StageId`],
//! [`JobId`], [`WorkflowId`]), and the generators of new ones ([`cuid`], as Prisma Client's
//! `@default(cuid())`, and [`uuid()`]).
//!
//! A typed id is a `String` underneath: serde-transparent (JSON and the database hold the plain text),
//! `Display`, comparable with `&str` and `String`, and it dereferences to `str`, so it goes wherever a
//! `&str` does. The types keep a run id from being passed where a job id is expected:
//!
//! ```compile_fail
//! use workflow_core::ids::{JobId, RunId};
//! fn cancel(run: &RunId) {}
//! let job = JobId::from("cm4a9x0jc0000");
//! cancel(&job); // expected `&RunId`, found `&JobId`
//! ```
//!
//! ```
//! use workflow_core::ids::RunId;
//! let run = RunId::from("cm4a9x0jc0000abcdabcdabcd");
//! assert_eq!(run, "cm4a9x0jc0000abcdabcdabcd");
//! assert_eq!(serde_json::to_string(&run).unwrap(), "\"cm4a9x0jc0000abcdabcdabcd\"");
//! assert!(run.starts_with('c')); // `str`'s methods through `Deref`
//! ```

mod generate;
#[macro_use]
mod typed;

pub use generate::{cuid, cuid_floor, uuid};

typed_id! {
    /// The id of a workflow run (`workflow_runs.id`, a cuid).
    RunId
}
typed_id! {
    /// The id of one stage row of a run (`workflow_stages.id`, a cuid), not to be confused with the
    /// [`StageId`] the workflow gives the stage.
    StageRecordId
}
typed_id! {
    /// The id a workflow gives a stage (`#[stage(id = "extract-text")]`; `workflow_stages.stageId`), unique
    /// within its workflow.
    StageId
}
typed_id! {
    /// The id of a job (`job_queue.id`, a cuid).
    JobId
}
typed_id! {
    /// The id of a workflow definition (`workflow! { W = "document-processor" .. }`;
    /// `workflow_runs.workflowId`).
    WorkflowId
}
