//! Sign-in from the app's side: a request answered 401 sends the browser to
//! mezame's sign-in (`/auth/login`), which brings it back to the same page.
//! Not from the signed-out page, and not twice within 15 s (a session that
//! is refused right after signing in would otherwise loop).

use leptos::prelude::*;

const LAST: &str = "mezame-sign-in-at";

/// The page's path and query, to come back to.
fn here() -> String {
    let location = window().location();
    format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default())
}

/// Goes to `/auth/login?return_to=<this page>`, unless that would loop.
pub fn go_sign_in() {
    let path = here();
    if path.starts_with("/signed-out") {
        return;
    }
    let now = js_sys::Date::now();
    let storage = window().session_storage().ok().flatten();
    let last = storage.as_ref().and_then(|s| s.get_item(LAST).ok().flatten()).and_then(|v| v.parse::<f64>().ok());
    if last.is_some_and(|t| now - t < 15_000.0) {
        return;
    }
    if let Some(s) = &storage {
        let _ = s.set_item(LAST, &now.to_string());
    }
    let _ = window().location().set_href(&sign_in_url(&path));
}

pub fn sign_in_url(return_to: &str) -> String {
    format!("/auth/login?return_to={}", js_sys::encode_uri_component(return_to))
}

/// After signing out.
#[component]
pub fn SignedOut() -> impl IntoView {
    view! {
        <section class="signed-out">
            <h1>"Signed out"</h1>
            <p>"Your mezame session has ended. " <a href=sign_in_url("/envs") data-testid="sign-in-again">"Sign in again"</a></p>
        </section>
    }
}
