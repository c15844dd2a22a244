//! Placeholder for pages that are planned but not built yet: says so plainly.

use leptos::prelude::*;

#[component]
pub fn NotBuilt(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <section class="not-built">
            <h1>{title}</h1>
            <p class="notice">
                <strong>"Not built yet. "</strong>
                "This page will show " {what} "."
            </p>
        </section>
    }
}
