//! Parsing of the `#[stage(...)]` arguments: `id`, `name`, `description`, `deps`, `check_completion`.
//! Every problem is recorded in [`Errors`] and parsing carries on, so all of them are reported at once.

use crate::errors::Errors;
use crate::naming::{unknown_key_message, validate_id};
use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token};

/// The keys `#[stage(...)]` accepts.
pub const KNOWN_KEYS: &[&str] = &["id", "name", "description", "deps", "check_completion"];

/// The parsed arguments of one `#[stage(...)]`.
#[derive(Default)]
pub struct StageArgs {
    /// `id = "..."`: the stage id (validated); defaults to the fn name in kebab-case.
    pub id: Option<LitStr>,
    /// `name = "..."`: the display name; defaults to the fn name in Title Case.
    pub name: Option<LitStr>,
    /// `description = "..."`: overrides the doc comment.
    pub description: Option<LitStr>,
    /// `deps = [a, b]`: dependencies declared in addition to the scanned `ctx.require::<_>()` calls.
    pub deps: Vec<syn::Type>,
    /// `check_completion = path`: makes the stage an async-batch stage polled by that fn.
    pub check_completion: Option<syn::Path>,
}

/// Parses the attribute arguments, recording every error.
pub fn parse(tokens: TokenStream, errors: &mut Errors) -> StageArgs {
    let mut args = StageArgs::default();
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            parse_entry(input, &mut args, errors)?;
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(err) = parser.parse2(tokens) {
        errors.push(err);
    }
    args
}

fn parse_entry(input: ParseStream, args: &mut StageArgs, errors: &mut Errors) -> syn::Result<()> {
    let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
    let name = key.to_string();
    if !KNOWN_KEYS.contains(&name.as_str()) {
        errors.spanned(
            &key,
            unknown_key_message("`#[stage]` argument", &name, KNOWN_KEYS),
        );
        skip_value(input)?;
        return Ok(());
    }
    if !input.peek(Token![=]) {
        errors.spanned(&key, format!("`{name}` needs a value: `{name} = ...`"));
        return Ok(());
    }
    input.parse::<Token![=]>()?;
    match name.as_str() {
        "id" => {
            let lit: LitStr = input.parse()?;
            if let Err(reason) = validate_id(&lit.value()) {
                errors.spanned(
                    &lit,
                    format!("invalid stage id {:?}: {reason}", lit.value()),
                );
            }
            set_once(&mut args.id, lit, &key, errors);
        }
        "name" | "description" => {
            let lit: LitStr = input.parse()?;
            if lit.value().trim().is_empty() {
                errors.spanned(&lit, format!("`{name}` cannot be empty"));
            }
            let slot = if name == "name" {
                &mut args.name
            } else {
                &mut args.description
            };
            set_once(slot, lit, &key, errors);
        }
        "deps" => {
            let content;
            syn::bracketed!(content in input);
            let deps = Punctuated::<syn::Type, Token![,]>::parse_terminated(&content)?;
            if !args.deps.is_empty() {
                errors.spanned(
                    &key,
                    "duplicate `deps`; list every dependency in one `deps = [..]`",
                );
            }
            args.deps.extend(deps);
        }
        "check_completion" => {
            let path: syn::Path = input.parse()?;
            set_once(&mut args.check_completion, path, &key, errors);
        }
        _ => unreachable!("every known key is handled"),
    }
    Ok(())
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &syn::Ident, errors: &mut Errors) {
    if slot.is_some() {
        errors.spanned(key, format!("duplicate `{key}`"));
    } else {
        *slot = Some(value);
    }
}

/// Skips the value of an unknown key (`= expr` or a parenthesised list) so parsing can go on.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<syn::Expr>()?;
    } else if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn parse_ok(tokens: TokenStream) -> StageArgs {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        assert!(
            errors.is_empty(),
            "unexpected errors: {:?}",
            errors.messages()
        );
        args
    }

    fn parse_err(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(tokens, &mut errors);
        errors.messages()
    }

    #[test]
    fn parses_every_key() {
        let args = parse_ok(quote! {
            id = "extract-text", name = "Extract", description = "Reads.", deps = [a, m::b], check_completion = poll,
        });
        assert_eq!(args.id.unwrap().value(), "extract-text");
        assert_eq!(args.name.unwrap().value(), "Extract");
        assert_eq!(args.description.unwrap().value(), "Reads.");
        let deps: Vec<String> = args
            .deps
            .iter()
            .map(|d| d.to_token_stream().to_string())
            .collect();
        assert_eq!(deps, ["a", "m :: b"]);
        assert_eq!(
            args.check_completion.unwrap().to_token_stream().to_string(),
            "poll"
        );
    }

    #[test]
    fn empty_arguments_are_fine() {
        let args = parse_ok(quote! {});
        assert!(args.id.is_none() && args.deps.is_empty() && args.check_completion.is_none());
    }

    #[test]
    fn reports_every_unknown_key_and_bad_id_together() {
        let messages = parse_err(quote! { idd = "x", id = "bad id", retries(3), name = "" });
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("unknown `#[stage]` argument `idd`; did you mean `id`?"));
        assert!(messages[1].starts_with("invalid stage id \"bad id\""));
        assert!(messages[2].starts_with("unknown `#[stage]` argument `retries`"));
        assert_eq!(messages[3], "`name` cannot be empty");
    }

    #[test]
    fn duplicate_keys_and_missing_values_are_errors() {
        let messages = parse_err(quote! { id = "a", id = "b", name });
        assert_eq!(
            messages,
            ["duplicate `id`", "`name` needs a value: `name = ...`"]
        );
    }

    #[test]
    fn malformed_values_are_syntax_errors() {
        let messages = parse_err(quote! { id = 5 });
        assert_eq!(messages, ["expected string literal"]);
    }
}
