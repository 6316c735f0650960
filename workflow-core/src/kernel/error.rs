//! [`KernelError`]: why a command was refused or failed. Messages follow the TypeScript engine's wording.

use crate::definition::config::ConfigErrors;
use crate::ids::{RunId, StageId, WorkflowId};
use crate::ports::{Status, StoreError};

/// A command that could not be carried out. Nothing is written when a command fails (its transaction is
/// rolled back), except where a variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The workflow id is not in the registry.
    #[error("Workflow {0} not found in registry")]
    WorkflowNotFound(WorkflowId),
    /// The stage id is not in the workflow.
    #[error("Stage {stage_id} not found in workflow {workflow_id}")]
    StageNotFound {
        /// The stage id asked for.
        stage_id: StageId,
        /// The workflow that has no stage with that id.
        workflow_id: WorkflowId,
    },
    /// No run has this id.
    #[error("WorkflowRun {0} not found")]
    RunNotFound(RunId),
    /// The run input does not match the workflow's input type (the detail names the field).
    #[error("Invalid workflow input: {0}")]
    InvalidInput(String),
    /// The run config does not match the stages' config types (every stage's problem is listed).
    #[error("Invalid workflow config: {0}")]
    InvalidConfig(ConfigErrors),
    /// `run.rerunFrom` on a run that is neither completed nor failed.
    #[error("Cannot rerun workflow in {0} state. Must be COMPLETED or FAILED.")]
    RerunNotAllowed(Status),
    /// `run.rerunFrom` from a group whose earlier groups never ran.
    #[error("Cannot rerun from stage {0}: previous stages have not been executed")]
    RerunWithoutPrevious(StageId),
    /// Another dispatch holds the idempotency key.
    #[error("Command \"{command}\" with idempotency key \"{key}\" is already in progress")]
    IdempotencyInProgress {
        /// The command type.
        command: &'static str,
        /// The idempotency key held by the other dispatch.
        key: String,
    },
    /// An idempotency key was reused for a different request (another workflow, input, config or
    /// priority); nothing was written.
    #[error(
        "idempotency key \"{key}\" of command \"{command}\" was already used for a different request: {detail}"
    )]
    IdempotencyConflict {
        /// The command type.
        command: &'static str,
        /// The idempotency key that was reused.
        key: String,
        /// What differs.
        detail: String,
    },
    /// The cached result of an idempotent command cannot be decoded (written by another version).
    #[error("cannot replay command \"{command}\" with idempotency key \"{key}\": {detail}")]
    UndecodableReplay {
        /// The command type.
        command: &'static str,
        /// The idempotency key whose cached result could not be decoded.
        key: String,
        /// What did not decode.
        detail: String,
    },
    /// A command field is malformed (for example an empty id or idempotency key).
    #[error("invalid {command} command: {detail}")]
    InvalidCommand {
        /// The command type.
        command: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A port failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
