// Stages from other modules (by path), a private stage in a public workflow, private data types, a stage
// reused by two workflows, and a parallel last group whose output is a tuple.
use workflow_core::prelude::*;

mod stages {
    use workflow_core::prelude::*;

    #[derive(Serialize, Deserialize, JsonSchema)]
    pub struct Text(pub String);

    #[stage]
    pub async fn read(input: String) -> Result<Text, StageError> {
        Ok(Text(input))
    }
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Private {
    length: usize,
}

#[stage]
async fn measure(input: stages::Text) -> Result<Private, StageError> {
    Ok(Private { length: input.0.len() })
}

#[stage]
async fn shout(ctx: &StageContext) -> Result<String, StageError> {
    Ok(ctx.require::<stages::read>()?.0.to_uppercase())
}

workflow! {
    pub Measure { stages: stages::read >> measure }
}

workflow! {
    pub(crate) Both { stages: stages::read >> (measure | shout) }
}

fn output_of<W: WorkflowIo<I, O>, I, O>(_: W) -> &'static str {
    std::any::type_name::<O>()
}

fn main() {
    assert_eq!(Measure::definition().stage_ids(), ["read", "measure"]);
    assert_eq!(Both::definition().execution_plan(), [vec!["read"], vec!["measure", "shout"]]);
    assert!(output_of(Both).ends_with("::Private, alloc::string::String)"));
}
