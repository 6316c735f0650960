//! [`Providers`] (named [`AiProvider`]s) and [`AiSetup`] (them plus the [`ModelRegistry`]): what an
//! [`AiHelper`](super::AiHelper) calls models with.

use super::error::AiError;
use super::models::{ModelRegistry, ModelSpec};
use super::provider::AiProvider;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The providers models can name, by name.
///
/// ```
/// use workflow_core::ai::Providers;
///
/// let providers = Providers::from_env();
/// # #[cfg(feature = "ai-providers")]
/// assert_eq!(providers.names(), ["anthropic", "gemini", "openai", "openrouter"]);
/// ```
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<dyn AiProvider>>,
}

impl Providers {
    /// No providers.
    pub fn empty() -> Self {
        Providers::default()
    }

    /// The HTTP providers with their default endpoints, reading API keys (and optional base URLs) from
    /// the environment when a call is made, so a missing key fails that call, not the build:
    /// `openai` (`OPENAI_API_KEY`, `OPENAI_BASE_URL`), `openrouter` (`OPENROUTER_API_KEY`,
    /// `OPENROUTER_BASE_URL`), `anthropic` (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`) and `gemini`
    /// (`GEMINI_API_KEY` or `GOOGLE_API_KEY`, `GEMINI_BASE_URL`). Empty without the `ai-providers` feature.
    pub fn from_env() -> Self {
        #[cfg(feature = "ai-providers")]
        {
            super::providers::from_env()
        }
        #[cfg(not(feature = "ai-providers"))]
        {
            Providers::empty()
        }
    }

    /// Adds `provider` under `name` (replacing one of that name); models name it in
    /// [`ModelSpec::provider`].
    #[must_use]
    pub fn with(self, name: impl Into<String>, provider: impl AiProvider + 'static) -> Self {
        self.with_shared(name, Arc::new(provider))
    }

    /// Adds a shared provider under `name`.
    #[must_use]
    pub fn with_shared(mut self, name: impl Into<String>, provider: Arc<dyn AiProvider>) -> Self {
        self.by_name.insert(name.into(), provider);
        self
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    /// The provider `model` names; [`AiError::UnknownProvider`] otherwise.
    pub fn for_model(&self, model: &ModelSpec) -> Result<&Arc<dyn AiProvider>, AiError> {
        self.by_name
            .get(&model.provider)
            .ok_or_else(|| AiError::UnknownProvider {
                model: model.key.clone(),
                provider: model.provider.clone(),
                configured: self.names().join(", "),
            })
    }
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

/// Models and providers. [`AiSetup::default`] is the built-in models with the providers from the
/// environment ([`ModelRegistry::builtin`], [`Providers::from_env`]); give your own to
/// [`KernelBuilder::ai`](crate::kernel::KernelBuilder::ai) or [`AiHelper::with_setup`](super::AiHelper::with_setup).
///
/// ```
/// use workflow_core::ai::{AiSetup, ModelRegistry, ModelSpec, Providers};
///
/// let config = AiSetup::default().register(
///     ModelSpec::new("summarizer", "openrouter", "google/gemini-2.5-flash").prices(0.30, 2.50),
/// );
/// assert_eq!(config.models.get("summarizer")?.provider, "openrouter");
/// # Ok::<(), workflow_core::ai::AiError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AiSetup {
    /// The models stage code can name.
    pub models: ModelRegistry,
    /// The providers the models name.
    pub providers: Providers,
}

impl AiSetup {
    /// `models` served by `providers`.
    pub fn new(models: ModelRegistry, providers: Providers) -> Self {
        AiSetup { models, providers }
    }

    /// Adds (or replaces) a model.
    #[must_use]
    pub fn register(mut self, spec: ModelSpec) -> Self {
        self.models = self.models.register(spec);
        self
    }

    /// Adds (or replaces) a provider.
    #[must_use]
    pub fn provider(
        mut self,
        name: impl Into<String>,
        provider: impl AiProvider + 'static,
    ) -> Self {
        self.providers = self.providers.with(name, provider);
        self
    }

    /// The spec of `key` and the provider that serves it.
    pub(crate) fn resolve(&self, key: &str) -> Result<(&ModelSpec, &Arc<dyn AiProvider>), AiError> {
        let spec = self.models.get(key)?;
        Ok((spec, self.providers.for_model(spec)?))
    }
}

impl Default for AiSetup {
    fn default() -> Self {
        AiSetup::new(ModelRegistry::builtin(), Providers::from_env())
    }
}
