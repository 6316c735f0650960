//! Code generation for `#[stage]`. The fn name also becomes an empty braced struct (as Rocket's route macros
//! do), so the name used in `workflow!` is the one used in `ctx.require::<_>()`. A braced struct lives only in
//! the type namespace: the fn stays callable under its name and `let name = ..` still binds a variable.
//! The struct implements `Stage`, `Requires<Dep>` for every dependency, and gets a hidden check fn whose
//! bounds (`Dep: Member<Self, W> + Upstream<Self, W>`) are spanned at the user's `ctx.require::<Dep>()` tokens.

//! Generated code names only `::workflow_core::__private::…` and `::core::…` paths.

use super::model::StageModel;
use crate::respan::respan;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Type, TypeReference};

pub fn expand(model: &StageModel) -> TokenStream {
    let StageModel {
        vis,
        ident,
        doc_attrs,
        cfg_attrs,
        id,
        name,
        ..
    } = model;
    let private = quote!(::workflow_core::__private);
    let id_lit = syn::LitStr::new(id, model.id_span);
    let description = match &model.description {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    let sig = &model.signature;
    let input_ty = sig
        .input
        .as_ref()
        .map_or_else(|| quote!(()), |p| p.ty.to_token_stream());
    let config_ty = sig
        .config
        .as_ref()
        .map_or_else(|| quote!(#private::NoConfig), |p| p.ty.to_token_stream());
    let input_kind = if sig.input_is_context_only() {
        quote!(#private::ContextInput)
    } else {
        quote!(#private::TypedInput)
    };

    // The user's return type, or `()` when there is none (an error was reported for it).
    let ret = sig.output.as_ref().map_or_else(
        || quote!(::core::result::Result<(), #private::StageError>),
        |t| t.to_token_stream(),
    );
    let ret_span = sig
        .output
        .as_ref()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span());
    let fn_return = respan(quote!(<#ret as #private::StageFnReturn>), ret_span);
    let (output_ty, state_ty, mode) = match &model.batch {
        None => (
            respan(quote!(#fn_return::Ok), ret_span),
            quote!(()),
            quote!(#private::StageMode::Sync),
        ),
        Some(batch) => {
            let (output, state) = (&batch.output, &batch.state);
            (
                quote!(#output),
                quote!(#state),
                quote!(#private::StageMode::AsyncBatch),
            )
        }
    };

    let deps = &model.deps;
    let dep_ids = deps
        .iter()
        .map(|dep| quote_spanned!(dep.span()=> <#dep as #private::Stage>::ID));
    let optional_ids = model
        .optional_reads
        .iter()
        .map(|read| quote_spanned!(read.span()=> <#read as #private::Stage>::ID));
    let upstream_bounds = deps
        .iter()
        .filter(|dep| !model.is_self_dependency(dep))
        .map(|dep| {
            respan(
                quote!(#dep: #private::Member<#ident, __W> + #private::Upstream<#ident, __W>),
                dep.span(),
            )
        });
    let requires_impls = deps.iter().map(|dep| {
        quote_spanned! {dep.span()=>
            #(#cfg_attrs)*
            #[diagnostic::do_not_recommend]
            impl #private::Requires<#dep> for #ident {}
        }
    });

    let (body_fn, execute_body) = body(model, &private, &fn_return);
    let check_completion = model.batch.as_ref().and_then(|batch| batch.check.as_ref()).map(|path| {
        quote_spanned! {path.span()=>
            fn check_completion(
                ctx: &#private::CheckContext,
                state: <Self as #private::Stage>::State,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#private::Completion<<Self as #private::Stage>::Output>, #private::StageError>,
            > + ::core::marker::Send {
                #path(ctx, state)
            }
        }
    });

    // The signature names `Self::Output`, derived from the return type: spanned at the return type, a wrong
    // return type is reported once, there, instead of once per use.
    let execute_fn = respan(
        quote! {
            fn execute(
                    __ctx: &#private::StageContext<Self>,
                    __input: <Self as #private::Stage>::Input,
                    __config: <Self as #private::Stage>::Config,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<
                        #private::BatchStep<<Self as #private::Stage>::Output, <Self as #private::Stage>::State>,
                        #private::StageError,
                    >,
                > + ::core::marker::Send {
                    #execute_body
                }
        },
        ret_span,
    );

    // One clear error per type that is not stage data, naming the stage, its role and the derives, spanned
    // at the user's type (rustc adds its own per-trait errors after it).
    // A sync stage's output is checked only when its return type is written `Result<T, _>`; any other
    // return type already has its own error.
    let checked_output = match &model.batch {
        Some(batch) => Some(batch.output.clone()),
        None => sig.output.as_ref().and_then(|ret| result_ok_type(ret)),
    };
    let mut data_bounds: Vec<TokenStream> = checked_output
        .map(|output| respan(quote!(#output: #private::StageOutputData<#ident>), ret_span))
        .into_iter()
        .collect();
    if let Some(input) = sig.input.as_ref() {
        let ty = &input.ty;
        data_bounds.push(respan(
            quote!(#ty: #private::StageInputData<#ident>),
            ty.span(),
        ));
    }
    if let Some(config) = sig.config.as_ref() {
        let ty = &config.ty;
        data_bounds.push(respan(
            quote!(#ty: #private::StageConfigData<#ident>),
            ty.span(),
        ));
    }
    if let Some(batch) = &model.batch {
        let state = &batch.state;
        data_bounds.push(respan(
            quote!(#state: #private::StageStateData<#ident>),
            state.span(),
        ));
    }

    quote! {
        #(#cfg_attrs)*
        const _: () = {
            #[allow(dead_code)]
            fn __assert_stage_data() where #(#data_bounds,)* {}
        };

        #(#doc_attrs)*
        #(#cfg_attrs)*
        #[allow(non_camel_case_types)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #ident {}

        #body_fn

        #(#cfg_attrs)*
        impl #ident {
            /// Checks, at the `workflow!` that lists this stage, that every stage it requires runs in an
            /// earlier group of workflow `__W`. Never called at run time.
            #[doc(hidden)]
            #[allow(dead_code)]
            pub fn __assert_deps_upstream<__W>() where #(#upstream_bounds,)* {}
        }

        #(#cfg_attrs)*
        #[diagnostic::do_not_recommend]
        impl #private::Stage for #ident {
            type Input = #input_ty;
            type Output = #output_ty;
            type Config = #config_ty;
            type State = #state_ty;
            type InputKind = #input_kind;
            const ID: &'static str = #id_lit;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;
            const DEPENDENCIES: &'static [&'static str] = &[#(#dep_ids),*];
            const OPTIONAL_READS: &'static [&'static str] = &[#(#optional_ids),*];
            const MODE: #private::StageMode = #mode;

            #execute_fn

            #check_completion
        }

        #(#requires_impls)*
    }
}

/// The hidden fn holding the user's body, and the body of `Stage::execute` that calls it.
fn body(
    model: &StageModel,
    private: &TokenStream,
    fn_return: &TokenStream,
) -> (TokenStream, TokenStream) {
    let ident = &model.ident;
    let sig = &model.signature;
    if model.signature_broken {
        // The signature was reported as wrong; compiling the body would only add follow-on errors.
        let execute = quote! {
            let _ = (__ctx, __input, __config);
            async move { ::core::unreachable!() }
        };
        return (TokenStream::new(), execute);
    }
    let other_attrs = &model.other_attrs;
    let doc_attrs = &model.doc_attrs;
    let cfg_attrs = &model.cfg_attrs;
    let vis = &model.vis;
    let block = &model.block;
    let ret = sig
        .output
        .as_ref()
        .expect("a signature without return type is broken");
    let mut params = Vec::new();
    let mut args = Vec::new();
    if let Some(ctx) = &sig.ctx {
        let pat = &ctx.pat;
        let ty = context_type(&ctx.ty, ident, private);
        params.push(quote!(#pat: #ty));
        args.push(quote!(__ctx));
    }
    if let Some(input) = &sig.input {
        let (pat, ty) = (&input.pat, &input.ty);
        params.push(quote!(#pat: #ty));
        args.push(quote!(__input));
    }
    if let Some(config) = &sig.config {
        let (pat, ty) = (&config.pat, &config.ty);
        params.push(quote!(#pat: #ty));
        args.push(quote!(__config));
    }
    let unused: Vec<TokenStream> = [
        ("__ctx", sig.ctx.is_none()),
        ("__input", sig.input.is_none()),
        ("__config", sig.config.is_none()),
    ]
    .into_iter()
    .filter(|(_, unused)| *unused)
    .map(|(name, _)| syn::Ident::new(name, proc_macro2::Span::call_site()).into_token_stream())
    .collect();
    let body_fn = quote! {
        #(#doc_attrs)*
        #(#cfg_attrs)*
        #(#other_attrs)*
        #vis async fn #ident(#(#params),*) -> #ret #block
    };
    let convert = if model.batch.is_some() {
        quote!(into_batch_step)
    } else {
        quote!(into_done_step)
    };
    let convert = respan(quote!(#fn_return::#convert), ret.span());
    let execute = quote! {
        let _ = (#(#unused,)*);
        let __body = #ident(#(#args),*);
        async move { #convert(__body.await) }
    };
    (body_fn, execute)
}

/// `&StageContext` becomes `&::workflow_core::__private::StageContext<stage>`; a context type written with
/// explicit generic arguments is kept as written.
fn context_type(ty: &Type, ident: &syn::Ident, private: &TokenStream) -> TokenStream {
    if let Type::Reference(TypeReference { elem, lifetime, .. }) = ty
        && let Type::Path(path) = &**elem
        && path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|seg| seg.arguments.is_none())
    {
        let span = ty.span();
        return quote_spanned!(span=> &#lifetime #private::StageContext<#ident>);
    }
    ty.to_token_stream()
}

/// `T` of a return type written `Result<T, E>` (any path ending in `Result`).
fn result_ok_type(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    })
}
