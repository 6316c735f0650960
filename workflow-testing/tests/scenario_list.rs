//! Every scenario fn of the conformance suite is listed in `conformance_suite!`, and every listed name is a
//! scenario of the module it is listed under, so that no backend can silently skip one.

use std::collections::BTreeSet;
use std::path::Path;

/// `(module, scenario)` for every `pub async fn name(factory: &dyn BackendFactory)` in `src/conformance/`.
fn defined() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/conformance");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("src/conformance is readable") {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for item in text.split("\npub async fn ").skip(1) {
            let (name, rest) = item.split_once('(').expect("a fn has arguments");
            let args = &rest[..rest.find(')').expect("arguments end")];
            if args.trim().starts_with("factory: &dyn BackendFactory") {
                found.insert((module.clone(), name.to_owned()));
            }
        }
    }
    found
}

/// `(module, scenario)` for every entry of the list in `__conformance_scenarios!`.
fn listed() -> BTreeSet<(String, String)> {
    let text = include_str!("../src/conformance/mod.rs");
    let start = text
        .find("__conformance_tests! { $factory;")
        .expect("the scenario list");
    let body = &text[start..];
    let body = &body[body.find(';').unwrap() + 1..body.find("\n        }\n").unwrap()];
    let mut listed = BTreeSet::new();
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        let module = rest[..open].trim().to_owned();
        let close = rest[open..].find('}').unwrap() + open;
        for scenario in rest[open + 1..close].split(',') {
            let scenario = scenario.trim();
            if !scenario.is_empty() {
                assert!(
                    listed.insert((module.clone(), scenario.to_owned())),
                    "{module}::{scenario} is listed twice"
                );
            }
        }
        rest = &rest[close + 1..];
    }
    listed
}

#[test]
fn every_scenario_is_in_the_suite_and_every_listed_one_exists() {
    let defined = defined();
    let listed = listed();
    assert!(defined.len() > 70, "found only {} scenarios", defined.len());
    let missing: Vec<_> = defined.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&defined).collect();
    assert!(
        missing.is_empty(),
        "scenarios not in conformance_suite! (add them to src/conformance/mod.rs): {missing:?}"
    );
    assert!(unknown.is_empty(), "listed but not defined: {unknown:?}");
}
