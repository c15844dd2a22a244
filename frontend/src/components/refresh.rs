//! Re-reading something on a timer only while it is changing (a run in
//! progress, a Job running), and never after the page is gone.

use std::time::Duration;

use leptos::prelude::*;

/// Calls `tick` every `every` while `active()` holds; calls `stopped` once
/// each time `active()` turns false after having been true.
pub fn refresh_while(
    active: impl Fn() -> bool + 'static,
    every: Duration,
    tick: impl Fn() + Clone + 'static,
    stopped: impl Fn() + 'static,
) {
    let timer = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move |was: Option<bool>| {
        let on = active();
        if let Some(h) = timer.get_value() {
            h.clear();
            timer.set_value(None);
        }
        if on {
            timer.set_value(set_interval_with_handle(tick.clone(), every).ok());
        } else if was == Some(true) {
            stopped();
        }
        on
    });
    on_cleanup(move || {
        if let Some(h) = timer.get_value() {
            h.clear();
        }
    });
}
