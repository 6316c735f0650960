//! Procedural macros of the typed workflow engine: [`macro@stage`] and [`workflow!`].
//!
//! Use them through `workflow_core` (`use workflow_core::prelude::*;`), which re-exports them together with
//! the types their expansions name. The parsing and validation code lives in plain modules over
//! `proc_macro2`, so it is unit-tested without compiling user crates; the compile errors the expansions
//! produce are covered by the trybuild snapshots in `ui-tests/`.

mod errors;
mod naming;
mod respan;
mod stage;
mod workflow;

use proc_macro::TokenStream;

/// Turns an `async fn` into a stage of a workflow.
///
/// The fn's name also becomes a type (an empty struct) that implements `workflow_core::Stage`, so the name
/// used in `workflow!` is the one used in `ctx.require::<name>()`. The fn itself stays callable.
///
/// ```text
/// #[stage(id = "...", name = "...", description = "...", deps = [a, b], check_completion = check_fn)]
/// async fn name(ctx: &StageContext, input: Input, config: Config) -> Result<Output, StageError>
/// ```
///
/// - **Parameters** are optional, in this order: the context (`&StageContext`), the input (the previous
///   group's output; `()` or no parameter for a stage that reads only from the context) and the config (any
///   `Deserialize + Serialize + JsonSchema` type; missing fields take their `#[serde(default)]`s).
/// - **Return type**: `Result<Output, E>` with `E: Into<StageError>`; an async-batch stage (one with
///   `check_completion`) returns `Result<BatchStep<Output, State>, E>`.
/// - **`id`** defaults to the fn name in kebab-case, **`name`** to the fn name in Title Case, and the
///   **description** to the doc comment.
/// - **Dependencies**: every `ctx.require::<other>()` in the body is found and declared; `deps = [..]` adds
///   ones the scan cannot see (calls in helper fns). `workflow!` then refuses, at compile time, a workflow in
///   which a dependency does not run in an earlier group.
///
/// # Async-batch stages
///
/// A stage whose work finishes elsewhere (a provider batch API, a long export) names a `check_completion`
/// fn. The body returns `Ok(BatchStep::Done(output))` when it could finish at once, or a
/// `Suspend` with a typed state (`.into()`), which is stored; the
/// engine then calls the check fn at the poll interval (default 30 s, for at most 24 h) until it returns
/// `Completion::Ready(output)` (the stage completes), `Completion::Failed(message)` (stage and run fail) or
/// `Completion::NotReady { .. }` (check again; `Completion::check_again_in(d)` picks the delay). Its signature:
///
/// ```text
/// async fn check_fn(ctx: &CheckContext, state: State) -> Result<Completion<Output>, E>   // E: Into<StageError>
/// ```
///
/// `State` and `Output` are the two parameters of the body's `BatchStep<Output, State>`; `CheckContext` logs,
/// annotates and records usage like `StageContext`.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::prelude::*;
/// use workflow_testing::StageRun;
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// pub struct Export { pub job: String }
///
/// /// Starts an export and waits for it.
/// #[stage(check_completion = export_ready)]
/// async fn export(input: String) -> Result<BatchStep<String, Export>, StageError> {
///     Ok(Suspend::new(Export { job: format!("export-{input}") })
///         .poll_every(Duration::from_secs(60))
///         .max_wait(Duration::from_secs(2 * 60 * 60))
///         .into())
/// }
///
/// async fn export_ready(ctx: &CheckContext, state: Export) -> Result<Completion<String>, StageError> {
///     ctx.info(format!("checking {}", state.job));
///     Ok(Completion::Ready(format!("{}.csv", state.job)))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let started = StageRun::new().execute::<export>("q3".into(), Default::default()).await;
/// assert!(matches!(started.result, Ok(BatchStep::Suspend(_))));
/// let checked = StageRun::new()
///     .check::<export>(Export { job: "export-q3".into() }, serde_json::json!({}))
///     .await;
/// assert!(matches!(checked.result, Ok(Completion::Ready(ref file)) if file == "export-q3.csv"));
/// # });
/// ```
///
/// # Example
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_testing::StageRun;
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// pub struct Doc { pub text: String }
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// pub struct Counted { pub words: usize }
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// pub struct CountConfig { #[serde(default)] pub skip_short: bool }
///
/// /// Counts the words of a document.
/// #[stage]
/// async fn count_words(ctx: &StageContext, input: Doc, config: CountConfig) -> Result<Counted, StageError> {
///     let words = input.text.split_whitespace().filter(|w| !config.skip_short || w.len() > 2).count();
///     ctx.progress(1.0, "counted");
///     Ok(Counted { words })
/// }
///
/// /// Reports the count; reads it from the context rather than taking an input.
/// #[stage(id = "report")]
/// async fn report_count(ctx: &StageContext) -> Result<String, StageError> {
///     let counted = ctx.require::<count_words>()?;
///     Ok(format!("{} words", counted.words))
/// }
///
/// assert_eq!(<count_words as Stage>::ID, "count-words");
/// assert_eq!(<count_words as Stage>::NAME, "Count Words");
/// assert_eq!(<count_words as Stage>::DESCRIPTION, Some("Counts the words of a document."));
/// assert_eq!(<report_count as Stage>::DEPENDENCIES, &["count-words"]);
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // Unit-test one stage with a chosen output of the stage it requires:
/// let report = StageRun::new()
///     .with_output::<count_words>(&Counted { words: 3 })
///     .execute::<report_count>((), Default::default())
///     .await;
/// assert_eq!(report.output().unwrap(), "3 words");
/// # });
/// ```
#[proc_macro_attribute]
pub fn stage(args: TokenStream, item: TokenStream) -> TokenStream {
    stage::expand(args.into(), item.into()).into()
}

/// Declares a workflow: its type, id, display name, input type and the groups its stages run in.
///
/// ```text
/// workflow! {
///     /// Description (optional doc comment).
///     pub TypeName = "workflow-id" {          // the id defaults to TypeName in kebab-case
///         name: "Display Name",               // optional; defaults to TypeName in Title Case
///         input: InputType,                   // optional; defaults to the first stage's input
///         stages: a >> b >> (c | d) >> e,     // `>>` runs groups in order, `(c | d)` runs c and d together
///     }
/// }
/// ```
///
/// The macro checks at compile time, each error spanned at the stage inside the macro: that every stage a
/// stage requires runs in an earlier group; that each stage's input is the previous group's output (a single
/// stage's output, a tuple `(C, D)` after `(c | d)`, or `()` for a stage reading only from the context); that
/// the first stage takes the workflow input; and that no stage is listed twice and no two stages share an id.
///
/// # Example
///
/// ```
/// use workflow_core::prelude::*;
///
/// #[stage]
/// async fn double(input: u32) -> Result<u32, StageError> { Ok(input * 2) }
/// #[stage]
/// async fn describe(input: u32) -> Result<String, StageError> { Ok(format!("n = {input}")) }
/// #[stage]
/// async fn is_big(input: u32) -> Result<bool, StageError> { Ok(input > 10) }
/// #[stage]
/// async fn combine(input: (String, bool)) -> Result<String, StageError> {
///     Ok(format!("{} (big: {})", input.0, input.1))
/// }
///
/// workflow! {
///     /// Doubles a number and describes it.
///     pub Doubler = "doubler" {
///         input: u32,
///         stages: double >> (describe | is_big) >> combine,
///     }
/// }
///
/// let definition = Doubler::definition();
/// assert_eq!(definition.id(), "doubler");
/// assert_eq!(definition.name(), "Doubler");
/// assert_eq!(definition.stage_ids(), ["double", "describe", "is-big", "combine"]);
/// assert_eq!(definition.execution_plan(), [vec!["double"], vec!["describe", "is-big"], vec!["combine"]]);
/// ```
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    workflow::expand(input.into()).into()
}
