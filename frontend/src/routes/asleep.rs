//! The asleep page (`/asleep/{env}`): where an environment's public
//! hostnames point while it sleeps. "dev is asleep since 20:00 — Wake it"
//! for those who may (the run followed live, then a link to the app); the
//! others see who may wake it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use mezame_shared::envs::PublicState;
use mezame_shared::power::{PowerState, RunAction, RunState};

use super::envs::live_run::{Followed, use_followed_run};
use super::envs::power::RunView;
use crate::api::{self, EnvsResource};

#[component]
pub fn Asleep() -> impl IntoView {
    let params = use_params_map();
    let env = Memo::new(move |_| params.read().get("env").unwrap_or_default());
    let power = LocalResource::new(move || api::get_power(env.get()));
    let runs = LocalResource::new(move || api::get_runs(env.get()));
    let EnvsResource(envs) = expect_context();
    let Followed { followed, reopen, run } = use_followed_run(power);
    let woke = move || matches!(run.get(), Some(Ok(r)) if r.state == RunState::Succeeded && r.action == RunAction::Wake);
    // Once the wake succeeded: the state and the public hostnames are read again.
    Effect::new(move |was: Option<bool>| {
        let now = woke();
        if was == Some(false) && now {
            power.refetch();
            envs.refetch();
        }
        now
    });
    let links = move || {
        let name = env.get();
        envs.get()
            .and_then(Result::ok)
            .and_then(|l| l.envs.into_iter().find(|e| e.name == name))
            .and_then(|e| e.public)
            .and_then(|p| p.ok().cloned())
            .unwrap_or_default()
    };
    // Until the zone answers the live load balancer for every hostname, read again.
    Effect::new(move |_| {
        let lagging = links().iter().any(|h| h.state != PublicState::Live);
        if woke() && lagging {
            set_timeout(move || envs.refetch(), std::time::Duration::from_secs(2));
        }
    });
    let error = RwSignal::new(None::<String>);
    let wake = Action::new_local(move |_: &()| async move {
        match api::start_run(env.get_untracked(), RunAction::Wake).await {
            Ok(started) => {
                error.set(None);
                followed.set(Some(started.id));
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    let since = move || {
        runs.get().and_then(Result::ok).and_then(|l| {
            l.runs.into_iter().find(|r| r.action == RunAction::Sleep && r.state == RunState::Succeeded).and_then(|r| r.finished_at)
        })
    };
    view! {
        <section class="card asleep-page" data-testid="asleep-page">
            {move || power.get().map(|p| match p {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(p) => {
                    let name = p.env.clone();
                    let asleep = p.state == PowerState::Asleep;
                    let title = match (p.state, since()) {
                        (PowerState::Asleep, Some(t)) => format!("{name} is asleep since {}", crate::components::time::fmt(&t, "%H:%M UTC")),
                        (PowerState::Asleep, None) => format!("{name} is asleep"),
                        (PowerState::Awake, _) => format!("{name} is awake"),
                        (state, _) => format!("{name}: {}", state.label()),
                    };
                    let expected = p.expected_wake_secs.map(|s| format!(" (≈ {} s)", s.round())).unwrap_or_default();
                    let starting = wake.pending().get() || followed.get().is_some();
                    view! {
                        <h1 data-testid="asleep-title">{title}</h1>
                        {(asleep && p.may_operate).then(|| view! {
                            <button class="primary big" data-testid="wake-it" disabled=starting on:click=move |_| { wake.dispatch(()); }>
                                {format!("Wake it{expected}")}
                            </button>
                        })}
                        {(asleep && !p.may_operate).then(|| view! {
                            <p data-testid="who-may">{format!("You may not wake {name}. Ask who may: {}", p.who_may)}</p>
                        })}
                    }
                    .into_any()
                }
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || run.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(r) => view! { <RunView run=r reopen/> }.into_any(),
            })}
            {move || (woke() || power.get().and_then(Result::ok).is_some_and(|p| p.state == PowerState::Awake)).then(|| view! {
                <ul class="app-links" data-testid="app-links">
                    {links().into_iter().map(|h| {
                        let live = h.state == PublicState::Live;
                        view! {
                            <li>
                                <a href=h.url.clone() data-live=live.to_string()>{h.url.clone()}</a>
                                {(!live).then(|| view! { <span class="small">" (DNS not yet at the load balancer)"</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}
