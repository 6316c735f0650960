//! Items the macro expansions name (`::workflow_core::__private::…`). Not a public API: it may change in any
//! release.

pub use crate::definition::checks::{
    ContextInput, FirstInputMatches, InWorkflow, InputKind, InputMatches, Member, Requires,
    StageConfigData, StageInputData, StageOutputData, StageStateData, Succ, TypedInput, Upstream,
    Zero, assert_first_input, assert_input, str_eq,
};
pub use crate::definition::context::{CheckContext, StageContext};
pub use crate::definition::dyn_stage::StageHandle;
pub use crate::definition::error::StageError;
pub use crate::definition::stage::{
    BatchReturn, BatchStep, Completion, NoConfig, Stage, StageFnReturn, StageMode,
};
pub use crate::definition::workflow::{Workflow, WorkflowDefinition, WorkflowIo};
