//! Workflow queries of reference §4.2 over a workflow declared with the macros.

use serde_json::json;
use workflow_core::prelude::*;
use workflow_core::presets::AiConfig;

#[derive(Serialize, Deserialize, JsonSchema)]
struct DocInput {
    url: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
struct ExtractConfig {
    max_length: usize,
    language: String,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            max_length: 50_000,
            language: "en".into(),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct RequiredConfig {
    api_key: String,
    #[serde(default)]
    retries: u8,
}

/// A config that keeps keys it does not know (they are not reported as unknown).
#[derive(Serialize, Deserialize, JsonSchema, Default)]
#[serde(default)]
struct AuditConfig {
    strict: bool,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize, JsonSchema, Default)]
#[serde(default)]
struct SummaryConfig {
    #[serde(flatten)]
    ai: AiConfig,
}

/// Extracts.
#[stage(id = "extract-text")]
async fn extract(input: DocInput, _config: ExtractConfig) -> Result<String, StageError> {
    Ok(input.url)
}

#[stage]
async fn summarize(input: String, _config: SummaryConfig) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn publish(_input: String, _config: RequiredConfig) -> Result<u32, StageError> {
    Ok(1)
}

#[stage]
async fn audit(_input: String, config: AuditConfig) -> Result<bool, StageError> {
    Ok(config.strict || config.extra.is_empty())
}

workflow! {
    /// Processes documents.
    Processor = "processor" {
        input: DocInput,
        stages: extract >> summarize >> (publish | audit),
    }
}

#[test]
fn ids_plan_groups_and_numbers() {
    let definition = Processor::definition();
    assert_eq!(definition.id(), "processor");
    assert_eq!(definition.name(), "Processor");
    assert_eq!(definition.description(), Some("Processes documents."));
    assert_eq!(
        definition.stage_ids(),
        ["extract-text", "summarize", "publish", "audit"]
    );
    assert_eq!(
        definition.execution_plan(),
        [
            vec!["extract-text"],
            vec!["summarize"],
            vec!["publish", "audit"]
        ]
    );
    assert_eq!(definition.group_count(), 3);
    assert_eq!(definition.execution_group("audit"), Some(3));
    assert_eq!(definition.execution_group("nope"), None);
    assert_eq!(definition.stage_index("publish"), Some(2));
    assert_eq!(
        definition.stage("audit").map(|node| node.stage_number()),
        Some(4)
    );
    assert_eq!(
        definition.previous_stage_id("summarize"),
        Some("extract-text")
    );
    assert_eq!(definition.previous_stage_id("extract-text"), None);
    assert!(definition.has_stage("summarize") && !definition.has_stage("summary"));
    let group3: Vec<&str> = definition
        .stages_in_group(3)
        .iter()
        .map(|node| node.stage.id())
        .collect();
    assert_eq!(group3, ["publish", "audit"]);
    assert!(definition.stages_in_group(4).is_empty());
    assert_eq!(
        definition
            .stage("extract-text")
            .unwrap()
            .stage
            .description(),
        Some("Extracts.")
    );
}

#[test]
fn default_config_holds_every_stage_with_its_defaults() {
    let defaults = Processor::definition().default_config();
    assert_eq!(
        defaults,
        json!({
            "extract-text": { "maxLength": 50000, "language": "en" },
            "summarize": { "model": "gemini-2.5-flash", "temperature": 0.7 },
            "publish": {},
            "audit": { "strict": false }
        })
    );
}

#[test]
fn validate_config_reports_every_stage_with_its_field_path() {
    let definition = Processor::definition();
    let errors = definition
        .validate_config(&json!({
            "extract-text": { "maxLength": "long" },
            "summarize": { "temperature": 9 },
            "publish": { "retries": 1 },
            "extrct-text": {}
        }))
        .unwrap_err();
    let rendered: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "extract-text: Config validation failed: at `maxLength`: invalid type: string \"long\", expected usize",
            "summarize: Config validation failed: temperature must be between 0 and 2, got 9",
            "publish: Config validation failed: missing field `apiKey`",
            "extrct-text: Config validation failed: no stage has this id (the workflow's stages are extract-text, summarize, publish, audit)",
        ]
    );
    assert!(
        errors
            .to_string()
            .starts_with("extract-text: Config validation failed: at `maxLength`")
    );
    assert!(
        definition
            .validate_config(&json!({ "publish": { "apiKey": "k" } }))
            .is_ok()
    );
    assert_eq!(
        definition
            .validate_config(&json!([1]))
            .unwrap_err()
            .to_string(),
        "(root): Config validation failed: a run config is a JSON object keyed by stage id, not an array"
    );
}

/// Every bad field of one stage is reported (not only serde's first), and so is every key the config type
/// does not have: a misspelled key would otherwise be ignored and its default used silently.
#[test]
fn validate_config_reports_every_field_and_every_unknown_key() {
    let definition = Processor::definition();
    let errors = definition
        .validate_config(&json!({
            "extract-text": { "maxLenght": 10, "maxLength": "long", "language": 7 },
            "summarize": { "temperature": 0.5, "model": "m", "topP": 1 },
            "publish": { "apiKey": 3, "retries": "x", "extra": true },
            "audit": { "strict": true, "reviewer": "ana" }
        }))
        .unwrap_err();
    let rendered: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "extract-text: Config validation failed: at `maxLenght`: unknown field, expected one of `language`, `maxLength`",
            "extract-text: Config validation failed: at `language`: invalid type: integer `7`, expected a string",
            "extract-text: Config validation failed: at `maxLength`: invalid type: string \"long\", expected usize",
            "summarize: Config validation failed: at `topP`: unknown field, expected one of `maxTokens`, `model`, `temperature`",
            "publish: Config validation failed: at `extra`: unknown field, expected one of `apiKey`, `retries`",
            "publish: Config validation failed: at `apiKey`: invalid type: integer `3`, expected a string",
            "publish: Config validation failed: at `retries`: invalid type: string \"x\", expected u8",
        ]
    );
}

#[test]
fn workflow_input_is_validated_with_the_field_path() {
    let definition = Processor::definition();
    assert!(
        definition
            .validate_input(&json!({ "url": "https://x" }))
            .is_ok()
    );
    assert_eq!(
        definition.validate_input(&json!({ "url": 5 })).unwrap_err(),
        "at `url`: invalid type: integer `5`, expected a string"
    );
    assert_eq!(
        definition.validate_input(&json!({})).unwrap_err(),
        "missing field `url`"
    );
}

#[test]
fn json_schemas_cover_the_workflow_and_every_stage() {
    let definition = Processor::definition();
    let schemas = definition.json_schemas();
    assert_eq!(schemas["input"]["properties"]["url"]["type"], "string");
    assert_eq!(schemas["input"]["required"], json!(["url"]));
    // The output of a parallel last group is the tuple of its outputs.
    assert_eq!(schemas["output"]["type"], "array");
    assert_eq!(
        schemas["stages"]["extract-text"]["config"]["properties"]["maxLength"]["default"],
        50000
    );
    assert_eq!(
        schemas["stages"]["summarize"]["config"]["properties"]["temperature"]["maximum"],
        2.0
    );
    assert_eq!(
        schemas["stages"]["publish"]["config"]["required"],
        json!(["apiKey"])
    );
    assert_eq!(schemas["stages"]["publish"]["output"]["type"], "integer");
    assert_eq!(schemas["stages"]["audit"]["input"]["type"], "string");
    assert!(schemas["stages"]["audit"].get("state").is_none());
    let stage_ids: Vec<&str> = definition
        .stage_schemas()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(stage_ids, definition.stage_ids());
}

#[test]
fn a_parallel_last_group_is_stored_as_an_object_and_typed_as_a_tuple() {
    let definition = Processor::definition();
    let stored = json!({ "publish": 7, "audit": true });
    assert_eq!(definition.output_as_typed_json(&stored), json!([7, true]));
    let typed: (u32, bool) = workflow_core::decode_output(&definition, &stored).unwrap();
    assert_eq!(typed, (7, true));
    let missing =
        workflow_core::decode_output::<(u32, bool)>(&definition, &json!({ "publish": 7 }));
    assert_eq!(
        missing.unwrap_err(),
        "at `[1]`: invalid type: null, expected a boolean"
    );
}
