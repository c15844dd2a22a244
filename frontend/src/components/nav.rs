//! Links that keep the selected environment (`?env=`) in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The environment selected in the URL, if any.
pub fn selected_env() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("env").filter(|e| !e.is_empty()))
}

/// Whether `env` is protected (then an action asks to type its name), as
/// soon as the environment list is known.
pub fn protected(env: String) -> Signal<bool> {
    let crate::api::EnvsResource(envs) = expect_context();
    Signal::derive(move || envs.get().and_then(Result::ok).is_some_and(|l| l.envs.iter().any(|e| e.name == env && e.protected)))
}

/// Whether the signed-in person may act (not only read) in `env`: an
/// operator, or an admin in a protected environment.
pub fn may_act(env: String) -> Signal<bool> {
    let crate::api::MeResource(me) = expect_context();
    let is_protected = protected(env.clone());
    Signal::derive(move || {
        let need = if is_protected.get() { mezame_shared::auth::Role::Admin } else { mezame_shared::auth::Role::Operator };
        me.get().and_then(Result::ok).is_some_and(|m| m.roles.iter().any(|r| r.env == env && r.role.is_some_and(|have| have >= need)))
    })
}

/// `path` with the selected environment appended as `?env=`.
pub fn with_env(path: &str, env: Option<&str>) -> String {
    match env {
        Some(env) => format!("{path}?env={}", crate::api::encode(env)),
        None => path.to_string(),
    }
}

/// The main navigation; the current page is marked with `aria-current="page"`.
#[component]
pub fn Nav() -> impl IntoView {
    let env = selected_env();
    let location = leptos_router::hooks::use_location();
    let pages = [
        ("/topology", "Topology"),
        ("/envs", "Environments"),
        ("/nodegroups", "Node groups"),
        ("/deploys", "Deploys"),
        ("/jobs", "Jobs"),
        ("/audit", "Audit"),
    ];
    view! {
        <nav class="nav" aria-label="Main">
            {pages
                .into_iter()
                .map(|(path, label)| {
                    let current = move || {
                        let here = location.pathname.get();
                        (here == path || (path == "/envs" && here == "/")).then_some("page")
                    };
                    view! {
                        <a href=move || with_env(path, env.get().as_deref()) aria-current=current>
                            {label}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// The selected environment, else the first configured one (pages that show
/// one environment at a time).
pub fn env_or_first() -> Signal<Option<String>> {
    let crate::api::EnvsResource(envs) = expect_context();
    let selected = selected_env();
    Signal::derive(move || selected.get().or_else(|| envs.get().and_then(|r| r.ok()).and_then(|l| l.envs.first().map(|e| e.name.clone()))))
}
