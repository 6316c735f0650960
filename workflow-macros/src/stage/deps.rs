//! Finds the stages a body reads with `ctx.require::<X>()` (or `StageContext::require::<X>(ctx)`), by a scan
//! of the tokens. The scan descends into every group, so calls inside closures, blocks and macro invocations
//! (`format!`, `tokio::join!`, ...) are found too. Calls it cannot see (in helper fns) are declared with
//! `deps = [..]`; a `require` of an undeclared stage then fails to compile because of the `Requires` bound.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Every `X` in `.require::<X>()` / `::require::<X>(..)` within `body`, in source order, keeping the user's spans.
pub fn scan_requires(body: TokenStream) -> Vec<syn::Type> {
    let mut found = Vec::new();
    scan(body, "require", &mut found);
    found
}

/// Every `X` in `.optional::<X>()` / `::optional::<X>(..)` within `body` (stages read when present; the
/// engine loads their outputs but does not require them to run earlier).
pub fn scan_optionals(body: TokenStream) -> Vec<syn::Type> {
    let mut found = Vec::new();
    scan(body, "optional", &mut found);
    found
}

fn is_punct(tree: Option<&TokenTree>, ch: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

fn scan(stream: TokenStream, method: &str, found: &mut Vec<syn::Type>) {
    let trees: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        if let TokenTree::Group(group) = &trees[i] {
            scan(group.stream(), method, found);
            i += 1;
            continue;
        }
        let is_require = matches!(&trees[i], TokenTree::Ident(ident) if ident == method);
        let after_receiver =
            i >= 1 && (is_punct(trees.get(i - 1), '.') || is_punct(trees.get(i - 1), ':'));
        let turbofish = is_punct(trees.get(i + 1), ':')
            && is_punct(trees.get(i + 2), ':')
            && is_punct(trees.get(i + 3), '<');
        if is_require
            && after_receiver
            && turbofish
            && let Some((ty, end)) = generic_argument(&trees, i + 4)
            && matches!(trees.get(end), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        {
            found.push(ty);
            i = end;
            continue;
        }
        i += 1;
    }
}

/// Parses the tokens from `start` up to the `>` closing a turbofish as one type; returns it and the index after `>`.
fn generic_argument(trees: &[TokenTree], start: usize) -> Option<(syn::Type, usize)> {
    let mut depth = 0usize;
    let mut j = start;
    while j < trees.len() {
        match &trees[j] {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => {
                // `->` inside `fn() -> T` types is not a closing bracket.
                let arrow =
                    j > 0 && matches!(&trees[j - 1], TokenTree::Punct(q) if q.as_char() == '-');
                if !arrow {
                    if depth == 0 {
                        let tokens: TokenStream = trees[start..j].iter().cloned().collect();
                        return syn::parse2(tokens).ok().map(|ty| (ty, j + 1));
                    }
                    depth -= 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn names(body: TokenStream) -> Vec<String> {
        scan_requires(body)
            .iter()
            .map(|ty| ty.to_token_stream().to_string())
            .collect()
    }

    #[test]
    fn finds_method_calls_with_turbofish() {
        let body = quote! {
            let a = ctx.require::<extract_text>()?;
            let b: &X = context.require::<crate::stages::keywords>().unwrap();
        };
        assert_eq!(names(body), ["extract_text", "crate :: stages :: keywords"]);
    }

    #[test]
    fn finds_calls_inside_closures_blocks_and_macros() {
        let body = quote! {
            let f = || { ctx.require::<a>() };
            tokio::join!(async { ctx.require::<b>() }, other());
            println!("{:?}", ctx.require::<c>());
        };
        assert_eq!(names(body), ["a", "b", "c"]);
    }

    #[test]
    fn finds_path_calls() {
        assert_eq!(names(quote! { StageContext::require::<a>(ctx) }), ["a"]);
    }

    #[test]
    fn ignores_optional_other_methods_and_calls_without_turbofish() {
        let body = quote! {
            ctx.optional::<a>();
            ctx.require_all();
            ctx.require(x);
            require::<b>;
            let require = 5;
        };
        assert!(names(body).is_empty());
    }

    #[test]
    fn generic_types_inside_the_turbofish_are_kept_whole() {
        let body = quote! { ctx.require::<m::Wrapper<fn(u8) -> u8>>() };
        assert_eq!(names(body), ["m :: Wrapper < fn (u8) -> u8 >"]);
    }
}
