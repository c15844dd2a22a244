//! Any path the router does not know.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[component]
pub fn NotFound() -> impl IntoView {
    let location = use_location();
    view! {
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no page at " <code>{move || location.pathname.get()}</code> ". "
               <a href="/envs">"Go to Environments"</a> "."</p>
        </section>
    }
}
