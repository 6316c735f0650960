//! Parsing of `workflow! { /// doc  pub Name = "id" { name: "..", input: T, stages: a >> (b | c) >> d } }`.
//! Errors inside the body are recorded and parsing resumes at the next `,`, so every mistake is reported.

use crate::errors::Errors;
use crate::naming::unknown_key_message;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Path, Token, Type, Visibility};

/// The keys a workflow body accepts.
pub const KNOWN_KEYS: &[&str] = &["name", "description", "input", "stages"];

/// One parsed `workflow!` invocation.
pub struct WorkflowDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub id: Option<LitStr>,
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub input: Option<Type>,
    /// `None` when `stages:` is missing or could not be parsed.
    pub stages: Option<Chain>,
    /// Whether a `stages:` entry was present (even if it failed to parse).
    pub stages_key_seen: bool,
}

/// `a >> (b | c) >> d`: groups in execution order.
pub struct Chain {
    pub groups: Vec<Group>,
}

/// One execution group.
pub enum Group {
    /// A stage that runs alone.
    Single(Path),
    /// `(b | c)`: stages that run concurrently.
    Parallel(Vec<Path>),
}

impl Group {
    /// The stages of the group, in written order.
    pub fn stages(&self) -> &[Path] {
        match self {
            Group::Single(path) => std::slice::from_ref(path),
            Group::Parallel(paths) => paths,
        }
    }
}

/// The header (`attrs vis Name = "id"`) must parse; the body is parsed with error recovery.
pub fn parse(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> syn::Result<WorkflowDef> {
    let parser = |input: ParseStream| -> syn::Result<WorkflowDef> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the workflow's type name, as in `workflow! { pub MyWorkflow = \"my-workflow\" { .. } }`")
        })?;
        let id = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<LitStr>()?)
        } else {
            None
        };
        let mut def = WorkflowDef {
            attrs,
            vis,
            ident,
            id,
            name: None,
            description: None,
            input: None,
            stages: None,
            stages_key_seen: false,
        };
        let body;
        syn::braced!(body in input);
        while !body.is_empty() {
            if let Err(err) = parse_entry(&body, &mut def, errors) {
                errors.push(err);
                skip_to_comma(&body);
            }
            if !body.is_empty() {
                body.parse::<Token![,]>()?;
            }
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the workflow body; `workflow!` defines one workflow",
            ));
        }
        Ok(def)
    };
    syn::parse::Parser::parse2(parser, tokens)
}

fn parse_entry(body: ParseStream, def: &mut WorkflowDef, errors: &mut Errors) -> syn::Result<()> {
    let key: Ident = body.call(syn::ext::IdentExt::parse_any)?;
    let key_name = key.to_string();
    if !KNOWN_KEYS.contains(&key_name.as_str()) {
        errors.spanned(
            &key,
            unknown_key_message("workflow key", &key_name, KNOWN_KEYS),
        );
        skip_to_comma(body);
        return Ok(());
    }
    body.parse::<Token![:]>()?;
    let duplicate = |errors: &mut Errors| errors.spanned(&key, format!("duplicate `{key_name}`"));
    match key_name.as_str() {
        "name" | "description" => {
            let lit: LitStr = body.parse()?;
            if lit.value().trim().is_empty() {
                errors.spanned(&lit, format!("`{key_name}` cannot be empty"));
            }
            let slot = if key_name == "name" {
                &mut def.name
            } else {
                &mut def.description
            };
            if slot.is_some() {
                duplicate(errors);
            }
            *slot = Some(lit);
        }
        "input" => {
            let ty: Type = body.parse()?;
            if def.input.is_some() {
                duplicate(errors);
            }
            def.input = Some(ty);
        }
        "stages" => {
            if def.stages_key_seen {
                duplicate(errors);
            }
            def.stages_key_seen = true;
            def.stages = Some(body.parse()?);
        }
        _ => unreachable!("every known key is handled"),
    }
    Ok(())
}

/// Skips tokens up to (not including) the next top-level `,`.
fn skip_to_comma(body: ParseStream) {
    let _ = body.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

fn parse_stage_path(input: ParseStream) -> syn::Result<Path> {
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            input.span(),
            "expected a stage (a `#[stage]` fn name)",
        ));
    }
    Path::parse_mod_style(input)
        .map_err(|e| syn::Error::new(e.span(), "expected a stage (a `#[stage]` fn name)"))
}

fn parse_parallel(content: ParseStream) -> syn::Result<Vec<Path>> {
    let mut stages = vec![parse_stage_path(content)?];
    while !content.is_empty() {
        if content.peek(Token![>>]) {
            return Err(content.error(
                "a parallel group holds single stages `(a | b)`; it cannot contain a `>>` chain",
            ));
        }
        content.parse::<Token![|]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `|` between the stages of a parallel group",
            )
        })?;
        stages.push(parse_stage_path(content)?);
    }
    Ok(stages)
}

impl Parse for Group {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Paren) {
            let content;
            let parens = syn::parenthesized!(content in input);
            if content.is_empty() {
                return Err(syn::Error::new(
                    parens.span.join(),
                    "empty parallel group: list its stages as `(a | b)`",
                ));
            }
            let parsed = parse_parallel(&content);
            if parsed.is_err() {
                // Consume the rest of the group so syn does not report it a second time as unexpected.
                let _ = content.parse::<proc_macro2::TokenStream>();
            }
            let mut stages = parsed?;
            return Ok(if stages.len() == 1 {
                Group::Single(stages.remove(0))
            } else {
                Group::Parallel(stages)
            });
        }
        Ok(Group::Single(parse_stage_path(input)?))
    }
}

impl Parse for Chain {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                input.span(),
                "a workflow needs at least one stage: `stages: a >> b`",
            ));
        }
        let mut groups = vec![input.parse::<Group>()?];
        loop {
            if input.is_empty() || input.peek(Token![,]) {
                break;
            }
            if input.peek(Token![>>]) {
                input.parse::<Token![>>]>()?;
                groups.push(input.parse()?);
                continue;
            }
            if input.peek(Token![|]) {
                return Err(input.error("parallel stages go in parentheses: `(a | b)`"));
            }
            return Err(input.error("expected `>>` between the groups of a workflow"));
        }
        Ok(Chain { groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn parse_ok(tokens: proc_macro2::TokenStream) -> WorkflowDef {
        let mut errors = Errors::default();
        let def = parse(tokens, &mut errors).expect("header parses");
        assert!(errors.is_empty(), "{:?}", errors.messages());
        def
    }

    fn shape(chain: &Chain) -> Vec<Vec<String>> {
        chain
            .groups
            .iter()
            .map(|g| {
                g.stages()
                    .iter()
                    .map(|p| p.to_token_stream().to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn parses_the_full_form() {
        let def = parse_ok(quote! {
            /// Docs.
            pub DocumentProcessor = "document-processor" {
                name: "Document Processor",
                input: DocInput,
                stages: extract_text >> summarize >> (sentiment | m::keywords) >> aggregate,
            }
        });
        assert_eq!(def.ident, "DocumentProcessor");
        assert_eq!(def.id.unwrap().value(), "document-processor");
        assert_eq!(def.name.unwrap().value(), "Document Processor");
        assert_eq!(def.input.unwrap().to_token_stream().to_string(), "DocInput");
        assert_eq!(
            shape(def.stages.as_ref().unwrap()),
            [
                vec!["extract_text"],
                vec!["summarize"],
                vec!["sentiment", "m :: keywords"],
                vec!["aggregate"]
            ]
        );
        assert_eq!(def.attrs.len(), 1);
    }

    #[test]
    fn id_and_other_keys_are_optional() {
        let def = parse_ok(quote! { W { stages: a } });
        assert!(def.id.is_none() && def.name.is_none() && def.input.is_none());
        assert_eq!(shape(def.stages.as_ref().unwrap()), [vec!["a"]]);
    }

    #[test]
    fn a_parenthesised_single_stage_is_a_single_group() {
        let def = parse_ok(quote! { W { stages: (a) >> b } });
        assert!(matches!(def.stages.unwrap().groups[0], Group::Single(_)));
    }

    fn body_errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(tokens, &mut errors).expect("header parses");
        errors.messages()
    }

    #[test]
    fn body_errors_are_all_collected() {
        let messages =
            body_errors(quote! { W { nmae: "x", stages: a >> >> b, input: , name: "" } });
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("unknown workflow key `nmae`; did you mean `name`?"));
        assert_eq!(messages[1], "expected a stage (a `#[stage]` fn name)");
        assert_eq!(messages[3], "`name` cannot be empty");
    }

    #[test]
    fn chain_syntax_errors_have_specific_messages() {
        assert_eq!(
            body_errors(quote! { W { stages: } }),
            ["a workflow needs at least one stage: `stages: a >> b`"]
        );
        assert_eq!(
            body_errors(quote! { W { stages: a | b } }),
            ["parallel stages go in parentheses: `(a | b)`"]
        );
        assert_eq!(
            body_errors(quote! { W { stages: a > b } }),
            ["expected `>>` between the groups of a workflow"]
        );
        assert_eq!(
            body_errors(quote! { W { stages: a >> () } }),
            ["empty parallel group: list its stages as `(a | b)`"]
        );
        assert_eq!(
            body_errors(quote! { W { stages: (a >> b) } }),
            ["a parallel group holds single stages `(a | b)`; it cannot contain a `>>` chain"]
        );
    }

    #[test]
    fn a_missing_name_is_a_header_error() {
        let mut errors = Errors::default();
        let err = parse(quote! { = "x" { stages: a } }, &mut errors)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("expected the workflow's type name")
        );
    }
}
