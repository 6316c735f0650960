// Every accepted parameter list, and the defaults derived from the fn.
use workflow_core::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct DocInput {
    url: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Default)]
struct ExtractConfig {
    #[serde(default = "default_max")]
    max_length: usize,
}

fn default_max() -> usize {
    1000
}

/// Extracts text.
///
/// Second paragraph.
#[stage]
async fn extract_text(ctx: &StageContext, input: DocInput, config: ExtractConfig) -> Result<String, StageError> {
    ctx.info("extracting");
    Ok(input.url.chars().take(config.max_length).collect())
}

#[stage(id = "no-ctx", name = "No Context")]
async fn without_context(input: String) -> Result<usize, StageError> {
    Ok(input.len())
}

#[stage]
async fn context_only(ctx: &StageContext) -> Result<u8, StageError> {
    let _ = ctx.stage_id();
    Ok(1)
}

#[stage]
async fn explicit_unit(_ctx: &StageContext, _input: (), _config: ExtractConfig) -> Result<(), StageError> {
    Ok(())
}

#[stage]
async fn nothing() -> Result<(), StageError> {
    Ok(())
}

#[derive(Debug)]
struct CustomError;

impl std::fmt::Display for CustomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("custom")
    }
}

impl std::error::Error for CustomError {}

// Any error type that converts into `StageError` is accepted.
#[stage]
async fn custom_error(input: String) -> Result<String, CustomError> {
    if input.is_empty() { Err(CustomError) } else { Ok(input) }
}

fn main() {
    assert_eq!(<extract_text as Stage>::ID, "extract-text");
    assert_eq!(<extract_text as Stage>::NAME, "Extract Text");
    assert_eq!(<extract_text as Stage>::DESCRIPTION, Some("Extracts text.\n\nSecond paragraph."));
    assert_eq!(<without_context as Stage>::ID, "no-ctx");
    assert_eq!(<without_context as Stage>::NAME, "No Context");
    assert_eq!(<nothing as Stage>::DESCRIPTION, None);
    assert_eq!(<context_only as Stage>::MODE, workflow_core::StageMode::Sync);
    let _: fn() -> ExtractConfig = ExtractConfig::default;
    let _ = custom_error;
}
