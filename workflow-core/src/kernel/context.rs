//! The workflow context: the outputs of a run's completed stages, read back from the blob store, and the
//! inputs and run output derived from it.

use crate::definition::context::{StageEnv, StageRunInfo};
use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorder;
use crate::definition::storage::StageStorage;
use crate::definition::workflow::WorkflowDefinition;
use crate::ports::{BlobStore, RunRecord, StageRecord, Status, StoreError};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Where a completed stage's output lives: `outputData._artifactKey` (a blob key), or the legacy inline
/// object.
pub(crate) enum StoredOutput<'a> {
    Blob(&'a str),
    Inline(&'a Value),
}

pub(crate) fn stored_output(stage: &StageRecord) -> Option<StoredOutput<'_>> {
    let data = stage.output_data.as_ref()?;
    match data.get("_artifactKey").and_then(Value::as_str) {
        Some(key) => Some(StoredOutput::Blob(key)),
        None if data.is_object() => Some(StoredOutput::Inline(data)),
        None => None,
    }
}

/// The output of one completed stage, if it has one.
pub(crate) async fn read_output(
    blobs: &dyn BlobStore,
    stage: &StageRecord,
) -> Result<Option<Value>, StoreError> {
    match stored_output(stage) {
        Some(StoredOutput::Blob(key)) => {
            let value = blobs.get(key).await?;
            if value.is_none() {
                tracing::warn!(
                    run_id = %stage.workflow_run_id,
                    stage_id = %stage.stage_id,
                    key,
                    "the output of a completed stage is missing from the blob store"
                );
            }
            Ok(value)
        }
        Some(StoredOutput::Inline(value)) => Ok(Some(value.clone())),
        None => Ok(None),
    }
}

/// `{ stageId: output }` of every completed stage (ordered by group, then stage number).
pub(crate) async fn load_outputs(
    blobs: &dyn BlobStore,
    stages: &[StageRecord],
) -> Result<StageOutputs, StoreError> {
    let mut outputs = StageOutputs::new();
    for stage in stages.iter().filter(|s| s.status == Status::Completed) {
        if let Some(output) = read_output(blobs, stage).await? {
            outputs.insert(stage.stage_id.clone(), output);
        }
    }
    Ok(outputs)
}

/// The input of a stage of `group` (1-based): the run input for group 1; otherwise the previous group's
/// output (a single stage's output, or the array of a parallel group's outputs in definition order, which
/// decodes as a tuple). `None` when an output of the previous group is missing.
pub(crate) fn resolve_input(
    definition: &WorkflowDefinition,
    group: u32,
    run_input: &Value,
    outputs: &StageOutputs,
) -> Option<Value> {
    if group <= 1 {
        return Some(run_input.clone());
    }
    let previous = definition.stages_in_group(group - 1);
    match previous.as_slice() {
        [single] => outputs.raw(single.stage.id()).cloned(),
        many => many
            .iter()
            .map(|node| outputs.raw(node.stage.id()).cloned())
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
    }
}

/// The run output: the last group's output (a single stage's output, or `{ stageId: output }` for a
/// parallel group, as the TypeScript engine stores it).
pub(crate) fn run_output(definition: &WorkflowDefinition, outputs: &StageOutputs) -> Option<Value> {
    let last = definition.stages_in_group(definition.group_count());
    match last.as_slice() {
        [] => None,
        [single] => outputs.raw(single.stage.id()).cloned(),
        many => {
            let mut map = Map::new();
            for node in many {
                if let Some(output) = outputs.raw(node.stage.id()) {
                    map.insert(node.stage.id().to_owned(), output.clone());
                }
            }
            Some(Value::Object(map))
        }
    }
}

/// The environment of a stage execution or poll: ids from the run and stage rows, storage over `blobs`.
pub(crate) fn stage_env(
    blobs: Arc<dyn BlobStore>,
    run: &RunRecord,
    stage: &StageRecord,
    recorder: Recorder,
    raw_config: Value,
) -> StageEnv {
    let info = StageRunInfo {
        workflow_run_id: run.id.clone(),
        workflow_id: run.workflow_id.clone(),
        workflow_type: run.workflow_type.clone(),
        stage_id: stage.stage_id.clone(),
        stage_name: stage.stage_name.clone(),
        stage_number: stage.stage_number.max(0) as u32,
        execution_group: stage.execution_group.max(0) as u32,
        stage_record_id: stage.id.clone(),
        attempt: stage.attempt.max(0) as u32,
    };
    let storage = StageStorage::new(blobs, run.workflow_type.clone(), run.id.clone());
    StageEnv::new(info, storage, recorder).with_raw_config(raw_config)
}
