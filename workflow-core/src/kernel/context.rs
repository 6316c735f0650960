//! What a stage reads: the outputs of the stages it declared (dependencies and `optional` reads) and of the
//! previous group (its input), loaded in one query; and the run output derived from the last group.

use super::Ports;
use crate::definition::context::{StageEnv, StageRunInfo};
use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorder;
use crate::definition::storage::StageStorage;
use crate::definition::workflow::{StageNode, WorkflowDefinition};
use crate::ports::blob::keys;
use crate::ports::{BlobStore, RunRecord, StageRecord, Status, StoreError};
use serde_json::{Map, Value};
use std::collections::HashMap;

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

/// The stages whose outputs `node` reads: the previous group (its input, unless it reads only from the
/// context), its dependencies and its `optional` reads, each once, only stages of earlier groups.
pub(crate) fn reads(definition: &WorkflowDefinition, node: &StageNode) -> Vec<&'static str> {
    let group = node.execution_group;
    let mut ids: Vec<&'static str> = Vec::new();
    if group > 1 && !node.stage.reads_context_only() {
        ids.extend(
            definition
                .stages_in_group(group - 1)
                .iter()
                .map(|n| n.stage.id()),
        );
    }
    let declared = node
        .stage
        .dependencies()
        .iter()
        .chain(node.stage.optional_reads());
    for id in declared {
        let earlier = definition
            .stage(id)
            .is_some_and(|other| other.execution_group < group);
        if earlier && !ids.contains(id) {
            ids.push(id);
        }
    }
    ids
}

/// The key a stage's output is stored under: the TypeScript engine's `…/<stageId>/output.json`, or with a
/// blob store outside the database a per-delivery key (`…/attempt-<n>/output.json`), so that a worker that
/// lost its lease cannot overwrite the output of the one that holds it.
pub(crate) fn output_key(
    in_store: bool,
    run: &RunRecord,
    stage_id: &str,
    attempt: Option<i32>,
) -> String {
    let delivery = if in_store { None } else { attempt };
    keys::output_key(&run.workflow_type, &run.id, stage_id, delivery)
}

/// Outputs read through known keys.
pub(crate) struct OutputKeys {
    /// `(stage id, key)` of every output to read.
    pub keys: Vec<(String, String)>,
    /// Outputs stored inline in `outputData` (legacy rows), already known.
    pub inline: Vec<(String, Value)>,
}

impl OutputKeys {
    /// The keys of `ids` from the stage rows (completed rows only).
    pub(crate) fn from_rows(stages: &[StageRecord], ids: &[&str]) -> OutputKeys {
        let mut found = OutputKeys {
            keys: Vec::new(),
            inline: Vec::new(),
        };
        for stage in stages
            .iter()
            .filter(|s| s.status == Status::Completed && ids.contains(&s.stage_id.as_str()))
        {
            match stored_output(stage) {
                Some(StoredOutput::Blob(key)) => found
                    .keys
                    .push((stage.stage_id.to_string(), key.to_owned())),
                Some(StoredOutput::Inline(value)) => found
                    .inline
                    .push((stage.stage_id.to_string(), value.clone())),
                None => {}
            }
        }
        found
    }

    /// The canonical keys of `ids` (valid where outputs are stored in the database store, whose keys are
    /// the same for every delivery).
    pub(crate) fn canonical(run: &RunRecord, ids: &[&str]) -> OutputKeys {
        OutputKeys {
            keys: ids
                .iter()
                .map(|id| {
                    (
                        (*id).to_owned(),
                        keys::output_key(&run.workflow_type, &run.id, id, None),
                    )
                })
                .collect(),
            inline: Vec::new(),
        }
    }

    /// Just the keys.
    pub(crate) fn key_list(&self) -> Vec<String> {
        self.keys.iter().map(|(_, key)| key.clone()).collect()
    }

    /// The outputs, given the values found for the keys; the stage ids whose key had no value.
    pub(crate) fn resolve(self, values: &HashMap<String, Value>) -> (StageOutputs, Vec<String>) {
        let mut outputs = StageOutputs::new();
        let mut missing = Vec::new();
        for (stage_id, key) in self.keys {
            match values.get(&key) {
                Some(value) => outputs.insert(stage_id, value.clone()),
                None => missing.push(stage_id),
            }
        }
        for (stage_id, value) in self.inline {
            outputs.insert(stage_id, value);
        }
        (outputs, missing)
    }
}

/// Reads outputs from a blob store outside the database, one key at a time.
pub(crate) async fn read_external(
    blobs: &dyn BlobStore,
    keys: &[String],
) -> Result<HashMap<String, Value>, StoreError> {
    let mut values = HashMap::new();
    for key in keys {
        if let Some(value) = blobs.get(key).await? {
            values.insert(key.clone(), value);
        }
    }
    Ok(values)
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

/// The environment of a stage execution or poll: ids from the run and stage rows, storage over the
/// kernel's blobs, `ctx.ai()` from its AI helper.
pub(crate) fn stage_env(
    ports: &Ports,
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
    let storage = StageStorage::new(
        ports.blobs.clone(),
        run.workflow_type.clone(),
        run.id.clone(),
    );
    StageEnv::new(info, storage, recorder)
        .with_raw_config(raw_config)
        .with_ai(&ports.ai)
}
