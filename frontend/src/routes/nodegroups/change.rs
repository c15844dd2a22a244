//! Changing a group or a node from the Node groups page: one dialog for every
//! kind of change. It first shows what would happen — the server's dry run of
//! new sizes or a new spot mix with its warnings, the preflight of a drain —,
//! then applies it when confirmed, typing the environment's name where it is
//! protected. It lives outside the re-read part of the page, so a refresh never
//! closes it.
//!
//! The dialog is data-driven (fields, lines to show, two async calls): one view
//! for all kinds keeps the WASM bundle small.

use leptos::prelude::*;
use mezame_shared::capacity::{GroupChange, MixChange, SPOT_STRATEGIES, Sizes};
use mezame_shared::power::GroupKind;

use crate::api;
use crate::components::apply::ApplyBar;
use crate::components::nav::protected;

/// What is being changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Editing {
    Sizes { kind: GroupKind, name: String, sizes: Sizes },
    Mix { name: String, mix: MixChange },
    Cordon { node: String, cordon: bool },
    Drain { node: String },
}

/// Where a dialog ends: `editing` set to `None`, and `done` told what happened,
/// in words; a drain's run is followed in `run`.
#[derive(Clone, Copy)]
pub struct Ending {
    pub editing: RwSignal<Option<Editing>>,
    pub done: Callback<Result<String, String>>,
    pub run: RwSignal<Option<i64>>,
}

/// A field of the dialog: label, test id, initial value, and the choices of a
/// select (empty: a text field).
struct Field {
    label: &'static str,
    testid: &'static str,
    value: String,
    choices: &'static [&'static str],
}

fn field(label: &'static str, testid: &'static str, value: impl ToString) -> Field {
    Field { label, testid, value: value.to_string(), choices: &[] }
}

impl Editing {
    /// The group a change of sizes or mix is for.
    fn group(&self) -> Option<(GroupKind, String)> {
        match self {
            Editing::Sizes { kind, name, .. } => Some((*kind, name.clone())),
            Editing::Mix { name, .. } => Some((GroupKind::Asg, name.clone())),
            _ => None,
        }
    }

    fn title(&self) -> String {
        match self {
            Editing::Sizes { kind, name, .. } => format!("Sizes of {} {name}", kind.noun()),
            Editing::Mix { name, .. } => format!("Spot mix of Auto Scaling group {name}"),
            Editing::Cordon { node, cordon: true } => format!("Cordon {node}?"),
            Editing::Cordon { node, cordon: false } => format!("Uncordon {node}?"),
            Editing::Drain { node } => format!("Drain {node}?"),
        }
    }

    fn fields(&self) -> Vec<Field> {
        match self {
            Editing::Sizes { sizes, .. } => {
                vec![field("min", "min", sizes.min), field("desired", "desired", sizes.desired), field("max", "max", sizes.max)]
            }
            Editing::Mix { mix, .. } => vec![
                field("on-demand base", "base", mix.on_demand_base),
                field("% on-demand above base", "pct", mix.on_demand_percent_above_base),
                Field {
                    label: "spot allocation",
                    testid: "strategy",
                    value: if mix.spot_allocation_strategy.is_empty() {
                        SPOT_STRATEGIES[0].into()
                    } else {
                        mix.spot_allocation_strategy.clone()
                    },
                    choices: &SPOT_STRATEGIES,
                },
                field("instance types", "types", mix.instance_types.join(", ")),
            ],
            Editing::Cordon { .. } | Editing::Drain { .. } => Vec::new(),
        }
    }

    /// The change a group's fields describe.
    fn change(&self, v: &[String], dry_run: bool, confirm: Option<String>) -> Result<GroupChange, String> {
        let n = |i: usize, what: &str| v[i].trim().parse::<i32>().map_err(|_| format!("{what} must be a whole number"));
        let (sizes, mix) = match self {
            Editing::Sizes { .. } => (Some(Sizes { min: n(0, "min")?, desired: n(1, "desired")?, max: n(2, "max")? }), None),
            _ => {
                let types = v[3].split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
                let mix = MixChange {
                    on_demand_base: n(0, "on-demand base")?,
                    on_demand_percent_above_base: n(1, "% on-demand above base")?,
                    spot_allocation_strategy: v[2].clone(),
                    instance_types: types,
                };
                (None, Some(mix))
            }
        };
        Ok(GroupChange { sizes, mix, dry_run, confirm, remove_nodes: None })
    }

    /// What would happen: lines to show, and warnings.
    async fn preview(&self, env: String, v: Vec<String>) -> Result<(Vec<String>, Vec<String>), String> {
        if let Some((kind, name)) = self.group() {
            let c = api::change_group(env, kind, name, self.change(&v, true, None)?).await.map_err(|e| e.to_string())?;
            let mut lines = vec![c.message];
            lines.extend(c.scale_in.iter().map(|n| {
                let cordoned = if n.cordoned { ", cordoned already" } else { "" };
                format!("drained, then terminated: {} ({}, {} pod(s){cordoned})", n.node, n.instance_id, n.pods)
            }));
            return Ok((lines, c.warnings));
        }
        match self {
            Editing::Sizes { .. } | Editing::Mix { .. } => unreachable!("a group change is previewed above"),
            Editing::Cordon { cordon: true, .. } => {
                Ok((vec!["No new pod is scheduled on it; the pods on it keep running (a drain would evict them).".into()], vec![]))
            }
            Editing::Cordon { cordon: false, .. } => Ok((vec!["Pods may be scheduled on it again.".into()], vec![])),
            Editing::Drain { node } => {
                let p = api::drain_preflight(env, node.clone()).await.map_err(|e| e.to_string())?;
                let mut lines = vec![format!(
                    "It is cordoned, then its {} pod(s) are evicted (PodDisruptionBudgets honoured, at most {} s) and rescheduled elsewhere by their controllers.",
                    p.evict.len(),
                    p.timeout_secs
                )];
                lines.extend(p.evict.into_iter().map(|e| format!("evicted: {e}")));
                lines.extend(p.stay.into_iter().map(|s| format!("stays: {s}")));
                Ok((lines, p.warnings))
            }
        }
    }

    /// Does it; what happened, and the run to follow (a drain, a scale-in).
    async fn apply(&self, env: String, v: Vec<String>, confirm: Option<String>) -> Result<(String, Option<i64>), String> {
        let failed = |e: api::ApiFailure| e.to_string();
        if let Some((kind, name)) = self.group() {
            let c = api::change_group(env, kind, name, self.change(&v, false, confirm)?).await.map_err(failed)?;
            return Ok(match c.run {
                Some(r) => (format!("scale-in run {} started: {}", r.id, c.message), Some(r.id)),
                None => (c.message, None),
            });
        }
        match self {
            Editing::Sizes { .. } | Editing::Mix { .. } => unreachable!("a group change is applied above"),
            Editing::Cordon { node, cordon } => {
                let c = api::cordon_node(env, node.clone(), *cordon, confirm).await.map_err(failed)?;
                let what = if c.cordoned { "cordoned" } else { "schedulable again" };
                Ok((if c.changed { format!("node {node} {what}") } else { format!("node {node} already {what}: nothing changed") }, None))
            }
            Editing::Drain { node } => {
                let r = api::drain_node(env, node.clone(), confirm).await.map_err(failed)?;
                Ok((format!("draining {node}: run {}", r.id), Some(r.id)))
            }
        }
    }
}

/// The dialog of what `end.editing` holds, in `env`.
#[component]
pub fn ChangeDialog(env: String, end: Ending) -> impl IntoView {
    move || end.editing.get().map(|e| view! { <Dialog env=env.clone() editing=e end/> })
}

#[component]
fn Dialog(env: String, editing: Editing, end: Ending) -> impl IntoView {
    let fields = editing.fields();
    let values = RwSignal::new(fields.iter().map(|f| f.value.clone()).collect::<Vec<_>>());
    // What would happen (or why not); `None` until reviewed, and again after an edit.
    let preview = RwSignal::new(None::<Result<(Vec<String>, Vec<String>), String>>);
    let failed = RwSignal::new(None::<String>);
    let typed = RwSignal::new(String::new());
    let is_protected = protected(env.clone());
    let editing = StoredValue::new(editing);
    let review = Action::new_local({
        let env = env.clone();
        move |_: &()| {
            let (env, e, v) = (env.clone(), editing.get_value(), values.get_untracked());
            async move { preview.set(Some(e.preview(env, v).await)) }
        }
    });
    let apply = Action::new_local({
        let env = env.clone();
        move |_: &()| {
            let (env, e, v) = (env.clone(), editing.get_value(), values.get_untracked());
            let confirm = is_protected.get_untracked().then(|| typed.get_untracked());
            async move {
                match e.apply(env, v, confirm).await {
                    Ok((message, run)) => {
                        if run.is_some() {
                            end.run.set(run);
                        }
                        end.editing.set(None);
                        end.done.run(Ok(message));
                    }
                    Err(why) => failed.set(Some(why)),
                }
            }
        }
    });
    // A dialog without fields shows what would happen at once.
    if fields.is_empty() {
        review.dispatch(());
    }
    let inputs = fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let value = move || values.with(|v| v[i].clone());
            let set = move |ev| {
                values.update(|v| v[i] = event_target_value(&ev));
                preview.set(None);
            };
            let control = if f.choices.is_empty() {
                view! { <input data-testid=f.testid prop:value=value on:input=set/> }.into_any()
            } else {
                view! {
                    <select data-testid=f.testid prop:value=value on:change=set>
                        {f.choices.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                    </select>
                }
                .into_any()
            };
            view! { <label>{f.label}" "{control}</label> }
        })
        .collect_view();
    let title = editing.with_value(Editing::title);
    let label = title.clone();
    let has_fields = editing.with_value(|e| !e.fields().is_empty());
    let may_apply = Signal::derive(move || {
        !apply.pending().get() && matches!(preview.get(), Some(Ok(_))) && (!is_protected.get() || typed.get() == env)
    });
    view! {
        <div class="confirm change" role="dialog" aria-label=label data-testid="change-dialog">
            <h3>{title}</h3>
            <div class="fields">{inputs}</div>
            {has_fields.then(|| view! {
                <button class="secondary" data-testid="review" disabled=move || review.pending().get() on:click=move |_| { review.dispatch(()); }>"Review"</button>
            })}
            {move || preview.get().map(|p| match p {
                Ok((lines, warnings)) => view! {
                    <div class="review" data-testid="review-result">
                        {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
                        <ul class="warnings">{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            <ApplyBar failed is_protected typed may_apply apply=Callback::new(move |_| { apply.dispatch(()); })
                cancel=Callback::new(move |_| end.editing.set(None))/>
        </div>
    }
}
