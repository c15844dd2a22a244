//! The schedule and "keep awake until" of an environment: the next scheduled
//! run, a keep-awake time, an editor for the weekly schedule and for idle
//! sleep (saved with
//! `PUT /api/envs/{env}/power`, which validates it: a refused change keeps
//! the old schedule and shows why; an accepted one redraws the panel).

use leptos::prelude::*;
use mezame_shared::power::{Power, PowerSettings, RunAction, Schedule, WEEKDAYS};

use crate::api;

#[component]
pub fn SchedulePanel(env: String, power: Power, #[prop(into)] changed: Callback<()>) -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let next = power.next_scheduled.clone().map(|n| {
        format!(
            "Next: {} at {}",
            if n.action == RunAction::Wake { "wake" } else { "sleep" },
            crate::components::time::fmt(&n.at, "%a %Y-%m-%d %H:%M UTC")
        )
    });
    let kept = power.keep_awake_until.map(|t| format!("Kept awake until {}", crate::components::time::fmt(&t, "%a %H:%M UTC")));
    let current = power.settings.as_ref().and_then(|s| s.schedule.clone()).unwrap_or(Schedule {
        days: WEEKDAYS[..5].iter().map(|d| d.to_string()).collect(),
        wake: "08:00".into(),
        sleep: "20:00".into(),
        time_zone: "UTC".into(),
    });
    let days = RwSignal::new(current.days.clone());
    let wake = RwSignal::new(current.wake.clone());
    let sleep = RwSignal::new(current.sleep.clone());
    let tz = RwSignal::new(current.time_zone.clone());
    let until = RwSignal::new("21:00".to_string());
    let idle = RwSignal::new(power.settings.as_ref().and_then(|s| s.idle_sleep_mins).map(|m| m.to_string()).unwrap_or_default());
    let settings = power.settings.clone();
    let save_env = env.clone();
    let save = Action::new_local(move |enabled: &bool| {
        let (env, enabled) = (save_env.clone(), *enabled);
        let mut s = settings.clone();
        async move {
            let Some(s) = s.as_mut() else { return };
            s.schedule = enabled.then(|| Schedule {
                days: days.get_untracked(),
                wake: wake.get_untracked(),
                sleep: sleep.get_untracked(),
                time_zone: tz.get_untracked(),
            });
            put(env, s.clone(), changed, message).await
        }
    });
    let settings = power.settings.clone();
    let idle_env = env.clone();
    let save_idle = Action::new_local(move |_: &()| {
        let (env, mut s, text) = (idle_env.clone(), settings.clone(), idle.get_untracked());
        async move {
            let Some(s) = s.as_mut() else { return };
            s.idle_sleep_mins = match text.trim() {
                "" => None,
                t => match t.parse() {
                    Ok(m) => Some(m),
                    Err(_) => return message.set(Some(format!("idle sleep: {t:?} is not a number of minutes (empty: never)"))),
                },
            };
            put(env, s.clone(), changed, message).await
        }
    });
    let keep_env = env.clone();
    let keep = Action::new_local(move |value: &Option<String>| {
        let (env, value) = (keep_env.clone(), value.clone());
        async move {
            match api::keep_awake(env, value).await {
                Ok(_) => changed.run(()),
                Err(e) => message.set(Some(e.to_string())),
            }
        }
    });
    let has_schedule = power.settings.as_ref().is_some_and(|s| s.schedule.is_some());
    let may_configure = power.may_configure;
    view! {
        <details class="schedule" data-testid="schedule">
            <summary>
                {if has_schedule { format!("Schedule: {} {}–{} ({})", current.days.join(","), current.wake, current.sleep, current.time_zone) } else { "No schedule".to_string() }}
                {next.map(|n| view! { <span class="small muted" data-testid="next-run">" · " {n}</span> })}
                {kept.map(|k| view! { <span class="small" data-testid="kept-awake">" · " {k}</span> })}
            </summary>
            <div class="schedule-days">
                {WEEKDAYS.iter().map(|d| {
                    let d = d.to_string();
                    let on = d.clone();
                    view! {
                        <label>
                            <input type="checkbox" prop:checked=move || days.with(|v| v.contains(&on)) on:change={
                                let d = d.clone();
                                move |ev| {
                                    let checked = event_target_checked(&ev);
                                    days.update(|v| { v.retain(|x| *x != d); if checked { v.push(d.clone()); } });
                                }
                            }/>
                            {d.clone()}
                        </label>
                    }
                }).collect_view()}
            </div>
            <label>"Wake " <input type="time" prop:value=move || wake.get() on:change=move |ev| wake.set(event_target_value(&ev))/></label>
            <label>" Sleep " <input type="time" prop:value=move || sleep.get() on:change=move |ev| sleep.set(event_target_value(&ev))/></label>
            <label>" Time zone " <input type="text" data-testid="tz" prop:value=move || tz.get() on:change=move |ev| tz.set(event_target_value(&ev))/></label>
            <button class="secondary" disabled=!may_configure on:click=move |_| { save.dispatch(true); }>"Save schedule"</button>
            <button class="secondary" disabled=!may_configure on:click=move |_| { save.dispatch(false); }>"No schedule"</button>
            {(!may_configure).then(|| view! { <span class="small muted">" Changing the schedule needs the admin role."</span> })}
            <div class="idle-sleep">
                <label>"Sleep after " <input type="number" min="5" max="1440" data-testid="idle-mins" placeholder="never" prop:value=move || idle.get() on:change=move |ev| idle.set(event_target_value(&ev))/>" min without requests "</label>
                <button class="secondary" disabled=!may_configure on:click=move |_| { save_idle.dispatch(()); }>"Save idle sleep"</button>
            </div>
            <div class="keep-awake">
                <label>"Keep awake until " <input type="time" prop:value=move || until.get() on:change=move |ev| until.set(event_target_value(&ev))/></label>
                <button class="secondary" on:click=move |_| { keep.dispatch(Some(until.get_untracked())); }>"Keep awake"</button>
                <button class="secondary" on:click=move |_| { keep.dispatch(None); }>"Remove"</button>
            </div>
            {move || message.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </details>
    }
}

/// Saves the settings: the panel is drawn again from them, or says why not.
async fn put(env: String, s: PowerSettings, changed: Callback<()>, message: RwSignal<Option<String>>) {
    match api::put_power(env, s).await {
        Ok(_) => changed.run(()),
        Err(e) => message.set(Some(e.to_string())),
    }
}
