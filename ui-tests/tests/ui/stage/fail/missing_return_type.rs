use workflow_core::prelude::*;

#[stage]
async fn extract(input: String) {
    let _ = input;
}

fn main() {}
