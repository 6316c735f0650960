//! The validated description of one stage, built from the attribute arguments and the fn.

use super::args::StageArgs;
use super::deps::{scan_optionals, scan_requires};
use super::signature::{StageSignature, analyze};
use crate::errors::Errors;
use crate::naming::{doc_text, kebab_case, title_case, validate_id};
use proc_macro2::Span;
use quote::ToTokens;
use syn::{Attribute, Ident, Type, Visibility};

/// The types of an async-batch stage, read from its `Result<BatchStep<Output, State>, E>` return type.
pub struct BatchModel {
    pub output: Type,
    pub state: Type,
    /// The `check_completion` fn; `None` after the "no check_completion" error (the trait default is used).
    pub check: Option<syn::Path>,
}

/// Everything the expansion needs to know about one `#[stage]` fn.
pub struct StageModel {
    pub vis: Visibility,
    pub ident: Ident,
    /// `///` comments, kept on the generated stage type.
    pub doc_attrs: Vec<Attribute>,
    /// `#[cfg(..)]` attributes, copied onto every generated item.
    pub cfg_attrs: Vec<Attribute>,
    /// Any other attribute, kept on the fn body.
    pub other_attrs: Vec<Attribute>,
    pub id: String,
    pub id_span: Span,
    pub name: String,
    pub description: Option<String>,
    /// Declared and scanned dependencies, deduplicated, in order of first appearance.
    pub deps: Vec<Type>,
    /// Stages read with `ctx.optional::<X>()` that are not dependencies (their outputs are loaded when
    /// present).
    pub optional_reads: Vec<Type>,
    /// Set for async-batch stages: the output and state types read from `BatchStep<Output, State>`.
    pub batch: Option<BatchModel>,
    pub signature: StageSignature,
    pub block: Box<syn::Block>,
    /// Whether the signature is too broken to compile the body (errors were reported).
    pub signature_broken: bool,
}

impl StageModel {
    /// Whether `dep` is the stage itself (reported as an error; it keeps its `Requires` impl so the
    /// `ctx.require` call does not fail a second time, but gets no upstream bound).
    pub fn is_self_dependency(&self, dep: &Type) -> bool {
        is_self_reference(dep, &self.ident)
    }

    /// Validates the parts and resolves the defaults.
    pub fn build(args: StageArgs, func: syn::ItemFn, errors: &mut Errors) -> Self {
        let errors_before = errors.len();
        let signature = analyze(&func.sig, errors);
        let signature_broken = errors.len() != errors_before;
        let ident = func.sig.ident.clone();
        let ident_text = ident.to_string();

        let (id, id_span) = match &args.id {
            Some(lit) => (lit.value(), lit.span()),
            None => {
                let id = kebab_case(&ident_text);
                if let Err(reason) = validate_id(&id) {
                    errors.spanned(&ident, format!("cannot derive a stage id from `{ident_text}`: {reason}; set one with `#[stage(id = \"...\")]`"));
                }
                (id, ident.span())
            }
        };
        let name = args
            .name
            .as_ref()
            .map_or_else(|| title_case(&ident_text), syn::LitStr::value);
        let description = args
            .description
            .as_ref()
            .map(syn::LitStr::value)
            .or_else(|| doc_text(&func.attrs));

        let mut deps: Vec<Type> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for dep in scan_requires(func.block.to_token_stream())
            .into_iter()
            .chain(args.deps)
        {
            let key = dep.to_token_stream().to_string();
            if is_self_reference(&dep, &ident) && !seen.contains(&key) {
                errors.spanned(
                    &dep,
                    format!("stage `{ident_text}` cannot require its own output"),
                );
            }
            if !seen.contains(&key) {
                seen.push(key);
                deps.push(dep);
            }
        }

        let mut optional_reads: Vec<Type> = Vec::new();
        for read in scan_optionals(func.block.to_token_stream()) {
            let key = read.to_token_stream().to_string();
            if !seen.contains(&key) && !is_self_reference(&read, &ident) {
                seen.push(key);
                optional_reads.push(read);
            }
        }

        let batch_types = signature.output.as_deref().and_then(batch_step_types);
        let batch = match (args.check_completion, batch_types) {
            (Some(check), Some((output, state))) => Some(BatchModel {
                output,
                state,
                check: Some(check),
            }),
            (Some(_), None) => {
                if let Some(output) = &signature.output {
                    errors.spanned(
                        output,
                        format!("stage `{ident_text}` has a `check_completion`, so it must return `Result<BatchStep<Output, State>, StageError>`"),
                    );
                }
                None
            }
            (None, Some((output, state))) => {
                let ret = signature
                    .output
                    .as_ref()
                    .expect("batch types come from the return type");
                errors.spanned(
                    ret,
                    format!("stage `{ident_text}` returns a `BatchStep` but has no `check_completion`; add `#[stage(check_completion = your_check_fn)]`"),
                );
                Some(BatchModel {
                    output,
                    state,
                    check: None,
                })
            }
            (None, None) => None,
        };

        let mut doc_attrs = Vec::new();
        let mut cfg_attrs = Vec::new();
        let mut other_attrs = Vec::new();
        for attr in func.attrs {
            if attr.path().is_ident("doc") {
                doc_attrs.push(attr);
            } else if attr.path().is_ident("cfg") {
                cfg_attrs.push(attr);
            } else {
                other_attrs.push(attr);
            }
        }

        StageModel {
            vis: func.vis,
            ident,
            doc_attrs,
            cfg_attrs,
            other_attrs,
            id,
            id_span,
            name,
            description,
            deps,
            optional_reads,
            batch,
            signature,
            block: func.block,
            signature_broken,
        }
    }
}

/// `x` or `self::x` where `x` is the stage's own fn name.
fn is_self_reference(dep: &Type, ident: &Ident) -> bool {
    let Type::Path(path) = dep else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    match segments.as_slice() {
        [only] => only.ident == *ident,
        [first, only] => first.ident == "self" && only.ident == *ident,
        _ => false,
    }
}

/// `(Output, State)` when the return type's success type is written `BatchStep<Output, State>`, as in
/// `Result<BatchStep<O, S>, E>` or an alias such as `StageResult<BatchStep<O, S>>`.
fn batch_step_types(ret: &Type) -> Option<(Type, Type)> {
    let ok = first_type_argument(ret)?;
    let Type::Path(path) = ok else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "BatchStep" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    Some((types.next()?, types.next()?))
}

fn first_type_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn build(args: proc_macro2::TokenStream, func: syn::ItemFn) -> (StageModel, Vec<String>) {
        let mut errors = Errors::default();
        let args = super::super::args::parse(args, &mut errors);
        let model = StageModel::build(args, func, &mut errors);
        (model, errors.messages())
    }

    #[test]
    fn defaults_come_from_the_fn_name_and_doc_comment() {
        let (model, errors) = build(
            quote! {},
            syn::parse_quote! {
                /// Extracts text content.
                async fn extract_text(ctx: &StageContext, input: DocInput) -> Result<Extracted, StageError> { todo!() }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(model.id, "extract-text");
        assert_eq!(model.name, "Extract Text");
        assert_eq!(model.description.as_deref(), Some("Extracts text content."));
        assert!(!model.signature_broken);
    }

    #[test]
    fn scanned_and_declared_deps_are_merged_without_duplicates() {
        let (model, errors) = build(
            quote! { deps = [b, a] },
            syn::parse_quote! {
                async fn s(ctx: &StageContext) -> Result<(), StageError> {
                    let x = ctx.require::<a>()?;
                    let y = ctx.require::<a>()?;
                    Ok(())
                }
            },
        );
        assert!(errors.is_empty());
        let deps: Vec<String> = model
            .deps
            .iter()
            .map(|d| d.to_token_stream().to_string())
            .collect();
        assert_eq!(deps, ["a", "b"]);
    }

    #[test]
    fn requiring_itself_is_an_error() {
        let (model, errors) = build(
            quote! {},
            syn::parse_quote! {
                async fn s(ctx: &StageContext) -> Result<(), StageError> { ctx.require::<s>()?; Ok(()) }
            },
        );
        assert_eq!(errors, ["stage `s` cannot require its own output"]);
        assert_eq!(model.deps.len(), 1);
        assert!(model.is_self_dependency(&model.deps[0]));
    }

    #[test]
    fn batch_step_without_check_completion_is_an_error() {
        let (_, errors) = build(
            quote! {},
            syn::parse_quote! {
                async fn s(ctx: &StageContext) -> Result<BatchStep<A, B>, StageError> { todo!() }
            },
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("has no `check_completion`"));
    }

    #[test]
    fn batch_types_are_read_from_the_return_type() {
        let (model, errors) = build(
            quote! { check_completion = poll },
            syn::parse_quote! {
                async fn s(input: X) -> StageResult<BatchStep<Out, m::State>> { todo!() }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        let batch = model.batch.unwrap();
        assert_eq!(batch.output.to_token_stream().to_string(), "Out");
        assert_eq!(batch.state.to_token_stream().to_string(), "m :: State");
        assert!(batch.check.is_some());
    }

    #[test]
    fn check_completion_without_batch_step_is_an_error() {
        let (model, errors) = build(
            quote! { check_completion = poll },
            syn::parse_quote! {
                async fn s(input: X) -> Result<String, StageError> { todo!() }
            },
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("must return `Result<BatchStep<Output, State>, StageError>`"));
        assert!(model.batch.is_none());
    }

    #[test]
    fn signature_errors_mark_the_model_broken() {
        let (model, errors) = build(
            quote! {},
            syn::parse_quote! { fn s() -> Result<(), StageError> { Ok(()) } },
        );
        assert_eq!(errors, ["`#[stage]` must be placed on an `async fn`"]);
        assert!(model.signature_broken);
    }

    #[test]
    fn attribute_overrides_win() {
        let (model, _) = build(
            quote! { id = "x1", name = "X", description = "D" },
            syn::parse_quote! {
                /// Ignored.
                async fn s() -> Result<(), StageError> { Ok(()) }
            },
        );
        assert_eq!(
            (
                model.id.as_str(),
                model.name.as_str(),
                model.description.as_deref()
            ),
            ("x1", "X", Some("D"))
        );
    }
}
