//! The header: product name, environment selector, navigation.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use super::nav::{Nav, selected_env, with_env};
use crate::api::{self, EnvsResource, MeResource};

#[component]
pub fn Header() -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let env = selected_env();
    let location = use_location();
    let navigate = use_navigate();
    let names =
        move || envs.get().and_then(|r| r.ok()).map(|list| list.envs.into_iter().map(|e| e.name).collect::<Vec<_>>()).unwrap_or_default();
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
            <UserMenu/>
        </header>
    }
}

/// The signed-in person, their role in the selected environment, and Sign out.
#[component]
fn UserMenu() -> impl IntoView {
    let MeResource(me) = expect_context();
    let env = selected_env();
    let sign_out = Action::new_local(|_: &()| async move {
        if let Ok(out) = api::logout().await {
            let _ = window().location().set_href(&out.redirect);
        }
    });
    view! {
        <div class="user" data-testid="user">
            {move || me.get().and_then(Result::ok).map(|m| {
                let role = match env.get() {
                    Some(e) => m.roles.iter().find(|r| r.env == e).map(|r| r.role.map(|r| r.as_str()).unwrap_or("no access")).unwrap_or("").to_string(),
                    None => {
                        let mut roles: Vec<&str> = m.roles.iter().filter_map(|r| r.role.map(|r| r.as_str())).collect();
                        roles.dedup();
                        roles.join("/")
                    }
                };
                let can_sign_out = m.sign_in && m.via == mezame_shared::auth::Via::Session;
                view! {
                    <span class="user-name" data-testid="user-name" title=m.groups.join(", ")>{m.name.clone()}</span>
                    <span class="badge role" data-testid="user-role">{role}</span>
                    <a href="/tokens" class="user-link">"Tokens"</a>
                    {can_sign_out.then(|| view! {
                        <button class="secondary small" data-testid="sign-out" on:click=move |_| { sign_out.dispatch(()); }>"Sign out"</button>
                    })}
                }
            })}
        </div>
    }
}

/// A warning on every page when the server says so (e.g. sign-in is off).
#[component]
pub fn Banner() -> impl IntoView {
    let MeResource(me) = expect_context();
    move || {
        me.get()
            .and_then(Result::ok)
            .and_then(|m| m.banner)
            .map(|b| view! { <div class="banner" role="alert" data-testid="banner">{b}</div> })
    }
}
