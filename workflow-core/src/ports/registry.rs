//! The [`WorkflowRegistry`] port and [`Registry`], the map of workflows a kernel can run.

use crate::definition::workflow::{Workflow, WorkflowDefinition};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Looks up workflow definitions by id.
pub trait WorkflowRegistry: Send + Sync {
    /// The definition of workflow `id`.
    fn workflow(&self, id: &str) -> Option<Arc<WorkflowDefinition>>;
    /// Every registered workflow id.
    fn workflow_ids(&self) -> Vec<String>;
}

/// A fixed set of workflows.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::ports::{Registry, WorkflowRegistry};
///
/// #[stage]
/// async fn step(input: u32) -> Result<u32, StageError> { Ok(input) }
/// workflow! { Steps { stages: step } }
///
/// let registry = Registry::new().with::<Steps>();
/// assert!(registry.workflow("steps").is_some());
/// assert!(registry.workflow("other").is_none());
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    workflows: BTreeMap<String, Arc<WorkflowDefinition>>,
}

/// Two workflows with one id were registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("workflow id {0} is registered twice")]
pub struct DuplicateWorkflow(pub String);

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds workflow `W`.
    ///
    /// # Panics
    /// If a workflow with the same id is already registered (a programming error caught at start-up);
    /// use [`register`](Registry::register) to handle it instead.
    #[must_use]
    pub fn with<W: Workflow>(mut self) -> Self {
        if let Err(error) = self.register(W::definition()) {
            panic!("{error}");
        }
        self
    }

    /// Adds a definition; refuses a second workflow with the same id.
    pub fn register(&mut self, definition: WorkflowDefinition) -> Result<(), DuplicateWorkflow> {
        let id = definition.id().to_owned();
        if self.workflows.contains_key(&id) {
            return Err(DuplicateWorkflow(id));
        }
        self.workflows.insert(id, Arc::new(definition));
        Ok(())
    }
}

impl WorkflowRegistry for Registry {
    fn workflow(&self, id: &str) -> Option<Arc<WorkflowDefinition>> {
        self.workflows.get(id).cloned()
    }

    fn workflow_ids(&self) -> Vec<String> {
        self.workflows.keys().cloned().collect()
    }
}
