//! Compile-pass and compile-fail cases of `#[stage]` and `workflow!`, run by trybuild. The `.stderr`
//! snapshots quote rustc's exact wording, so they are pinned to the toolchain in `rust-toolchain.toml`.
//! They are also the test of DESIGN §5.2: missing dependencies, type mismatches and duplicate ids are
//! compile errors.

use std::process::Command;

/// The rustc release the snapshots were taken with.
const PINNED_RUSTC: &str = "1.95.0";

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("--version")
        .output()
        .expect("running `rustc --version`");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn ui_design_difference_2_stage_graph_mistakes_do_not_compile() {
    let version = rustc_version();
    assert!(
        version.starts_with(&format!("rustc {PINNED_RUSTC} ")),
        "the UI snapshots are pinned to rustc {PINNED_RUSTC} (see rust-toolchain.toml), but this build uses `{version}`; \
         run with `cargo +{PINNED_RUSTC} test`, or regenerate the snapshots with TRYBUILD=overwrite and review them"
    );
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/stage/pass/*.rs");
    cases.pass("tests/ui/workflow/pass/*.rs");
    cases.compile_fail("tests/ui/stage/fail/*.rs");
    cases.compile_fail("tests/ui/workflow/fail/*.rs");
}
