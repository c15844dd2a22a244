//! The header: product name, environment selector, navigation.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use super::nav::{Nav, selected_env, with_env};
use crate::EnvsResource;

#[component]
pub fn Header() -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let env = selected_env();
    let location = use_location();
    let navigate = use_navigate();
    let names = move || {
        envs.get()
            .and_then(|r| r.ok())
            .map(|list| list.envs.into_iter().map(|e| e.name).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let on_change = move |ev| {
        let value = event_target_value(&ev);
        let path = location.pathname.get_untracked();
        let target = with_env(&path, (!value.is_empty()).then_some(value.as_str()));
        navigate(&target, NavigateOptions::default());
    };
    view! {
        <header class="header">
            <a class="brand" href=move || with_env("/", env.get().as_deref())>
                <span class="brand-mark" aria-hidden="true">"◐"</span>
                " mezame"
            </a>
            <label class="env-select">
                "Environment "
                <select on:change=on_change>
                    <option value="">"all"</option>
                    {move || {
                        names()
                            .into_iter()
                            .map(|name| {
                                let value = name.clone();
                                let this = name.clone();
                                let selected = move || env.get().as_deref() == Some(this.as_str());
                                view! { <option value=value selected=selected>{name}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <Nav/>
        </header>
    }
}
