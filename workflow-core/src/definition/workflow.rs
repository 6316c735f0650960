//! [`Workflow`] (implemented by `workflow!`) and [`WorkflowDefinition`], the runtime description of a
//! workflow with the queries of the TypeScript engine's `Workflow` class.

use super::config::{ConfigErrors, validate};
use super::dyn_stage::{StageHandle, StageSchemas};
use super::outputs::decode_json;
use super::stage::StageData;
use schemars::Schema;
use serde_json::{Map, Value};

/// A workflow declared with `workflow!`.
pub trait Workflow: Send + Sync + 'static {
    /// The workflow id (`workflowId`, also stored as `workflowType`).
    const ID: &'static str;
    /// The display name (`workflowName`).
    const NAME: &'static str;
    /// The doc comment of the `workflow!` item.
    const DESCRIPTION: Option<&'static str>;

    /// The runtime description: stages, groups, schemas and validation.
    fn definition() -> WorkflowDefinition;
}

/// Workflow `Self` takes `Input` (`WorkflowRun.input`) and produces `Output` (the last group's output: a
/// single stage's output, or a tuple for a parallel group). `workflow!` implements it exactly once per
/// workflow, so typed APIs infer both types from the workflow alone.
///
/// The types are trait parameters rather than associated types of [`Workflow`] so that a `pub` workflow may
/// list private stages.
#[diagnostic::on_unimplemented(
    message = "workflow `{Self}` does not take `{Input}` as input (or does not produce `{Output}`)",
    label = "wrong input or output type for `{Self}`",
    note = "the input type is the one given as `input:` in `workflow!` (or the first stage's input)"
)]
pub trait WorkflowIo<Input, Output>: Workflow {}

/// A stage's place in a workflow.
#[derive(Clone, Debug)]
pub struct StageNode {
    /// The stage itself (id, name, types, body) behind a type-erased handle.
    pub stage: StageHandle,
    /// 1-based execution group (`executionGroup`).
    pub execution_group: u32,
    /// 0-based position in definition order; `stageNumber` is `index + 1`.
    pub index: usize,
}

impl StageNode {
    /// `stageNumber`: the 1-based position in definition order.
    pub fn stage_number(&self) -> u32 {
        self.index as u32 + 1
    }
}

/// The runtime description of a workflow: stages in definition order, their execution groups, and the
/// workflow's input type (through schema and validation functions).
#[derive(Clone)]
pub struct WorkflowDefinition {
    id: &'static str,
    name: &'static str,
    description: Option<&'static str>,
    input_schema: fn() -> Schema,
    output_schema: fn() -> Schema,
    validate_input: fn(&Value) -> Result<(), String>,
    stages: Vec<StageNode>,
    group_count: u32,
}

fn schema_of<T: schemars::JsonSchema>() -> Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

fn validate_as<T: serde::de::DeserializeOwned>(value: &Value) -> Result<(), String> {
    decode_json::<T>(value).map(drop)
}

/// Builds a [`WorkflowDefinition`] group by group (what `workflow!` expands to).
pub struct WorkflowBuilder {
    definition: WorkflowDefinition,
}

impl WorkflowBuilder {
    /// Appends an execution group with these stages (one stage: a sequential step; several: a parallel
    /// group). An empty group is ignored.
    #[must_use]
    pub fn group(mut self, stages: impl IntoIterator<Item = StageHandle>) -> Self {
        let group = self.definition.group_count + 1;
        let mut added = false;
        for stage in stages {
            let index = self.definition.stages.len();
            self.definition.stages.push(StageNode {
                stage,
                execution_group: group,
                index,
            });
            added = true;
        }
        if added {
            self.definition.group_count = group;
        }
        self
    }

    /// The finished definition.
    pub fn build(self) -> WorkflowDefinition {
        self.definition
    }
}

impl WorkflowDefinition {
    /// A builder for workflow `W` with input type `I` and output type `O`.
    pub fn builder<W: Workflow, I: StageData, O: StageData>() -> WorkflowBuilder {
        WorkflowBuilder {
            definition: WorkflowDefinition {
                id: W::ID,
                name: W::NAME,
                description: W::DESCRIPTION,
                input_schema: schema_of::<I>,
                output_schema: schema_of::<O>,
                validate_input: validate_as::<I>,
                stages: Vec::new(),
                group_count: 0,
            },
        }
    }

    /// The workflow id (`workflow! { W = "id" .. }`), the `workflowId` of its runs.
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The display name (`name:` in `workflow!`, else the type name in Title Case: `Document Processor`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The `///` doc comment written on the `workflow!`, if any.
    pub fn description(&self) -> Option<&'static str> {
        self.description
    }

    /// Every stage, in definition order.
    pub fn stages(&self) -> &[StageNode] {
        &self.stages
    }

    /// Stage ids in definition order.
    pub fn stage_ids(&self) -> Vec<&'static str> {
        self.stages.iter().map(|node| node.stage.id()).collect()
    }

    /// The stage with this id.
    pub fn stage(&self, stage_id: &str) -> Option<&StageNode> {
        self.stages.iter().find(|node| node.stage.id() == stage_id)
    }

    /// Whether the workflow has a stage with this id.
    pub fn has_stage(&self, stage_id: &str) -> bool {
        self.stage(stage_id).is_some()
    }

    /// The number of execution groups.
    pub fn group_count(&self) -> u32 {
        self.group_count
    }

    /// The stages of 1-based execution group `group`, in definition order (empty if there is none).
    pub fn stages_in_group(&self, group: u32) -> Vec<&StageNode> {
        self.stages
            .iter()
            .filter(|node| node.execution_group == group)
            .collect()
    }

    /// Stage ids grouped by execution group, in order.
    pub fn execution_plan(&self) -> Vec<Vec<&'static str>> {
        (1..=self.group_count)
            .map(|group| {
                self.stages_in_group(group)
                    .iter()
                    .map(|node| node.stage.id())
                    .collect()
            })
            .collect()
    }

    /// 0-based position of a stage in definition order.
    pub fn stage_index(&self, stage_id: &str) -> Option<usize> {
        self.stage(stage_id).map(|node| node.index)
    }

    /// The 1-based execution group of a stage.
    pub fn execution_group(&self, stage_id: &str) -> Option<u32> {
        self.stage(stage_id).map(|node| node.execution_group)
    }

    /// The stage before this one in definition order.
    pub fn previous_stage_id(&self, stage_id: &str) -> Option<&'static str> {
        let index = self.stage_index(stage_id)?;
        index
            .checked_sub(1)
            .map(|previous| self.stages[previous].stage.id())
    }

    /// `{ stageId: defaults }` for every stage (`{}` for a stage whose config has required fields).
    pub fn default_config(&self) -> Value {
        let mut map = Map::new();
        for node in &self.stages {
            let defaults = node
                .stage
                .default_config()
                .unwrap_or_else(|| Value::Object(Map::new()));
            map.insert(node.stage.id().to_owned(), defaults);
        }
        Value::Object(map)
    }

    /// Checks a run config (`{ stageId: config }`): every stage's entry (or `{}`) must decode as that
    /// stage's config type, have no key its type lacks (a misspelled key would otherwise be ignored and its
    /// default used), and every top-level key must be a stage id. Collects every problem of every stage,
    /// each with the stage id and the field path. A config type that should accept extra keys keeps them in
    /// a `#[serde(flatten)] extra: serde_json::Map<String, Value>` field.
    pub fn validate_config(&self, config: &Value) -> Result<(), ConfigErrors> {
        let stages: Vec<&StageHandle> = self.stages.iter().map(|node| &node.stage).collect();
        validate(&stages, config)
    }

    /// Checks a run input against the workflow's input type; the error names the field.
    pub fn validate_input(&self, input: &Value) -> Result<(), String> {
        (self.validate_input)(input)
    }

    /// The JSON Schema of the workflow input.
    pub fn input_schema(&self) -> Schema {
        (self.input_schema)()
    }

    /// The JSON Schema of the workflow output (the last group's output).
    pub fn output_schema(&self) -> Schema {
        (self.output_schema)()
    }

    /// The JSON Schemas of every stage's input, output and config, in definition order.
    pub fn stage_schemas(&self) -> Vec<(&'static str, StageSchemas)> {
        self.stages
            .iter()
            .map(|node| (node.stage.id(), node.stage.schemas()))
            .collect()
    }

    /// Every schema in one JSON document: `{ input, output, stages: { id: { input, output, config } } }`.
    pub fn json_schemas(&self) -> Value {
        let mut stages = Map::new();
        for (id, schemas) in self.stage_schemas() {
            let mut entry = Map::new();
            entry.insert("input".into(), schemas.input.to_value());
            entry.insert("output".into(), schemas.output.to_value());
            entry.insert("config".into(), schemas.config.to_value());
            if let Some(state) = schemas.state {
                entry.insert("state".into(), state.to_value());
            }
            stages.insert(id.to_owned(), Value::Object(entry));
        }
        serde_json::json!({
            "input": self.input_schema().to_value(),
            "output": self.output_schema().to_value(),
            "stages": stages,
        })
    }

    /// Converts a stored run output into the JSON shape of the workflow's typed output: a parallel last
    /// group is stored as `{ stageId: output }` (as the TypeScript engine stores it) and typed as a tuple.
    pub fn output_as_typed_json(&self, stored: &Value) -> Value {
        let last = self.stages_in_group(self.group_count);
        match (last.len(), stored) {
            (0 | 1, _) => stored.clone(),
            (_, Value::Object(map)) => Value::Array(
                last.iter()
                    .map(|node| map.get(node.stage.id()).cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
            _ => stored.clone(),
        }
    }
}

impl std::fmt::Debug for WorkflowDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowDefinition")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("execution_plan", &self.execution_plan())
            .finish()
    }
}

/// Decodes a stored run output as the typed output `O` of a workflow (see [`WorkflowIo`]).
pub fn decode_output<O: serde::de::DeserializeOwned>(
    definition: &WorkflowDefinition,
    stored: &Value,
) -> Result<O, String> {
    decode_json(&definition.output_as_typed_json(stored))
}
