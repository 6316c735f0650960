use workflow_core::prelude::*;

workflow! {
    Nothing { name: "Nothing" }
}

workflow! {
    Empty { stages: }
}

workflow! {
    EmptyGroup { stages: () }
}

// The workflow types still exist, so code naming them does not fail a second time.
fn main() {
    let _ = (Nothing, Empty, EmptyGroup);
}
