// Two different stages with the same id (here from two modules, as when stages come from two crates).
use workflow_core::prelude::*;

mod english {
    use workflow_core::prelude::*;

    #[stage(id = "summarize")]
    pub async fn summarize(input: String) -> Result<String, StageError> {
        Ok(input)
    }
}

mod french {
    use workflow_core::prelude::*;

    #[stage(id = "summarize")]
    pub async fn resumer(input: String) -> Result<String, StageError> {
        Ok(input)
    }
}

workflow! {
    Bilingual { stages: english::summarize >> french::resumer }
}

fn main() {}
