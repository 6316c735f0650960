//! `#[stage]`: parse → validate → expand. Every error is collected; the expansion still emits the stage type
//! and its trait impls (with a body that is never run when the signature is unusable) so that one mistake does
//! not cascade into errors at every `workflow!` that lists the stage.

mod args;
mod deps;
mod expand;
mod model;
mod signature;

use crate::errors::Errors;
use proc_macro2::TokenStream;
use quote::quote;

/// Expands `#[stage(args)] item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            errors.at(
                proc_macro2::Span::call_site(),
                "`#[stage]` can only be placed on an `async fn`",
            );
            let compile_errors = errors.to_compile_errors();
            return quote! { #compile_errors #item };
        }
    };
    let model = model::StageModel::build(args, func, &mut errors);
    let expanded = expand::expand(&model);
    let compile_errors = errors.to_compile_errors();
    quote! { #compile_errors #expanded }
}
