//! Tokens: the API tokens of the signed-in person (make one — shown once —,
//! see when each was last used, revoke), and their sign-in sessions.

use leptos::prelude::*;
use mezame_shared::auth::{NewToken, Role, SessionInfo, TokenInfo};

use crate::api::{self, EnvsResource, MeResource};

#[component]
pub fn TokensPage() -> impl IntoView {
    let tokens = LocalResource::new(api::get_tokens);
    let sessions = LocalResource::new(api::get_sessions);
    let MeResource(me) = expect_context();
    let may_create = move || me.get().and_then(Result::ok).is_some_and(|m| m.may_create_tokens);
    view! {
        <section class="tokens">
            <div class="page-title"><h1>"API tokens"</h1>
                <span class="hint">"For scripts and CI: send " <code>"Authorization: Bearer <token>"</code></span></div>
            {move || may_create().then(|| view! { <NewTokenForm tokens/> })}
            {move || tokens.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(l) if l.tokens.is_empty() => view! { <p class="empty">"No API token yet."</p> }.into_any(),
                Ok(l) => view! {
                    <table class="table" data-testid="token-list">
                        <thead><tr><th>"Name"</th><th>"Role"</th><th>"Environments"</th><th>"Expires"</th><th>"Last used"</th><th>""</th></tr></thead>
                        <tbody>{l.tokens.into_iter().map(|t| view! { <TokenRow t tokens/> }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
            <h2>"Sessions"</h2>
            {move || sessions.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(l) => view! {
                    <table class="table" data-testid="session-list">
                        <thead><tr><th>"Signed in"</th><th>"Last seen"</th><th>"Ends"</th><th>"Browser"</th><th>""</th></tr></thead>
                        <tbody>{l.sessions.into_iter().map(|s| view! { <SessionRow s sessions/> }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </section>
    }
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| crate::components::time::fmt(&t, "%Y-%m-%d %H:%M UTC")).unwrap_or_else(|| "never".into())
}

#[component]
fn TokenRow(t: TokenInfo, tokens: LocalResource<Result<mezame_shared::auth::TokenList, api::ApiFailure>>) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    let id = t.id.clone();
    let revoke = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            match api::revoke_token(id).await {
                Ok(()) => tokens.refetch(),
                Err(e) => failure.set(Some(e.to_string())),
            }
        }
    });
    let state = if t.revoked_at.is_some() { "revoked" } else { "" };
    let revocable = t.revoked_at.is_none() && !t.from_config;
    view! {
        <tr data-testid="token" data-name=t.name.clone() data-state=state>
            <td>{t.name.clone()}{t.from_config.then_some(" (configuration)")}</td>
            <td>{t.role.as_str()}</td>
            <td>{t.envs.join(", ")}</td>
            <td>{if t.from_config { "—".to_string() } else { time(t.expires_at) }}</td>
            <td data-testid="last-used">{time(t.last_used_at)}</td>
            <td>
                {revocable.then(|| view! { <button class="secondary small" on:click=move |_| { revoke.dispatch(()); }>"Revoke"</button> })}
                {(!state.is_empty()).then(|| view! { <span class="muted">{format!("revoked {}", time(t.revoked_at))}</span> })}
                {move || failure.get().map(|e| view! { <span class="error">{e}</span> })}
            </td>
        </tr>
    }
}

#[component]
fn SessionRow(s: SessionInfo, sessions: LocalResource<Result<mezame_shared::auth::SessionList, api::ApiFailure>>) -> impl IntoView {
    let id = s.id.clone();
    let end = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            let _ = api::end_session(id).await;
            sessions.refetch();
        }
    });
    view! {
        <tr data-testid="session">
            <td>{time(Some(s.created_at))}{s.current.then_some(" (this one)")}</td>
            <td>{time(Some(s.last_seen_at))}</td>
            <td>{time(Some(s.expires_at))}</td>
            <td class="small">{s.user_agent.unwrap_or_default()}</td>
            <td>{(!s.current).then(|| view! { <button class="secondary small" on:click=move |_| { end.dispatch(()); }>"End"</button> })}</td>
        </tr>
    }
}

#[component]
fn NewTokenForm(tokens: LocalResource<Result<mezame_shared::auth::TokenList, api::ApiFailure>>) -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let scope = RwSignal::new("*".to_string());
    let days = RwSignal::new("30".to_string());
    let created = RwSignal::new(None::<Result<String, String>>);
    let create = Action::new_local(move |_: &()| async move {
        let new = NewToken {
            name: name.get_untracked(),
            role: Role::parse(&role.get_untracked()).unwrap_or(Role::Viewer),
            envs: vec![scope.get_untracked()],
            expires_in_days: days.get_untracked().trim().parse().unwrap_or(0),
        };
        created.set(Some(api::create_token(new).await.map(|c| c.token).map_err(|e| e.to_string())));
        tokens.refetch();
    });
    let env_names =
        move || envs.get().and_then(Result::ok).map(|l| l.envs.into_iter().map(|e| e.name).collect::<Vec<_>>()).unwrap_or_default();
    view! {
        <div class="card new-token">
            <h2>"New token"</h2>
            <div class="form-row">
                <label>"Name" <input data-testid="token-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) placeholder="ci-wake-dev"/></label>
                <label>"Role"
                    <select data-testid="token-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=move || role.get() == r.as_str()>{r.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Environments"
                    <select data-testid="token-envs" on:change=move |ev| scope.set(event_target_value(&ev))>
                        <option value="*">"all"</option>
                        {move || env_names().into_iter().map(|e| view! { <option value=e.clone()>{e.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Expires in (days)" <input type="number" min="1" max="365" data-testid="token-days" prop:value=days on:input=move |ev| days.set(event_target_value(&ev))/></label>
                <button class="primary" data-testid="token-create" on:click=move |_| { create.dispatch(()); }>"Create"</button>
            </div>
            {move || created.get().map(|r| match r {
                Ok(secret) => view! {
                    <div class="notice" data-testid="token-created">
                        <p>"Copy it now: it is not shown again."</p>
                        <code class="token-secret" data-testid="token-secret">{secret}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </div>
    }
}
