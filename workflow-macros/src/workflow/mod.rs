//! `workflow!`: parse → validate → expand. A body that cannot be parsed still expands to the workflow type
//! (with no stages), so code that names the workflow does not fail a second time.

mod expand;
mod parse;
mod validate;

use crate::errors::Errors;
use proc_macro2::TokenStream;
use quote::quote;

/// Expands one `workflow! { .. }` invocation.
pub fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let def = match parse::parse(input, &mut errors) {
        Ok(def) => def,
        Err(err) => {
            errors.push(err);
            return errors.to_compile_errors();
        }
    };
    let model = validate::validate(def, &mut errors);
    let expanded = expand::expand(&model);
    let compile_errors = errors.to_compile_errors();
    quote! { #compile_errors #expanded }
}
