//! Timings of the live topology, for `cargo xtask bench topology`: the page
//! publishes them on `window.__mezame_perf` (`first_render_ms` since
//! navigation start, and `delta_ms`, the time to apply each delta and render
//! it, started at `delta_at_ms`). A timing is taken when the page's effects have run (a zero timeout
//! after the change), so it includes Leptos' re-render. Marks on the way to
//! the first render (`wasm_started_ms`, `stream_opened_ms`, `snapshot_ms`,
//! `parsed_ms`, `rows_ms`: the rows' signals set) say
//! where its time goes. The Node groups page marks its first read of the
//! view (`capacity_fetched_ms`, `capacity_parsed_ms`, `capacity_apply_ms`,
//! `capacity_applied_ms`, `capacity_card_<n>_ms` for each card drawn after the groups) for `cargo xtask bench capacity`.

use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since navigation start.
pub fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default()
}

fn perf_object() -> Option<js_sys::Object> {
    let window: JsValue = web_sys::window()?.into();
    let key = JsValue::from_str("__mezame_perf");
    match js_sys::Reflect::get(&window, &key).ok().filter(|v| v.is_object()) {
        Some(o) => Some(o.into()),
        None => {
            let o = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str("delta_ms"), &js_sys::Array::new());
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str("delta_at_ms"), &js_sys::Array::new());
            let _ = js_sys::Reflect::set(&window, &key, &o);
            Some(o)
        }
    }
}

/// Records `name` (milliseconds since navigation start), once.
pub fn mark(name: &str) {
    if let Some(o) = perf_object() {
        let key = JsValue::from_str(name);
        if js_sys::Reflect::get(&o, &key).map(|v| v.is_undefined()).unwrap_or(true) {
            let _ = js_sys::Reflect::set(&o, &key, &JsValue::from_f64(now()));
        }
    }
}

/// After the re-render that follows now: records the first full render.
pub fn first_render_done() {
    leptos::prelude::set_timeout(|| mark("first_render_ms"), std::time::Duration::ZERO);
}

/// After the re-render that follows now: records a delta applied since `started`.
pub fn delta_done(started: f64) {
    leptos::prelude::set_timeout(
        move || {
            let Some(o) = perf_object() else { return };
            // The page's own arrays (`Array::from` would copy them).
            let push = |key: &str, ms: f64| {
                if let Ok(list) = js_sys::Reflect::get(&o, &JsValue::from_str(key)) {
                    list.unchecked_into::<js_sys::Array>().push(&JsValue::from_f64(ms));
                }
            };
            push("delta_ms", now() - started);
            push("delta_at_ms", started);
        },
        std::time::Duration::ZERO,
    );
}
