//! Checks a parsed workflow that can be checked without type information: ids, empty workflows and stages
//! listed twice. Type-level checks (dependencies, input types, duplicate ids across crates) are emitted as
//! trait bounds and const assertions by the expansion.

use super::parse::{Group, WorkflowDef};
use crate::errors::Errors;
use crate::naming::{doc_text, kebab_case, title_case, validate_id};
use quote::ToTokens;
use syn::{Attribute, Ident, Path, Type, Visibility};

/// One stage occurrence that survived validation.
pub struct StageRef {
    pub path: Path,
    /// 0-based execution group.
    pub group: usize,
    /// The stage as written (for messages), e.g. `summarize` or `stages::summarize`.
    pub display: String,
}

/// A validated workflow, ready to expand.
pub struct WorkflowModel {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub id: syn::LitStr,
    pub name: String,
    pub description: Option<String>,
    pub input: Option<Type>,
    /// Groups in order; each holds the stages of that group (duplicates removed).
    pub groups: Vec<Vec<StageRef>>,
}

pub fn validate(def: WorkflowDef, errors: &mut Errors) -> WorkflowModel {
    let ident_text = def.ident.to_string();
    let id = match def.id {
        Some(lit) => {
            if let Err(reason) = validate_id(&lit.value()) {
                errors.spanned(
                    &lit,
                    format!("invalid workflow id {:?}: {reason}", lit.value()),
                );
            }
            lit
        }
        None => {
            let id = kebab_case(&ident_text);
            if let Err(reason) = validate_id(&id) {
                errors.spanned(&def.ident, format!("cannot derive a workflow id from `{ident_text}`: {reason}; write `{ident_text} = \"my-id\"`"));
            }
            syn::LitStr::new(&id, def.ident.span())
        }
    };
    let name = def
        .name
        .as_ref()
        .map_or_else(|| title_case(&ident_text), syn::LitStr::value);
    let description = def
        .description
        .as_ref()
        .map(syn::LitStr::value)
        .or_else(|| doc_text(&def.attrs));

    let mut groups = Vec::new();
    match &def.stages {
        None if !def.stages_key_seen => errors.at(
            def.ident.span(),
            format!("workflow `{ident_text}` has no stages; add `stages: first >> second`"),
        ),
        None => {} // the parse error was reported already
        Some(chain) => {
            let mut seen: Vec<String> = Vec::new();
            for (index, group) in chain.groups.iter().enumerate() {
                let mut stages = Vec::new();
                for path in group.stages() {
                    let display = path.to_token_stream().to_string().replace(" :: ", "::");
                    if seen.contains(&display) {
                        let where_ = match group {
                            Group::Parallel(_) => {
                                " (a parallel group cannot list a stage twice either)"
                            }
                            Group::Single(_) => "",
                        };
                        errors.spanned(
                            path,
                            format!(
                                "stage `{display}` appears twice in workflow `{ident_text}`{where_}; a stage runs at most once per run, so list it once"
                            ),
                        );
                        continue;
                    }
                    seen.push(display.clone());
                    stages.push(StageRef {
                        path: path.clone(),
                        group: index,
                        display,
                    });
                }
                if !stages.is_empty() {
                    groups.push(stages);
                }
            }
        }
    }
    // Re-number groups in case a group vanished entirely (all of its stages were duplicates).
    for (index, group) in groups.iter_mut().enumerate() {
        for stage in group.iter_mut() {
            stage.group = index;
        }
    }

    WorkflowModel {
        attrs: def.attrs,
        vis: def.vis,
        ident: def.ident,
        id,
        name,
        description,
        input: def.input,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn run(tokens: proc_macro2::TokenStream) -> (WorkflowModel, Vec<String>) {
        let mut errors = Errors::default();
        let def = super::super::parse::parse(tokens, &mut errors).expect("header parses");
        let model = validate(def, &mut errors);
        (model, errors.messages())
    }

    #[test]
    fn defaults_for_id_name_and_description() {
        let (model, errors) = run(quote! {
            /// Processes documents.
            pub DocumentProcessor { stages: a >> (b | c) }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(model.id.value(), "document-processor");
        assert_eq!(model.name, "Document Processor");
        assert_eq!(model.description.as_deref(), Some("Processes documents."));
        let groups: Vec<Vec<(usize, &str)>> = model
            .groups
            .iter()
            .map(|g| g.iter().map(|s| (s.group, s.display.as_str())).collect())
            .collect();
        assert_eq!(groups, [vec![(0, "a")], vec![(1, "b"), (1, "c")]]);
    }

    #[test]
    fn stages_listed_twice_are_reported_at_each_repeat() {
        let (model, errors) = run(quote! { W { stages: a >> m::b >> (a | c) >> m::b } });
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("stage `a` appears twice in workflow `W` (a parallel group"));
        assert!(errors[1].starts_with("stage `m::b` appears twice in workflow `W`;"));
        let names: Vec<&str> = model
            .groups
            .iter()
            .flatten()
            .map(|s| s.display.as_str())
            .collect();
        assert_eq!(names, ["a", "m::b", "c"]);
        // The group that lost every stage disappears and later groups move up.
        assert_eq!(model.groups.len(), 3);
    }

    #[test]
    fn a_workflow_without_stages_is_an_error() {
        let (model, errors) = run(quote! { W { name: "x" } });
        assert_eq!(
            errors,
            ["workflow `W` has no stages; add `stages: first >> second`"]
        );
        assert!(model.groups.is_empty());
    }

    #[test]
    fn bad_workflow_ids_are_reported() {
        let (_, errors) = run(quote! { W = "has space" { stages: a } });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("invalid workflow id \"has space\""));
    }
}
