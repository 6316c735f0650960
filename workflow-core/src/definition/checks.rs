//! Traits that turn stage-graph mistakes into compile errors. `#[stage]` and `workflow!` emit impls and
//! never-called fns whose bounds use these traits; each trait carries the message rustc shows.
//!
//! - `#[stage]` emits `impl Requires<Dep> for Stage` per dependency and a hidden
//!   `Stage::__assert_deps_upstream::<W>()` with one `Dep: Upstream<Stage, W>` bound per dependency,
//!   spanned at the user's `ctx.require::<Dep>()`.
//! - `workflow!` emits `impl InWorkflow<W> for Stage { type Group = .. }` per stage (the group as a type-level
//!   number) and calls every check fn, spanned at the stage's name inside the macro.

use super::stage::{Stage, StageData};
use std::marker::PhantomData;

/// Type-level zero: the first execution group.
pub struct Zero;
/// Type-level successor: the group after `N`.
pub struct Succ<N>(PhantomData<N>);

/// `Self < Other` on type-level group numbers.
pub trait Before<Other> {}
impl<N> Before<Succ<N>> for Zero {}
impl<A: Before<B>, B> Before<Succ<B>> for Succ<A> {}

/// Stage `Self` runs in workflow `W`, in execution group [`Group`](InWorkflow::Group). Emitted by `workflow!`.
pub trait InWorkflow<W> {
    /// The execution group, as [`Zero`] / [`Succ`].
    type Group;
}

/// Stage `Self`, which stage `Consumer` requires, is a stage of workflow `W`. Checked beside [`Upstream`]
/// so that a required stage missing from the workflow gets its own message (rustc then reports only this
/// one: `Upstream` cannot hold either).
#[diagnostic::on_unimplemented(
    message = "stage `{Consumer}` requires stage `{Self}`, which is not in workflow `{W}`",
    label = "`{Consumer}` reads the output of `{Self}`, which `{W}` never runs",
    note = "add `{Self}` to an earlier group of the `workflow!`, or read it with `ctx.optional::<{Self}>()` if the stage can do without it"
)]
pub trait Member<Consumer, W> {}

#[diagnostic::do_not_recommend]
impl<D: InWorkflow<W>, C, W> Member<C, W> for D {}

/// Stage `Self` runs in an earlier group than stage `Consumer` of workflow `W`.
#[diagnostic::on_unimplemented(
    message = "stage `{Consumer}` requires `{Self}`, but `{Self}` does not run before `{Consumer}` in workflow `{W}`",
    label = "`{Consumer}` reads the output of `{Self}`",
    note = "a stage may only `ctx.require` stages from an earlier group of the same `workflow!`; stages of one parallel group `(a | b)` run at the same time and cannot read each other"
)]
pub trait Upstream<Consumer, W> {}

#[diagnostic::do_not_recommend]
impl<D, C, W> Upstream<C, W> for D
where
    D: InWorkflow<W>,
    C: InWorkflow<W>,
    <D as InWorkflow<W>>::Group: Before<<C as InWorkflow<W>>::Group>,
{
}

/// Stage `Self` declared that it reads stage `Dep` (found in its body by `#[stage]`, or listed in `deps`).
#[diagnostic::on_unimplemented(
    message = "stage `{Self}` reads `{Dep}` but does not declare it as a dependency",
    label = "`{Dep}` is not a declared dependency of `{Self}`",
    note = "`#[stage]` declares every `ctx.require::<S>()` written in the stage fn; for reads it cannot see (in helper fns or other macros) add `#[stage(deps = [..])]`"
)]
pub trait Requires<Dep> {}

/// `Self` is the output type of stage `S`: stage data (serde + schemars). `#[stage]` checks it so that the
/// first error names the stage.
#[diagnostic::on_unimplemented(
    message = "the output type `{Self}` of stage `{S}` cannot be stored: it must implement `Serialize`, `Deserialize` and `JsonSchema`",
    label = "`{Self}` is not stage data",
    note = "add `#[derive(Serialize, Deserialize, JsonSchema)]` to `{Self}` (the derives are in `workflow_core::prelude`; your crate needs `serde` with the `derive` feature and `schemars` as dependencies)"
)]
pub trait StageOutputData<S> {}
#[diagnostic::do_not_recommend]
impl<T: StageData, S> StageOutputData<S> for T {}

/// `Self` is the input type of stage `S`: stage data (serde + schemars).
#[diagnostic::on_unimplemented(
    message = "the input type `{Self}` of stage `{S}` cannot be stored: it must implement `Serialize`, `Deserialize` and `JsonSchema`",
    label = "`{Self}` is not stage data",
    note = "add `#[derive(Serialize, Deserialize, JsonSchema)]` to `{Self}` (the derives are in `workflow_core::prelude`; your crate needs `serde` with the `derive` feature and `schemars` as dependencies)"
)]
pub trait StageInputData<S> {}
#[diagnostic::do_not_recommend]
impl<T: StageData, S> StageInputData<S> for T {}

/// `Self` is the config type of stage `S`: stage data (serde + schemars).
#[diagnostic::on_unimplemented(
    message = "the config type `{Self}` of stage `{S}` cannot be read from a run config: it must implement `Serialize`, `Deserialize` and `JsonSchema`",
    label = "`{Self}` is not stage data",
    note = "add `#[derive(Serialize, Deserialize, JsonSchema)]` to `{Self}`, and `#[serde(default)]` with a `Default` impl if every field has a default (the derives are in `workflow_core::prelude`)"
)]
pub trait StageConfigData<S> {}
#[diagnostic::do_not_recommend]
impl<T: StageData, S> StageConfigData<S> for T {}

/// `Self` is the suspended-state type of async-batch stage `S`: stage data (serde + schemars).
#[diagnostic::on_unimplemented(
    message = "the suspended-state type `{Self}` of stage `{S}` cannot be stored: it must implement `Serialize`, `Deserialize` and `JsonSchema`",
    label = "`{Self}` is not stage data",
    note = "add `#[derive(Serialize, Deserialize, JsonSchema)]` to `{Self}` (the derives are in `workflow_core::prelude`)"
)]
pub trait StageStateData<S> {}
#[diagnostic::do_not_recommend]
impl<T: StageData, S> StageStateData<S> for T {}

/// Marker: the stage's input must equal the previous group's output.
pub struct TypedInput;
/// Marker: the stage reads only from the context; any previous output is accepted and ignored.
pub struct ContextInput;

/// [`TypedInput`] or [`ContextInput`].
pub trait InputKind: Send + Sync + 'static {
    /// Whether the stage ignores the previous group's output.
    const CONTEXT_ONLY: bool;
}
impl InputKind for TypedInput {
    const CONTEXT_ONLY: bool = false;
}
impl InputKind for ContextInput {
    const CONTEXT_ONLY: bool = true;
}

/// The previous group's output `Self` is a valid input for stage `S`, which expects `Expected`.
#[diagnostic::on_unimplemented(
    message = "stage `{S}` takes `{Expected}` as input, but the previous group produces `{Self}`",
    label = "expected `{Expected}`, found `{Self}`",
    note = "a stage's input is the previous group's output: a single stage's output, a tuple of the outputs of a parallel group `(a | b)` in written order, or `()` (no input parameter) for a stage that reads only from the context"
)]
pub trait InputMatches<S, Expected, Kind> {}
#[diagnostic::do_not_recommend]
impl<S, T> InputMatches<S, T, TypedInput> for T {}
#[diagnostic::do_not_recommend]
impl<S, P> InputMatches<S, (), ContextInput> for P {}

/// The workflow input `Self` is a valid input for the first stage `S` of workflow `W`.
#[diagnostic::on_unimplemented(
    message = "the first stage `{S}` takes `{Expected}` as input, but workflow `{W}` takes `{Self}`",
    label = "expected `{Expected}`, found `{Self}`",
    note = "the stages of the first group receive the workflow input; change `input:` or the stage's input type"
)]
pub trait FirstInputMatches<S, W, Expected, Kind> {}
#[diagnostic::do_not_recommend]
impl<S, W, T> FirstInputMatches<S, W, T, TypedInput> for T {}
#[diagnostic::do_not_recommend]
impl<S, W, P> FirstInputMatches<S, W, (), ContextInput> for P {}

/// Checks that stage `S` accepts `Previous` (the previous group's output) as input.
pub fn assert_input<S: Stage, Previous>()
where
    Previous: InputMatches<S, S::Input, S::InputKind>,
{
}

/// Checks that the first stage `S` of workflow `W` accepts the workflow input `Input`.
pub fn assert_first_input<S: Stage, W, Input>()
where
    Input: FirstInputMatches<S, W, S::Input, S::InputKind>,
{
}

/// `a == b`, usable in const assertions (duplicate stage ids).
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_string_equality() {
        assert!(str_eq("extract-text", "extract-text"));
        assert!(!str_eq("extract-text", "extract-texts"));
        assert!(!str_eq("a", "b"));
        assert!(str_eq("", ""));
    }

    fn before<A: Before<B>, B>() {}

    #[test]
    fn group_order_is_expressible() {
        before::<Zero, Succ<Zero>>();
        before::<Succ<Zero>, Succ<Succ<Succ<Zero>>>>();
    }
}
