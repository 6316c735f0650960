//! [`StageError`]: what a stage body, a `check_completion` fn or the engine's own checks report when a stage
//! fails.

use std::fmt;

/// A stage failure: a message, an optional error name and whether a retry may help.
///
/// `?` converts any `std::error::Error` into a `StageError` (with the source chain in the message), so stage
/// bodies can use `?` on I/O, HTTP or JSON errors. Like `anyhow::Error`, `StageError` does not itself
/// implement `std::error::Error`; that is what makes the blanket conversion possible.
///
/// ```
/// use workflow_core::StageError;
///
/// let retry = StageError::new("rate limited");
/// assert!(retry.is_retryable());
/// let fatal = StageError::fatal("document is empty").with_name("ValidationError");
/// assert!(!fatal.is_retryable());
/// assert_eq!(fatal.to_string(), "ValidationError: document is empty");
///
/// fn parse(text: &str) -> Result<u32, StageError> {
///     Ok(text.parse::<u32>()?)
/// }
/// assert_eq!(parse("x").unwrap_err().message(), "invalid digit found in string");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct StageError {
    message: String,
    name: Option<String>,
    retryable: Option<bool>,
}

impl StageError {
    /// A failure that the host may retry (up to the job's `maxAttempts`).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            name: None,
            retryable: None,
        }
    }

    /// A failure that no retry can fix (bad input, invalid configuration, a rejected document).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            name: None,
            retryable: Some(false),
        }
    }

    /// A failure that is explicitly worth retrying (a timeout, a rate limit).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            name: None,
            retryable: Some(true),
        }
    }

    /// Sets the error's name, shown before the message (`"<name>: <message>"`) in the stage's `errorMessage`,
    /// as the TypeScript engine shows `TypeError: ...`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Marks the error as not retryable.
    #[must_use]
    pub fn non_retryable(mut self) -> Self {
        self.retryable = Some(false);
        self
    }

    /// The message without the name.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error's name, if one was set.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether a retry may help: true unless the error was made with [`StageError::fatal`] or marked
    /// [`non_retryable`](StageError::non_retryable).
    pub fn is_retryable(&self) -> bool {
        self.retryable != Some(false)
    }

    /// The explicit retry decision, if any (`None` means "the host decides", which is to retry).
    pub fn retryable_hint(&self) -> Option<bool> {
        self.retryable
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl fmt::Debug for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageError")
            .field("message", &self.message)
            .field("name", &self.name)
            .field("retryable", &self.retryable)
            .finish()
    }
}

impl<E> From<E> for StageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        StageError::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn conversion_keeps_the_source_chain() {
        let error: StageError = Outer(std::io::Error::other("disk full")).into();
        assert_eq!(error.message(), "outer failed: disk full");
        assert!(error.is_retryable());
        assert_eq!(error.retryable_hint(), None);
    }

    #[test]
    fn names_prefix_the_display() {
        assert_eq!(StageError::new("x").to_string(), "x");
        assert_eq!(
            StageError::new("x").with_name("TypeError").to_string(),
            "TypeError: x"
        );
        assert!(!StageError::new("x").non_retryable().is_retryable());
        assert_eq!(StageError::retryable("x").retryable_hint(), Some(true));
    }
}
