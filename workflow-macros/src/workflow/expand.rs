//! Code generation for `workflow!`: the workflow type and its `Workflow` impl, one `InWorkflow<W>` impl per
//! stage (its group as a type-level number), and never-called check fns whose trait bounds turn every
//! dependency, input-type and id problem into a compile error spanned at the stage inside `workflow!`.
//! Generated code names only `::workflow_core::__private::…` and `::core::…` paths.

use super::validate::{StageRef, WorkflowModel};
use crate::respan::respan;
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

/// `tokens` with every token spanned at `stage`'s path inside the `workflow!`, where rustc then reports a
/// failing bound (and identical errors about one stage are shown once).
fn at_stage(stage: &StageRef, tokens: TokenStream) -> TokenStream {
    respan(tokens, stage.path.span())
}

pub fn expand(model: &WorkflowModel) -> TokenStream {
    let private = quote!(::workflow_core::__private);
    let WorkflowModel {
        attrs,
        vis,
        ident,
        id,
        name,
        ..
    } = model;
    let description = match &model.description {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    let first = model.groups.first().and_then(|g| g.first());
    let input_ty = match (&model.input, first) {
        (Some(ty), _) => quote!(#ty),
        (None, Some(stage)) => {
            let path = &stage.path;
            at_stage(stage, quote!(<#path as #private::Stage>::Input))
        }
        (None, None) => quote!(()),
    };
    let output_ty = model
        .groups
        .last()
        .map_or_else(|| quote!(()), |group| group_output(group, &private));
    let groups = model.groups.iter().map(|group| {
        let handles = group.iter().map(|stage| {
            let path = &stage.path;
            at_stage(stage, quote!(#private::StageHandle::of::<#path>()))
        });
        quote!(.group([#(#handles),*]))
    });

    let in_workflow = model.groups.iter().flatten().map(|stage| {
        let path = &stage.path;
        let group = group_type(stage.group, &private);
        at_stage(
            stage,
            quote! {
                #[diagnostic::do_not_recommend]
                impl #private::InWorkflow<#ident> for #path {
                    type Group = #group;
                }
            },
        )
    });
    let checks = checks(model, &private);
    let id_checks = id_checks(model, &private);

    quote! {
        #(#attrs)*
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #ident;

        impl #private::Workflow for #ident {
            const ID: &'static str = #id;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;

            fn definition() -> #private::WorkflowDefinition {
                #private::WorkflowDefinition::builder::<Self, #input_ty, #output_ty>()
                    #(#groups)*
                    .build()
            }
        }

        // The types are trait parameters, not associated types, so that a `pub` workflow may list private
        // stages (an associated type naming them would be a private type in a public interface).
        impl #private::WorkflowIo<#input_ty, #output_ty> for #ident {}

        const _: () = {
            #(#in_workflow)*

            #[allow(dead_code, clippy::type_complexity)]
            fn __workflow_checks() {
                #(#checks)*
            }

            #(#id_checks)*
        };
    }
}

/// The output a group hands to the next one: a single stage's output, or a tuple for a parallel group.
fn group_output(group: &[StageRef], private: &TokenStream) -> TokenStream {
    let outputs = group.iter().map(|stage| {
        let path = &stage.path;
        at_stage(stage, quote!(<#path as #private::Stage>::Output))
    });
    if group.len() == 1 {
        quote!(#(#outputs)*)
    } else {
        at_stage(&group[0], quote!((#(#outputs,)*)))
    }
}

/// `Zero`, `Succ<Zero>`, ... for a 0-based group index.
fn group_type(index: usize, private: &TokenStream) -> TokenStream {
    (0..index).fold(
        quote!(#private::Zero),
        |inner, _| quote!(#private::Succ<#inner>),
    )
}

fn checks(model: &WorkflowModel, private: &TokenStream) -> Vec<TokenStream> {
    let ident = &model.ident;
    let mut checks = Vec::new();
    for stage in model.groups.iter().flatten() {
        let path = &stage.path;
        checks.push(at_stage(
            stage,
            quote!(<#path>::__assert_deps_upstream::<#ident>();),
        ));
    }
    if let (Some(input), Some(first_group)) = (&model.input, model.groups.first()) {
        for stage in first_group {
            let path = &stage.path;
            checks.push(at_stage(
                stage,
                quote!(#private::assert_first_input::<#path, #ident, #input>();),
            ));
        }
    }
    for pair in model.groups.windows(2) {
        let previous = group_output(&pair[0], private);
        for stage in &pair[1] {
            let path = &stage.path;
            checks.push(at_stage(
                stage,
                quote!(#private::assert_input::<#path, #previous>();),
            ));
        }
    }
    checks
}

/// Two different stages of one workflow must not share an id; ids are only known as consts of the stage
/// types (possibly from another crate), so this is a const assertion spanned at the later stage.
fn id_checks(model: &WorkflowModel, private: &TokenStream) -> Vec<TokenStream> {
    let stages: Vec<&StageRef> = model.groups.iter().flatten().collect();
    let mut checks = Vec::new();
    for (j, later) in stages.iter().enumerate() {
        for earlier in &stages[..j] {
            let (a, b) = (&earlier.path, &later.path);
            let message = format!(
                "stages `{}` and `{}` of workflow `{}` have the same id; give one of them another `#[stage(id = \"...\")]`",
                earlier.display, later.display, model.ident
            );
            checks.push(at_stage(
                later,
                quote! {
                    const _: () = if #private::str_eq(<#a as #private::Stage>::ID, <#b as #private::Stage>::ID) {
                        ::core::panic!(#message)
                    };
                },
            ));
        }
    }
    checks
}
