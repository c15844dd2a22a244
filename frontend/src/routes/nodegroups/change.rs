//! Changing a group or a node from the Node groups page: a dialog that first
//! shows before → after (the server's dry run of the change, with its
//! warnings), then applies it when confirmed — typing the environment's name
//! where it is protected. It lives outside the re-read part of the page, so a
//! refresh never closes it.

use leptos::prelude::*;
use mezame_shared::capacity::{GroupChange, GroupChanged, MixChange, SPOT_STRATEGIES, Sizes};
use mezame_shared::power::GroupKind;

use crate::api;
use crate::components::nav::protected;

/// What is being changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Editing {
    Sizes { kind: GroupKind, name: String, sizes: Sizes },
    Mix { name: String, mix: MixChange },
    Cordon { node: String, cordon: bool },
}

/// Where a dialog ends: `editing` set to `None`, and `done` told what happened, in words.
#[derive(Clone, Copy)]
pub struct Ending {
    pub editing: RwSignal<Option<Editing>>,
    pub done: Callback<Result<String, String>>,
}

impl Ending {
    fn close(self) {
        self.editing.set(None);
    }

    fn finish(self, what: String) {
        self.close();
        self.done.run(Ok(what));
    }
}

/// The dialog of what `end.editing` holds, in `env`.
#[component]
pub fn ChangeDialog(env: String, end: Ending) -> impl IntoView {
    move || {
        end.editing.get().map(|e| match e {
            Editing::Sizes { kind, name, sizes } => view! { <SizesForm env=env.clone() kind name sizes end/> }.into_any(),
            Editing::Mix { name, mix } => view! { <MixForm env=env.clone() name mix end/> }.into_any(),
            Editing::Cordon { node, cordon } => view! { <CordonForm env=env.clone() node cordon end/> }.into_any(),
        })
    }
}

/// A whole number typed in a field, or why not.
fn whole(what: &str, s: RwSignal<String>) -> Result<i32, String> {
    s.get().trim().parse::<i32>().map_err(|_| format!("{what} must be a whole number"))
}

/// A labelled number field.
#[component]
fn Number(label: &'static str, testid: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! { <label>{label}" "<input type="number" data-testid=testid prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/></label> }
}

#[component]
fn SizesForm(env: String, kind: GroupKind, name: String, sizes: Sizes, end: Ending) -> impl IntoView {
    let min = RwSignal::new(sizes.min.to_string());
    let desired = RwSignal::new(sizes.desired.to_string());
    let max = RwSignal::new(sizes.max.to_string());
    let change = move || -> Result<GroupChange, String> {
        Ok(GroupChange {
            sizes: Some(Sizes { min: whole("min", min)?, desired: whole("desired", desired)?, max: whole("max", max)? }),
            ..Default::default()
        })
    };
    let fields = view! {
        <Number label="min" testid="min" value=min/>
        <Number label="desired" testid="desired" value=desired/>
        <Number label="max" testid="max" value=max/>
    };
    view! { <Review env title=format!("Sizes of {} {name}", kind.noun()) kind name fields change end/> }
}

#[component]
fn MixForm(env: String, name: String, mix: MixChange, end: Ending) -> impl IntoView {
    let base = RwSignal::new(mix.on_demand_base.to_string());
    let pct = RwSignal::new(mix.on_demand_percent_above_base.to_string());
    let strategy = RwSignal::new(if mix.spot_allocation_strategy.is_empty() {
        SPOT_STRATEGIES[0].to_string()
    } else {
        mix.spot_allocation_strategy.clone()
    });
    let types = RwSignal::new(mix.instance_types.join(", "));
    let change = move || -> Result<GroupChange, String> {
        Ok(GroupChange {
            mix: Some(MixChange {
                on_demand_base: whole("on-demand base", base)?,
                on_demand_percent_above_base: whole("% on-demand above base", pct)?,
                spot_allocation_strategy: strategy.get(),
                instance_types: types.get().split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
            }),
            ..Default::default()
        })
    };
    let fields = view! {
        <Number label="on-demand base" testid="base" value=base/>
        <Number label="% on-demand above base" testid="pct" value=pct/>
        <label>"spot allocation "
            <select data-testid="strategy" prop:value=strategy on:change=move |ev| strategy.set(event_target_value(&ev))>
                {SPOT_STRATEGIES.iter().map(|s| view! { <option value=*s>{*s}</option> }).collect_view()}
            </select>
        </label>
        <label>"instance types "<input data-testid="types" prop:value=types on:input=move |ev| types.set(event_target_value(&ev))/></label>
    };
    view! { <Review env title=format!("Spot mix of Auto Scaling group {name}") kind=GroupKind::Asg name fields change end/> }
}

/// The form's fields, a Review button (the server's dry run), then before →
/// after and an Apply button.
#[component]
fn Review<V: IntoView + 'static>(
    env: String,
    title: String,
    kind: GroupKind,
    name: String,
    fields: V,
    change: impl Fn() -> Result<GroupChange, String> + Copy + Send + Sync + 'static,
    end: Ending,
) -> impl IntoView {
    let reviewed = RwSignal::new(None::<Result<GroupChanged, String>>);
    let typed = RwSignal::new(String::new());
    let is_protected = protected(env.clone());
    let send = Action::new_local({
        let (env, name) = (env.clone(), name.clone());
        move |dry_run: &bool| {
            let (env, name, dry_run) = (env.clone(), name.clone(), *dry_run);
            let confirm = is_protected.get_untracked().then(|| typed.get_untracked());
            let change = change().map(|c| GroupChange { dry_run, confirm, ..c });
            async move {
                let answer = match change {
                    Ok(c) => api::change_group(env, kind, name, c).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                match (dry_run, answer) {
                    (true, a) => reviewed.set(Some(a)),
                    (false, Ok(a)) => {
                        end.finish(a.message);
                    }
                    (false, Err(e)) => reviewed.set(Some(Err(e))),
                }
            }
        }
    });
    let may_apply =
        move || !send.pending().get() && reviewed.with(|r| matches!(r, Some(Ok(_)))) && (!is_protected.get() || typed.get() == env);
    let label = title.clone();
    view! {
        <div class="confirm change" role="dialog" aria-label=label data-testid="change-dialog">
            <h3>{title}</h3>
            <div class="fields" on:input=move |_| reviewed.set(None)>{fields}</div>
            <button class="secondary" data-testid="review" disabled=move || send.pending().get() on:click=move |_| { send.dispatch(true); }>"Review"</button>
            {move || reviewed.get().map(|r| match r {
                Ok(c) => view! {
                    <div class="review" data-testid="review-result">
                        <p>{c.message}</p>
                        {(!c.warnings.is_empty()).then(|| view! {
                            <ul class="warnings">{c.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                        })}
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            <Typed env=is_protected typed/>
            <button class="primary" data-testid="apply" disabled=move || !may_apply() on:click=move |_| { send.dispatch(false); }>"Apply"</button>
            <button class="secondary" on:click=move |_| end.close()>"Cancel"</button>
        </div>
    }
}

#[component]
fn CordonForm(env: String, node: String, cordon: bool, end: Ending) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let is_protected = protected(env.clone());
    let failed = RwSignal::new(None::<String>);
    let send = Action::new_local({
        let (env, node) = (env.clone(), node.clone());
        move |_: &()| {
            let (env, node) = (env.clone(), node.clone());
            let confirm = is_protected.get_untracked().then(|| typed.get_untracked());
            async move {
                match api::cordon_node(env, node.clone(), cordon, confirm).await {
                    Ok(c) => {
                        let what = if c.cordoned { "cordoned" } else { "schedulable again" };
                        end.finish(if c.changed {
                            format!("node {node} {what}")
                        } else {
                            format!("node {node} already {what}: nothing changed")
                        });
                    }
                    Err(e) => failed.set(Some(e.to_string())),
                }
            }
        }
    });
    let text = if cordon {
        format!("Cordon {node}? No new pod is scheduled on it; the pods on it keep running (a drain would evict them).")
    } else {
        format!("Uncordon {node}? Pods may be scheduled on it again.")
    };
    view! {
        <div class="confirm change" role="dialog" aria-label="Confirm node change" data-testid="change-dialog">
            <p>{text}</p>
            {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Typed env=is_protected typed/>
            <button class="primary" data-testid="apply" on:click=move |_| { send.dispatch(()); }
                disabled=move || send.pending().get() || (is_protected.get() && typed.get() != env)>{if cordon { "Cordon" } else { "Uncordon" }}</button>
            <button class="secondary" on:click=move |_| end.close()>"Cancel"</button>
        </div>
    }
}

/// In a protected environment: the field where its name is typed to confirm.
#[component]
fn Typed(env: Signal<bool>, typed: RwSignal<String>) -> impl IntoView {
    move || {
        env.get().then(|| {
            view! {
                <label class="confirm-type">"This environment is protected: type its name to confirm "
                    <input data-testid="confirm-env" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev))/>
                </label>
            }
        })
    }
}
