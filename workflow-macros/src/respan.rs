//! Re-spanning generated tokens at the user's tokens, so rustc reports an unsatisfied bound at the stage or
//! dependency it is about rather than at the macro invocation.

use proc_macro2::{Group, Span, TokenStream, TokenTree};

/// Every token of `tokens` (recursively) with `span`. The spans stay in the user's hygiene context, so
/// names resolve as they did.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn every_token_gets_the_span() {
        // Outside a proc macro every span is `call_site`, so the test checks the structure is preserved.
        let tokens = quote! { a::<(b, c)>() };
        assert_eq!(
            respan(tokens.clone(), Span::call_site()).to_string(),
            tokens.to_string()
        );
    }
}
