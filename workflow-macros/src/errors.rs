//! Error accumulation for the macros, after serde_derive's `internals/ctxt.rs`: every check records its error
//! and carries on, and all errors are reported together at the end, so one build shows every mistake.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// A list of spanned errors collected while parsing, validating and expanding one macro invocation.
#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    /// Records an error spanned at the given tokens.
    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.list
            .push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error at a single span.
    pub fn at(&mut self, span: proc_macro2::Span, message: impl Display) {
        self.list.push(syn::Error::new(span, message));
    }

    /// Records an error that syn produced.
    pub fn push(&mut self, error: syn::Error) {
        self.list.push(error);
    }

    /// How many errors were recorded so far.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no error was recorded.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The recorded messages, in order (for unit tests).
    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.list.iter().map(ToString::to_string).collect()
    }

    /// Every recorded error as `compile_error!` invocations.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.list.iter().map(syn::Error::to_compile_error).collect()
    }
}
