use workflow_core::prelude::*;

#[stage]
async fn extract(input: String) -> String {
    input
}

fn main() {}
