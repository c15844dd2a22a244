//! Idle sleep's countdown on an environment's card: "idle for 42 min, sleeps
//! in 18 min". It has its own read of the power, again every 15 s while the
//! environment is awake under idle sleep, so the rest of the card (an open
//! schedule editor, a followed run) is not drawn again.

use std::time::Duration;

use leptos::prelude::*;
use mezame_shared::power::Idle;

use crate::api;
use crate::components::refresh::refresh_while;

#[component]
pub fn IdleLine(env: String, #[prop(into)] on: Signal<bool>) -> impl IntoView {
    let read = LocalResource::new(move || api::get_power(env.clone()));
    refresh_while(move || on.get(), Duration::from_secs(15), move || read.refetch(), || {});
    move || {
        let idle = read.get().and_then(Result::ok).filter(|_| on.get()).and_then(|p| p.idle)?;
        Some(view! { <p class="small" data-testid="idle">{text(&idle)}</p> })
    }
}

fn text(i: &Idle) -> String {
    let mins = |s: i64| (s + 59) / 60;
    if i.sleeps_in_secs > 0 {
        format!("idle for {} min, sleeps in {} min", i.idle_secs / 60, mins(i.sleeps_in_secs))
    } else {
        format!("idle for {} min: going to sleep", i.idle_secs / 60)
    }
}
