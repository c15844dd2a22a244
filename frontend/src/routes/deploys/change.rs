//! Promote, roll back, move to spot or back (asked from the Node groups
//! page): the server's dry run is shown first (the lines it rewrites, the app
//! commits it ships or takes back),
//! then applied when confirmed — the environment's name typed where it is
//! protected. The answer says where the commit went: the deployed branch, or
//! a new branch waiting for a person's merge.

use leptos::prelude::*;
use mezame_shared::deploys::{ChangeKind, DeployChange, LineChange, PlacementRequest, PromoteRequest, RollbackRequest};

use super::short;
use crate::api;
use crate::components::apply::ApplyBar;
use crate::components::nav::protected;

/// A change the page asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Promote { ms: String, from: String, to: String },
    Rollback { env: String, ms: String, to_deploy: String, tag: String },
    Placement { env: String, ms: String, spot: bool },
}

impl Ask {
    fn env(&self) -> String {
        match self {
            Ask::Promote { to, .. } => to.clone(),
            Ask::Rollback { env, .. } | Ask::Placement { env, .. } => env.clone(),
        }
    }

    fn title(&self) -> String {
        match self {
            Ask::Promote { ms, from, to } => format!("Promote {ms} from {from} to {to}"),
            Ask::Rollback { env, ms, tag, .. } => format!("Roll {ms} back to {} in {env}", short(tag)),
            Ask::Placement { env, ms, spot: true } => format!("Move {ms} to spot nodes in {env}"),
            Ask::Placement { env, ms, spot: false } => format!("Move {ms} back to on-demand nodes in {env}"),
        }
    }

    async fn send(&self, reason: String, dry_run: bool, confirm: Option<String>) -> Result<DeployChange, String> {
        let failed = |e: api::ApiFailure| e.to_string();
        match self.clone() {
            Ask::Promote { ms, from, to } => {
                api::promote(to, ms, PromoteRequest { from, dry_run, unfreeze: false, confirm }).await.map_err(failed)
            }
            Ask::Rollback { env, ms, to_deploy, .. } => {
                api::rollback(env, ms, RollbackRequest { to_deploy, reason, dry_run, confirm }).await.map_err(failed)
            }
            Ask::Placement { env, ms, spot } => api::place(env, ms, PlacementRequest { spot, dry_run, confirm }).await.map_err(failed),
        }
    }
}

/// What a change did, in words.
pub fn done_message(c: &DeployChange) -> String {
    let what = match c.kind {
        ChangeKind::Spot => format!("{} may run on spot in {}", c.ms, c.env),
        ChangeKind::OnDemand => format!("{} back to on-demand in {}", c.ms, c.env),
        _ => format!("{} {} → {} in {}", c.kind.as_str(), c.ms, short(&c.tag), c.env),
    };
    match (&c.commit, &c.branch, c.needs_merge) {
        (Some(sha), Some(b), true) => format!("{what}: commit {} pushed on branch {b}, waiting for a person to merge it", short(sha)),
        (Some(sha), Some(b), false) => format!("{what}: commit {} on {b}; Argo CD was asked to sync", short(sha)),
        _ => what,
    }
}

/// A line change as a diff: the lines both sides start with, then what goes and what comes.
fn patch(l: &LineChange) -> String {
    let (before, after): (Vec<&str>, Vec<&str>) = (l.before.lines().collect(), l.after.lines().collect());
    let same = before.iter().zip(&after).take_while(|(a, b)| a == b).count();
    let kept = before[..same].iter().map(|x| format!("  {x}"));
    let gone = before[same..].iter().map(|x| format!("- {x}"));
    let come = after[same..].iter().map(|x| format!("+ {x}"));
    kept.chain(gone).chain(come).collect::<Vec<_>>().join("\n")
}

/// The dialog of `asking` (none: closed); `done` gets what happened.
#[component]
pub fn ChangeDialog(asking: RwSignal<Option<Ask>>, done: RwSignal<Option<String>>) -> impl IntoView {
    move || asking.get().map(|ask| view! { <Dialog ask asking done/> })
}

#[component]
fn Dialog(ask: Ask, asking: RwSignal<Option<Ask>>, done: RwSignal<Option<String>>) -> impl IntoView {
    let env = ask.env();
    let is_protected = protected(env.clone());
    let needs_reason = matches!(ask, Ask::Rollback { .. });
    let reason = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Result<DeployChange, String>>);
    let failed = RwSignal::new(None::<String>);
    let ask = StoredValue::new(ask);
    let review = Action::new_local(move |_: &()| {
        let (a, r) = (ask.get_value(), reason.get_untracked());
        async move { preview.set(Some(a.send(r, true, None).await)) }
    });
    let apply = Action::new_local(move |_: &()| {
        let (a, r) = (ask.get_value(), reason.get_untracked());
        let confirm = is_protected.get_untracked().then(|| typed.get_untracked());
        async move {
            match a.send(r, false, confirm).await {
                Ok(c) => {
                    asking.set(None);
                    done.set(Some(done_message(&c)));
                }
                Err(why) => failed.set(Some(why)),
            }
        }
    });
    if !needs_reason {
        review.dispatch(());
    }
    let title = ask.with_value(Ask::title);
    let label = title.clone();
    let may_apply = Signal::derive(move || {
        !apply.pending().get()
            && matches!(preview.get(), Some(Ok(_)))
            && (!needs_reason || !reason.get().trim().is_empty())
            && (!is_protected.get() || typed.get() == env)
    });
    view! {
        <div class="confirm change" role="dialog" aria-label=label data-testid="deploy-dialog">
            <h3>{title}</h3>
            {needs_reason.then(|| view! {
                <label>"Reason (kept in the commit, the freeze and the audit log) "
                    <input data-testid="rollback-reason" prop:value=reason on:input=move |ev| { reason.set(event_target_value(&ev)); }/>
                </label>
                <button class="secondary" data-testid="review" disabled=move || review.pending().get() on:click=move |_| { review.dispatch(()); }>"Review"</button>
            })}
            {move || preview.get().map(|p| match p {
                Ok(c) => view! {
                    <div class="review" data-testid="review-result">
                        {(!c.kind.is_placement()).then(|| view! {
                            <p>{format!("{} → {}", c.previous_tag.as_deref().map(short).unwrap_or_else(|| "?".into()), short(&c.tag))}</p>
                        })}
                        {c.lines.iter().map(|l| view! { <div class="small"><code>{format!("{}:{}", l.path, l.line)}</code><pre class="patch">{patch(l)}</pre></div> }).collect_view()}
                        {(!c.kind.is_placement()).then(|| view! { <p class="small">{format!("{} app commit(s)", c.commits.len())}</p> })}
                        <ul class="small">{c.commits.iter().take(20).map(|x| view! { <li>{format!("{} {} — {}", short(&x.sha), x.subject, x.author)}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            <ApplyBar failed is_protected typed may_apply apply=Callback::new(move |_| { apply.dispatch(()); })
                cancel=Callback::new(move |_| asking.set(None))/>
        </div>
    }
}
