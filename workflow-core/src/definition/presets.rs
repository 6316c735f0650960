//! Config presets (reference §4.3): reusable config structs to `#[serde(flatten)]` into a stage's config.
//! JSON field names are camelCase, as in the TypeScript engine, so configs written by either side match.
//!
//! ```
//! use workflow_core::prelude::*;
//! use workflow_core::presets::{AiConfig, ConcurrencyConfig};
//!
//! #[derive(Debug, Serialize, Deserialize, JsonSchema, Default)]
//! #[serde(default, rename_all = "camelCase")]
//! pub struct SummarizeConfig {
//!     #[serde(flatten)]
//!     pub ai: AiConfig,
//!     #[serde(flatten)]
//!     pub concurrency: ConcurrencyConfig,
//!     pub max_sentences: u32,
//! }
//!
//! let config: SummarizeConfig = serde_json::from_value(serde_json::json!({ "temperature": 0.2 })).unwrap();
//! assert_eq!(config.ai.model, "gemini-2.5-flash");
//! assert_eq!(config.ai.temperature, 0.2);
//! assert_eq!(config.concurrency.concurrency, 5);
//!
//! let bad = serde_json::from_value::<SummarizeConfig>(serde_json::json!({ "temperature": 3.0 }));
//! assert!(bad.unwrap_err().to_string().contains("temperature must be between 0 and 2"));
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The default model key.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash";

fn temperature<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if (0.0..=2.0).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "temperature must be between 0 and 2, got {value}"
        )))
    }
}

fn positive_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = u32::deserialize(deserializer)?;
    if value > 0 {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(
            "must be a positive integer, got 0",
        ))
    }
}

fn optional_positive_u32<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom(
            "must be a positive integer, got 0",
        )),
        other => Ok(other),
    }
}

/// AI model settings (`AIConfigSchema`): model key, temperature (0–2) and an optional token limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AiConfig {
    /// Model key (default `gemini-2.5-flash`).
    pub model: String,
    /// Sampling temperature, 0 to 2 (default 0.7).
    #[serde(deserialize_with = "temperature")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: f64,
    /// Maximum output tokens (positive), if limited.
    #[serde(
        deserialize_with = "optional_positive_u32",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub max_tokens: Option<u32>,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            model: DEFAULT_MODEL.to_owned(),
            temperature: 0.7,
            max_tokens: None,
        }
    }
}

/// Model and temperature only (`MinimalAIConfigSchema`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MinimalAiConfig {
    /// Model key (default `gemini-2.5-flash`).
    pub model: String,
    /// Sampling temperature, 0 to 2 (default 0.7).
    #[serde(deserialize_with = "temperature")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: f64,
}

impl Default for MinimalAiConfig {
    fn default() -> Self {
        MinimalAiConfig {
            model: DEFAULT_MODEL.to_owned(),
            temperature: 0.7,
        }
    }
}

/// Concurrency settings (`ConcurrencyConfigSchema`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ConcurrencyConfig {
    /// Parallel requests (positive, default 5).
    #[serde(deserialize_with = "positive_u32")]
    #[schemars(range(min = 1))]
    pub concurrency: u32,
    /// Delay between requests in ms (default 0).
    pub delay_ms: u64,
    /// Retries per request (default 3).
    pub max_retries: u32,
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        ConcurrencyConfig {
            concurrency: 5,
            delay_ms: 0,
            max_retries: 3,
        }
    }
}

/// Named boolean switches (`FeatureFlagsConfigSchema`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FeatureFlagsConfig {
    /// Flag name → enabled (default empty).
    pub feature_flags: BTreeMap<String, bool>,
}

impl FeatureFlagsConfig {
    /// Whether `flag` is set to true.
    pub fn is_enabled(&self, flag: &str) -> bool {
        self.feature_flags.get(flag).copied().unwrap_or(false)
    }
}

/// Debug switches (`DebugConfigSchema`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DebugConfig {
    /// Verbose logging (default false).
    pub verbose: bool,
    /// Do everything but the side effects (default false).
    pub dry_run: bool,
}

/// AI + concurrency + feature flags (`withStandardConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct StandardConfig {
    /// AI settings.
    #[serde(flatten)]
    pub ai: AiConfig,
    /// Concurrency settings.
    #[serde(flatten)]
    pub concurrency: ConcurrencyConfig,
    /// Feature flags.
    #[serde(flatten)]
    pub flags: FeatureFlagsConfig,
}

/// Standard config + debug switches (`withFullConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FullConfig {
    /// AI, concurrency and flags.
    #[serde(flatten)]
    pub standard: StandardConfig,
    /// Debug switches.
    #[serde(flatten)]
    pub debug: DebugConfig,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_the_typescript_presets() {
        let full: FullConfig = serde_json::from_value(json!({})).unwrap();
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            json!({
                "model": "gemini-2.5-flash", "temperature": 0.7,
                "concurrency": 5, "delayMs": 0, "maxRetries": 3,
                "featureFlags": {}, "verbose": false, "dryRun": false
            })
        );
    }

    #[test]
    fn ranges_are_enforced() {
        assert!(serde_json::from_value::<AiConfig>(json!({"temperature": 2.5})).is_err());
        assert!(serde_json::from_value::<AiConfig>(json!({"maxTokens": 0})).is_err());
        assert!(serde_json::from_value::<ConcurrencyConfig>(json!({"concurrency": 0})).is_err());
        let ai: AiConfig =
            serde_json::from_value(json!({"maxTokens": 10, "temperature": 2})).unwrap();
        assert_eq!((ai.max_tokens, ai.temperature), (Some(10), 2.0));
    }

    #[test]
    fn schemas_carry_defaults() {
        let schema = schemars::schema_for!(ConcurrencyConfig).to_value();
        assert_eq!(schema["properties"]["concurrency"]["default"], 5);
        assert_eq!(schema["properties"]["delayMs"]["default"], 0);
    }

    #[test]
    fn feature_flags_lookup() {
        let flags: FeatureFlagsConfig =
            serde_json::from_value(json!({"featureFlags": {"a": true, "b": false}})).unwrap();
        assert!(flags.is_enabled("a") && !flags.is_enabled("b") && !flags.is_enabled("c"));
    }
}
