//! `run.create`: validates and records a new run (reference §5.1). Bad input is refused before anything
//! is written.

use crate::definition::workflow::{WorkflowDefinition, WorkflowIo};
use crate::ids::{RunId, WorkflowId};
use crate::kernel::annotations::{AnnotationInput, AnnotationScope};
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::{EventKind, NewRun, Signal, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Creates a run of a workflow (status `PENDING`; a worker woken by the commit claims it at once).
/// Idempotent on its key: the same request again returns the first run, another request with the key is
/// refused with [`KernelError::IdempotencyConflict`].
#[derive(Clone, Debug, PartialEq)]
pub struct RunCreate {
    /// Required (at most [`MAX_KEY_BYTES`](crate::kernel::MAX_KEY_BYTES) bytes, no NUL): a repeat with the
    /// same key and request returns the first run.
    pub idempotency_key: String,
    /// The workflow to run; it must be in the kernel's registry.
    pub workflow_id: WorkflowId,
    /// The run input (validated against the workflow's input type).
    pub input: Value,
    /// Per-stage config overrides, merged over the defaults by stage key.
    pub config: Option<Value>,
    /// Priority (default 5; higher runs first).
    pub priority: Option<i32>,
    /// Deprecated free-form metadata (read back as `legacy.metadata.*` annotations).
    pub metadata: Option<Value>,
    /// Run-scoped annotations written with the run.
    pub annotations: Vec<AnnotationInput>,
}

impl RunCreate {
    /// A run of `workflow_id` with `input`.
    pub fn new(
        idempotency_key: impl Into<String>,
        workflow_id: impl Into<WorkflowId>,
        input: Value,
    ) -> Self {
        RunCreate {
            idempotency_key: idempotency_key.into(),
            workflow_id: workflow_id.into(),
            input,
            config: None,
            priority: None,
            metadata: None,
            annotations: Vec::new(),
        }
    }

    /// A run of workflow `W` with a typed input.
    ///
    /// # Panics
    /// If `input` cannot be serialized to JSON.
    pub fn of<W: WorkflowIo<I, O>, I: Serialize, O>(
        idempotency_key: impl Into<String>,
        _workflow: W,
        input: &I,
    ) -> Self {
        let input = serde_json::to_value(input).expect("the workflow input must serialize to JSON");
        Self::new(idempotency_key, W::ID, input)
    }

    /// Sets the config overrides (`{ stageId: {...} }`).
    #[must_use]
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Adds run-scoped annotations.
    #[must_use]
    pub fn annotation(mut self, annotation: AnnotationInput) -> Self {
        self.annotations.push(annotation);
        self
    }
}

/// What `run.create` returns: the new run (or, for a repeated idempotency key, the first one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCreated {
    /// The id of the created run; pass it to `RunCancel`, `WorkerHost::run_until_finished`, ...
    pub workflow_run_id: RunId,
    /// Always `PENDING`.
    pub status: Status,
}

/// `{ ...defaults, ...given }` by stage key (a stage's given entry replaces its defaults in the stored
/// config; the stage fills its defaults back in when it decodes its config).
fn merge_config(
    definition: &WorkflowDefinition,
    given: Option<&Value>,
) -> Result<Value, KernelError> {
    let Value::Object(mut merged) = definition.default_config() else {
        unreachable!("default config is an object")
    };
    match given {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            merged.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())))
        }
        Some(other) => {
            let errors = definition
                .validate_config(other)
                .expect_err("a non-object config never validates");
            return Err(KernelError::InvalidConfig(errors));
        }
    }
    Ok(Value::Object(merged))
}

impl RunCreate {
    /// The config that would be stored for this request (defaults merged by stage key).
    fn stored_config(&self, definition: &WorkflowDefinition) -> Result<Value, KernelError> {
        let config = merge_config(definition, self.config.as_ref())?;
        definition
            .validate_config(&config)
            .map_err(KernelError::InvalidConfig)?;
        Ok(config)
    }

    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<RunCreated, KernelError> {
        let ports = unit.kernel.ports();
        let definition = ports
            .registry
            .workflow(&self.workflow_id)
            .ok_or_else(|| KernelError::WorkflowNotFound(self.workflow_id.clone()))?;
        definition
            .validate_input(&self.input)
            .map_err(KernelError::InvalidInput)?;
        let config = self.stored_config(&definition)?;
        let now = unit.now;
        let run = unit
            .tx
            .create_run(
                NewRun {
                    workflow_id: self.workflow_id.clone(),
                    workflow_name: definition.name().to_owned(),
                    workflow_type: self.workflow_id.to_string(),
                    input: self.input,
                    config,
                    priority: self.priority.unwrap_or(5),
                    metadata: self.metadata.filter(|m| !m.is_null()),
                },
                now,
            )
            .await?;
        let scope = AnnotationScope {
            run_id: &run.id,
            scope: "run",
            scope_id: None,
            stage_record_id: None,
            attempt: 0,
        };
        let (rows, annotation_events) = scope.rows_for_inputs(&self.annotations, now);
        if !rows.is_empty() {
            unit.tx.append_annotations(rows, now).await?;
        }
        let created = unit.event(
            &run.id,
            EventKind::WorkflowCreated {
                workflow_id: self.workflow_id,
            },
        );
        unit.emit(created);
        unit.emit_all(annotation_events);
        unit.signal(Signal::Runs);
        tracing::info!(run_id = %run.id, "run created");
        Ok(RunCreated {
            workflow_run_id: run.id,
            status: Status::Pending,
        })
    }
}

impl Command for RunCreate {
    type Output = RunCreated;
    const TYPE: &'static str = "run.create";

    fn idempotency_key(&self) -> Option<&str> {
        Some(&self.idempotency_key)
    }

    fn check(&self) -> Result<(), KernelError> {
        let command = Self::TYPE;
        validate::key(command, "workflow id", &self.workflow_id)?;
        validate::storable_json(command, "input", &self.input)?;
        if let Some(config) = &self.config {
            validate::storable_json(command, "config", config)?;
        }
        if let Some(metadata) = &self.metadata {
            if !(metadata.is_object() || metadata.is_null()) {
                return Err(KernelError::InvalidCommand {
                    command,
                    detail: "metadata must be a JSON object".into(),
                });
            }
            validate::storable_json(command, "metadata", metadata)?;
        }
        for (index, annotation) in self.annotations.iter().enumerate() {
            annotation.check(command, &format!("annotations[{index}]"))?;
        }
        Ok(())
    }

    async fn replay_conflict<'u>(
        &'u self,
        cached: &'u RunCreated,
        unit: &'u mut UnitOfWork<'_>,
    ) -> Result<Option<String>, KernelError> {
        let Some(run) = unit.tx.get_run(&cached.workflow_run_id).await? else {
            return Ok(None);
        };
        if run.workflow_id != self.workflow_id {
            return Ok(Some(format!(
                "run {} is of workflow {}, this request is for {}",
                run.id, run.workflow_id, self.workflow_id
            )));
        }
        if run.input != self.input {
            return Ok(Some(format!(
                "run {} was created with another input",
                run.id
            )));
        }
        if run.priority != self.priority.unwrap_or(5) {
            return Ok(Some(format!(
                "run {} has priority {}, this request asks for {}",
                run.id,
                run.priority,
                self.priority.unwrap_or(5)
            )));
        }
        let definition = unit.kernel.ports().registry.workflow(&self.workflow_id);
        if let Some(definition) = definition
            && let Ok(config) = self.stored_config(&definition)
            && config != run.config
        {
            return Ok(Some(format!(
                "run {} was created with another config",
                run.id
            )));
        }
        Ok(None)
    }

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<RunCreated, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}
