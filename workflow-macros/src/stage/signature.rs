//! Reads a `#[stage]` fn's signature: `async fn name(ctx: &StageContext, input: I, config: C) -> Result<O, E>`,
//! where the context, input and config parameters are each optional (in that order).

use crate::errors::Errors;
use syn::{FnArg, Pat, ReturnType, Signature, Type};

/// One parameter the stage fn declares.
pub struct Param {
    /// The user's pattern (kept as written).
    pub pat: Box<Pat>,
    /// The parameter's type.
    pub ty: Box<Type>,
}

/// What the signature says about the stage's data types.
pub struct StageSignature {
    /// The `&StageContext` parameter, if the fn takes one.
    pub ctx: Option<Param>,
    /// The input parameter, if any.
    pub input: Option<Param>,
    /// The config parameter, if any.
    pub config: Option<Param>,
    /// The declared return type.
    pub output: Option<Box<Type>>,
}

impl StageSignature {
    /// Whether the stage reads only from the context: no input parameter, or an input of type `()`.
    pub fn input_is_context_only(&self) -> bool {
        match &self.input {
            None => true,
            Some(param) => is_unit(&param.ty),
        }
    }
}

/// `()`, possibly parenthesised.
pub fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        Type::Paren(paren) => is_unit(&paren.elem),
        _ => false,
    }
}

/// Whether the type names `StageContext` (by its last path segment), behind any references.
fn names_context(ty: &Type, context_name: &str) -> bool {
    match ty {
        Type::Reference(reference) => names_context(&reference.elem, context_name),
        Type::Paren(paren) => names_context(&paren.elem, context_name),
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|seg| seg.ident == context_name),
        _ => false,
    }
}

const SHAPE: &str = "a stage fn takes `(ctx: &StageContext, input: Input, config: Config)`, each parameter optional";

/// Checks the signature and classifies its parameters, recording every problem.
pub fn analyze(sig: &Signature, errors: &mut Errors) -> StageSignature {
    if sig.asyncness.is_none() {
        errors.spanned(sig.fn_token, "`#[stage]` must be placed on an `async fn`");
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, "a stage fn cannot be `const`");
    }
    if !matches!(sig.safety, syn::Safety::Default) {
        errors.at(sig.fn_token.span, "a stage fn cannot be `unsafe` or `safe`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "a stage fn cannot have an `extern` ABI");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            "a stage fn cannot be generic: its input, output and config types must be concrete",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "a stage fn cannot be variadic");
    }

    let mut signature = StageSignature {
        ctx: None,
        input: None,
        config: None,
        output: None,
    };
    let mut data_params = 0;
    for (index, arg) in sig.inputs.iter().enumerate() {
        let typed = match arg {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    "a stage fn cannot take `self`; write a free `async fn`",
                );
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        if let Type::ImplTrait(_) = &*typed.ty {
            errors.spanned(
                &typed.ty,
                "stage parameters need concrete types, not `impl Trait`",
            );
            continue;
        }
        if names_context(&typed.ty, "StageContext") {
            match &*typed.ty {
                Type::Reference(reference) if reference.mutability.is_none() => {}
                Type::Reference(reference) => errors.spanned(
                    reference.mutability,
                    "take the stage context by shared reference: `ctx: &StageContext`",
                ),
                other => {
                    errors.spanned(
                        other,
                        "take the stage context by reference: `ctx: &StageContext`",
                    );
                }
            }
            if index != 0 {
                errors.spanned(
                    typed,
                    format!("the context must be the first parameter; {SHAPE}"),
                );
            } else {
                signature.ctx = Some(Param {
                    pat: typed.pat.clone(),
                    ty: typed.ty.clone(),
                });
            }
            continue;
        }
        if names_context(&typed.ty, "CheckContext") {
            errors.spanned(
                &typed.ty,
                "`CheckContext` belongs to the `check_completion` fn; a stage body takes `&StageContext`",
            );
            continue;
        }
        let param = Param {
            pat: typed.pat.clone(),
            ty: typed.ty.clone(),
        };
        match data_params {
            0 => signature.input = Some(param),
            1 => signature.config = Some(param),
            _ => errors.spanned(typed, format!("too many parameters: {SHAPE}")),
        }
        data_params += 1;
    }

    match &sig.output {
        ReturnType::Type(_, ty) => signature.output = Some(ty.clone()),
        ReturnType::Default => errors.at(
            sig.paren_token.span.close(),
            "a stage fn must return `Result<Output, StageError>` (add `-> Result<YourOutput, StageError>`)",
        ),
    }
    if let Some(ty) = &signature.output
        && let Type::ImplTrait(_) = &**ty
    {
        errors.spanned(
            ty,
            "a stage fn must return `Result<Output, StageError>`, not `impl Trait`",
        );
    }
    signature
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn analyze_fn(item: syn::ItemFn) -> (StageSignature, Vec<String>) {
        let mut errors = Errors::default();
        let signature = analyze(&item.sig, &mut errors);
        (signature, errors.messages())
    }

    fn tokens(ty: &Type) -> String {
        ty.to_token_stream().to_string()
    }

    #[test]
    fn full_signature_is_classified() {
        let (sig, errors) = analyze_fn(syn::parse_quote! {
            async fn extract(ctx: &StageContext, input: DocInput, config: ExtractConfig) -> Result<Extracted, StageError> {}
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert!(sig.ctx.is_some());
        assert_eq!(tokens(&sig.input.as_ref().unwrap().ty), "DocInput");
        assert_eq!(tokens(&sig.config.as_ref().unwrap().ty), "ExtractConfig");
        assert_eq!(
            tokens(sig.output.as_ref().unwrap()),
            "Result < Extracted , StageError >"
        );
        assert!(!sig.input_is_context_only());
    }

    #[test]
    fn context_and_data_parameters_are_optional() {
        let (sig, errors) =
            analyze_fn(syn::parse_quote! { async fn s(input: A) -> Result<B, StageError> {} });
        assert!(errors.is_empty());
        assert!(sig.ctx.is_none() && sig.input.is_some() && sig.config.is_none());

        let (sig, errors) = analyze_fn(
            syn::parse_quote! { async fn s(ctx: &StageContext) -> Result<B, StageError> {} },
        );
        assert!(errors.is_empty());
        assert!(sig.ctx.is_some() && sig.input_is_context_only());

        let (sig, _) = analyze_fn(
            syn::parse_quote! { async fn s(_: &StageContext, _: (), c: C) -> Result<B, StageError> {} },
        );
        assert!(sig.input_is_context_only() && sig.config.is_some());
    }

    #[test]
    fn non_async_and_exotic_signatures_are_all_reported() {
        let (_, errors) = analyze_fn(syn::parse_quote! {
            const unsafe extern "C" fn s<T>(self, a: impl Sized) {}
        });
        assert_eq!(
            errors,
            [
                "`#[stage]` must be placed on an `async fn`",
                "a stage fn cannot be `const`",
                "a stage fn cannot be `unsafe` or `safe`",
                "a stage fn cannot have an `extern` ABI",
                "a stage fn cannot be generic: its input, output and config types must be concrete",
                "a stage fn cannot take `self`; write a free `async fn`",
                "stage parameters need concrete types, not `impl Trait`",
                "a stage fn must return `Result<Output, StageError>` (add `-> Result<YourOutput, StageError>`)",
            ]
        );
    }

    #[test]
    fn context_must_come_first_and_by_shared_reference() {
        let (_, errors) = analyze_fn(syn::parse_quote! {
            async fn s(input: A, ctx: &StageContext) -> Result<B, StageError> {}
        });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("the context must be the first parameter"));

        let (_, errors) = analyze_fn(
            syn::parse_quote! { async fn s(ctx: &mut StageContext) -> Result<B, StageError> {} },
        );
        assert_eq!(
            errors,
            ["take the stage context by shared reference: `ctx: &StageContext`"]
        );

        let (_, errors) = analyze_fn(
            syn::parse_quote! { async fn s(ctx: StageContext) -> Result<B, StageError> {} },
        );
        assert_eq!(
            errors,
            ["take the stage context by reference: `ctx: &StageContext`"]
        );
    }

    #[test]
    fn too_many_parameters() {
        let (_, errors) = analyze_fn(syn::parse_quote! {
            async fn s(ctx: &StageContext, a: A, c: C, extra: X) -> Result<B, StageError> {}
        });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("too many parameters"));
    }
}
