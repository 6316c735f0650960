use workflow_core::prelude::*;

#[stage]
struct Extract;

fn main() {}
