//! Annotations: rows written with `run.create`, by stages (buffered and written with the stage's outcome)
//! and through [`Annotations::attach`]; and [`Annotations::list`] with the legacy `metadata` projection.

use super::Kernel;
use super::error::KernelError;
use super::validate;
use crate::definition::record::{Actor, Annotation};
use crate::ids::StageRecordId;
use crate::ports::{
    AnnotationFilter, AnnotationRecord, EventKind, NewAnnotation, StageRecord, WorkflowEvent,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Default row limit of [`Annotations::list`].
pub const DEFAULT_LIST_LIMIT: usize = 1000;
const LEGACY_PREFIX: &str = "legacy.metadata.";

/// Several attributes sharing one envelope (actor, payload, idempotency key, event), as in the batch form
/// of `ctx.annotate` and `run.create.annotations`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationInput {
    /// `key → value`; `null` values are skipped.
    pub attributes: Map<String, Value>,
    /// Who made them.
    #[serde(default)]
    pub actor: Actor,
    /// Rich data.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Deduplication key.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Emit one `annotation:created` event per attribute.
    #[serde(default)]
    pub emit_event: bool,
}

impl AnnotationInput {
    /// One attribute.
    pub fn new(key: impl Into<String>, value: impl Serialize) -> Self {
        let mut attributes = Map::new();
        attributes.insert(
            key.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        AnnotationInput {
            attributes,
            ..Default::default()
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attribute(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.attributes.insert(
            key.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Sets the actor.
    #[must_use]
    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Requests `annotation:created` events.
    #[must_use]
    pub fn emit_event(mut self) -> Self {
        self.emit_event = true;
        self
    }

    /// Refuses keys and values no backend can store (naming `field`, e.g. `annotations[0]`).
    pub(crate) fn check(&self, command: &'static str, field: &str) -> Result<(), KernelError> {
        for (key, value) in &self.attributes {
            validate::key(command, &format!("{field} attribute key {key:?}"), key)?;
            validate::storable_json(command, &format!("{field}.attributes.{key}"), value)?;
        }
        if let Some(key) = &self.idempotency_key {
            validate::key(command, &format!("{field} idempotency key"), key)?;
        }
        if let Some(payload) = &self.payload {
            validate::storable_json(command, &format!("{field}.payload"), payload)?;
        }
        Ok(())
    }
}

/// Where annotations are written: the run or a stage attempt.
pub(crate) struct AnnotationScope<'a> {
    pub run_id: &'a str,
    pub scope: &'a str,
    pub scope_id: Option<&'a str>,
    pub stage_record_id: Option<&'a str>,
    pub attempt: i32,
}

impl AnnotationScope<'_> {
    fn row(
        &self,
        key: String,
        value: Value,
        actor: &Actor,
        payload: Option<Value>,
        idempotency_key: Option<String>,
    ) -> NewAnnotation {
        NewAnnotation {
            workflow_run_id: self.run_id.into(),
            workflow_stage_record_id: self.stage_record_id.map(StageRecordId::from),
            attempt: self.attempt,
            scope: self.scope.to_owned(),
            scope_id: self.scope_id.map(str::to_owned),
            actor_kind: actor.kind.clone(),
            actor_id: actor.id.clone(),
            actor_version: actor.version.clone(),
            key,
            value,
            payload,
            idempotency_key,
        }
    }

    fn event(&self, row: &NewAnnotation, now: DateTime<Utc>) -> WorkflowEvent {
        WorkflowEvent {
            kind: EventKind::AnnotationCreated {
                key: row.key.clone(),
                value: row.value.clone(),
                scope: row.scope.clone(),
                scope_id: row.scope_id.clone(),
                attempt: Some(row.attempt),
                actor_kind: row.actor_kind.clone(),
                actor_id: row.actor_id.clone(),
                actor_version: row.actor_version.clone(),
            },
            timestamp: now,
            workflow_run_id: self.run_id.into(),
        }
    }

    /// Rows and events of envelope inputs (one row per non-null attribute).
    pub(crate) fn rows_for_inputs(
        &self,
        inputs: &[AnnotationInput],
        now: DateTime<Utc>,
    ) -> (Vec<NewAnnotation>, Vec<WorkflowEvent>) {
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for input in inputs {
            for (key, value) in input.attributes.iter().filter(|(_, v)| !v.is_null()) {
                let row = self.row(
                    key.clone(),
                    value.clone(),
                    &input.actor,
                    input.payload.clone(),
                    input.idempotency_key.clone(),
                );
                if input.emit_event {
                    events.push(self.event(&row, now));
                }
                rows.push(row);
            }
        }
        (rows, events)
    }

    /// Rows and events of a stage's buffered annotations.
    pub(crate) fn rows_for_recorded(
        &self,
        recorded: &[Annotation],
        now: DateTime<Utc>,
    ) -> (Vec<NewAnnotation>, Vec<WorkflowEvent>) {
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for annotation in recorded.iter().filter(|a| !a.value.is_null()) {
            // Stage code cannot be refused after the fact: what no backend can store is replaced.
            let row = self.row(
                validate::scrub_text(annotation.key.clone()),
                validate::scrub_json(annotation.value.clone()),
                &annotation.actor,
                annotation.payload.clone().map(validate::scrub_json),
                annotation.idempotency_key.clone().map(validate::scrub_text),
            );
            if annotation.emit_event {
                events.push(self.event(&row, now));
            }
            rows.push(row);
        }
        (rows, events)
    }

    /// The scope of a stage attempt.
    pub(crate) fn stage(stage: &StageRecord) -> AnnotationScope<'_> {
        AnnotationScope {
            run_id: &stage.workflow_run_id,
            scope: "stage",
            scope_id: Some(&stage.stage_id),
            stage_record_id: Some(&stage.id),
            attempt: stage.attempt,
        }
    }
}

/// Options of [`Annotations::attach`] beyond the attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttachOptions {
    /// Scope (default `run`).
    pub scope: Option<String>,
    /// The id within the scope (a stage record id for `stage`; `None` for `run`).
    pub scope_id: Option<String>,
    /// Stage record the rows belong to.
    pub workflow_stage_record_id: Option<StageRecordId>,
    /// Attempt (default 0).
    pub attempt: Option<i32>,
}

/// `kernel.annotations()`.
pub struct Annotations<'k> {
    kernel: &'k Kernel,
}

impl<'k> Annotations<'k> {
    pub(crate) fn new(kernel: &'k Kernel) -> Self {
        Annotations { kernel }
    }

    /// Writes annotations on a run in one transaction with their `annotation:created` events (causation:
    /// the idempotency key, or a fresh UUID). Returns how many rows were inserted (duplicates of an
    /// idempotency key are skipped; their events are still emitted). An empty input is a no-op.
    pub async fn attach(
        &self,
        run_id: &str,
        input: AnnotationInput,
        options: AttachOptions,
    ) -> Result<usize, KernelError> {
        input.check("annotations.attach", "input")?;
        if input.attributes.values().all(Value::is_null) {
            return Ok(0);
        }
        let causation = Kernel::causation_id(input.idempotency_key.as_deref());
        self.kernel
            .transact(&causation, async |unit| {
                let scope = AnnotationScope {
                    run_id,
                    scope: options.scope.as_deref().unwrap_or("run"),
                    scope_id: options.scope_id.as_deref(),
                    stage_record_id: options.workflow_stage_record_id.as_deref(),
                    attempt: options.attempt.unwrap_or(0),
                };
                let (rows, events) = scope.rows_for_inputs(std::slice::from_ref(&input), unit.now);
                if unit.tx.get_run(run_id).await?.is_none() {
                    return Err(KernelError::RunNotFound(run_id.into()));
                }
                let inserted = unit.tx.append_annotations(rows, unit.now).await?;
                unit.emit_all(events);
                Ok(inserted)
            })
            .await
    }

    /// A run's annotations, AND-filtered, ordered by `createdAt` then id. The deprecated run `metadata` is
    /// projected as virtual `legacy.metadata.<key>` rows while the run has no persisted ones.
    pub async fn list(
        &self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Result<Vec<AnnotationRecord>, KernelError> {
        let mut session = self.kernel.ports().store.executor().await?;
        let limit = filter.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        let mut rows = session.list_annotations(run_id, filter).await?;
        if !could_match_legacy(filter) {
            return Ok(rows);
        }
        let legacy_filter = AnnotationFilter {
            key_prefix: Some(LEGACY_PREFIX.into()),
            limit: Some(1),
            ..Default::default()
        };
        if !session
            .list_annotations(run_id, &legacy_filter)
            .await?
            .is_empty()
        {
            return Ok(rows);
        }
        let Some(run) = session.get_run(run_id).await? else {
            return Ok(rows);
        };
        let Some(Value::Object(metadata)) = &run.metadata else {
            return Ok(rows);
        };
        for (key, value) in metadata {
            let row = AnnotationRecord {
                id: format!("synthesized:{run_id}:{key}"),
                created_at: run.created_at,
                workflow_run_id: run_id.into(),
                workflow_stage_record_id: None,
                attempt: 0,
                scope: "run".into(),
                scope_id: None,
                actor_kind: None,
                actor_id: None,
                actor_version: None,
                key: format!("{LEGACY_PREFIX}{key}"),
                value: value.clone(),
                payload: None,
                idempotency_key: None,
            };
            if filter.matches(&row) {
                rows.push(row);
            }
        }
        rows.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        rows.truncate(limit);
        Ok(rows)
    }
}

/// Whether a `legacy.metadata.*` run-scoped row at attempt 0 could pass `filter`.
fn could_match_legacy(filter: &AnnotationFilter) -> bool {
    let key_ok = filter
        .key
        .as_deref()
        .is_none_or(|k| k.starts_with(LEGACY_PREFIX));
    let prefix_ok = filter
        .key_prefix
        .as_deref()
        .is_none_or(|p| p.starts_with(LEGACY_PREFIX) || LEGACY_PREFIX.starts_with(p));
    key_ok
        && prefix_ok
        && filter.scope.as_deref().is_none_or(|s| s == "run")
        && filter.scope_id.is_none()
        && filter.actor_id.is_none()
        && filter.actor_kind.is_none()
        && filter.attempt.is_none_or(|a| a == 0)
}
