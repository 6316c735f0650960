//! `run.create`: validates and records a new run (reference §5.1). Bad input is refused before anything
//! is written.

use crate::definition::workflow::{WorkflowDefinition, WorkflowIo};
use crate::kernel::annotations::{AnnotationInput, AnnotationScope};
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::{Kernel, KernelError};
use crate::ports::{EventKind, NewRun, Status, WorkflowEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Creates a run of a workflow (status `PENDING`). Idempotent on its key.
#[derive(Clone, Debug, PartialEq)]
pub struct RunCreate {
    /// Required: a repeat with the same key returns the first run.
    pub idempotency_key: String,
    /// The workflow.
    pub workflow_id: String,
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
        workflow_id: impl Into<String>,
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

/// The created run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCreated {
    /// The run id.
    pub workflow_run_id: String,
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

impl Command for RunCreate {
    type Output = RunCreated;
    const TYPE: &'static str = "run.create";

    fn idempotency_key(&self) -> Option<&str> {
        Some(&self.idempotency_key)
    }

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<RunCreated, KernelError> {
        let ports = kernel.ports();
        let definition = ports
            .registry
            .workflow(&self.workflow_id)
            .ok_or_else(|| KernelError::WorkflowNotFound(self.workflow_id.clone()))?;
        definition
            .validate_input(&self.input)
            .map_err(KernelError::InvalidInput)?;
        let config = merge_config(&definition, self.config.as_ref())?;
        definition
            .validate_config(&config)
            .map_err(KernelError::InvalidConfig)?;
        if let Some(metadata) = &self.metadata
            && !(metadata.is_object() || metadata.is_null())
        {
            return Err(KernelError::InvalidCommand {
                command: Self::TYPE,
                detail: "metadata must be a JSON object".into(),
            });
        }

        let now = ports.clock.now();
        let mut tx = ports.persistence.begin().await?;
        let run = tx
            .create_run(
                NewRun {
                    workflow_id: self.workflow_id.clone(),
                    workflow_name: definition.name().to_owned(),
                    workflow_type: self.workflow_id.clone(),
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
            tx.append_annotations(rows, now).await?;
        }
        let mut events = vec![WorkflowEvent {
            kind: EventKind::WorkflowCreated {
                workflow_id: self.workflow_id,
            },
            timestamp: now,
            workflow_run_id: run.id.clone(),
        }];
        events.extend(annotation_events);
        let output = RunCreated {
            workflow_run_id: run.id,
            status: Status::Pending,
        };
        let causation = Kernel::causation_id(idempotency);
        kernel
            .commit(tx, &events, &causation, idempotency.map(|i| (i, &output)))
            .await?;
        tracing::info!(run_id = %output.workflow_run_id, "run created");
        Ok(output)
    }
}
