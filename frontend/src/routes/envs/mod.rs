//! Environments: each configured environment with the reachability of its
//! Kubernetes API server and AWS account (from `GET /api/envs`), and its
//! power: state, Wake/Sleep, the live steps of a run, run history.

mod live_run;
mod power;
mod schedule;

use leptos::prelude::*;
use mezame_shared::envs::{EnvList, EnvStatus, Probe};

use crate::api::ApiFailure;

use crate::api::EnvsResource;
use crate::components::nav::selected_env;
use power::PowerPanel;

#[component]
pub fn Environments() -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let env = selected_env();
    view! {
        <section class="envs">
            <div class="page-title">
                <h1>"Environments"</h1>
                <button class="secondary" on:click=move |_| envs.refetch()>"Check again"</button>
            </div>
            // A Transition: checking again keeps the cards until the new answer.
            <Transition fallback=|| view! { <p class="loading">"Checking environments…"</p> }>
                {move || {
                    // Tracked here, outside the async block, so that choosing
                    // another environment re-renders the list.
                    let only = env.get();
                    Suspend::new(async move { env_cards(envs.await, only) })
                }}
            </Transition>
        </section>
    }
}

/// A card per environment (only `only`, if given), or why there is none.
fn env_cards(result: Result<EnvList, ApiFailure>, only: Option<String>) -> AnyView {
    match result {
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        Ok(list) if list.envs.is_empty() => view! { <NoEnvironments/> }.into_any(),
        Ok(list) => view! {
            <div class="cards">
                {list
                    .envs
                    .into_iter()
                    .filter(|e| only.as_ref().is_none_or(|o| *o == e.name))
                    .map(|e| view! { <EnvCard env=e/> })
                    .collect_view()}
            </div>
        }
        .into_any(),
    }
}

/// What to do when the server runs without environments.
#[component]
fn NoEnvironments() -> impl IntoView {
    view! {
        <div class="empty" data-testid="no-envs">
            <h2>"No environments configured"</h2>
            <p>"mezame was started without a configuration, so it knows no cluster yet. To add one:"</p>
            <ol>
                <li>"Copy " <code>"mezame.example.toml"</code> " from the repository to " <code>"mezame.toml"</code> "."</li>
                <li>"Give each environment a kubeconfig context and an AWS profile and region:"</li>
            </ol>
            <pre>
"[[env]]
name = \"dev\"
[env.kubernetes]
context = \"platform-dev\"
[env.aws]
profile = \"platform-dev\"
region = \"eu-west-1\""
            </pre>
            <ol start="3">
                <li>"Restart with " <code>"mezame serve --config mezame.toml"</code>
                    ", or try the sandbox: " <code>"cargo xtask run"</code> "."</li>
            </ol>
        </div>
    }
}

#[component]
fn EnvCard(env: EnvStatus) -> impl IntoView {
    let healthy = env.kubernetes.result.ok().is_some() && env.aws.result.ok().is_some();
    let k = &env.kubernetes;
    let cluster = text(&k.result, |v| format!("Kubernetes {} · {}/{} nodes ready", v.server_version, v.ready_node_count, v.node_count));
    let cluster_meta = meta(&[k.context.as_ref().map(|c| format!("context {c}")), Some(format!("{} ms", k.elapsed_ms))]);
    let a = &env.aws;
    let aws = text(&a.result, |v| format!("account {} · {}", v.account, v.arn));
    let aws_meta = meta(&[
        a.region.as_ref().map(|r| format!("region {r}")),
        a.profile.as_ref().map(|p| format!("profile {p}")),
        Some(format!("{} ms", a.elapsed_ms)),
    ]);
    view! {
        <article class="card env-card" data-env=env.name.clone() class:unhealthy=!healthy>
            <header>
                <h2>{env.name.clone()}</h2>
                {env.protected.then(|| view! { <span class="badge protected" title="Never put to sleep">"protected"</span> })}
            </header>
            <PowerPanel env=env.name.clone()/>
            <ProbeBlock title="Cluster" testid="k8s" result=cluster meta=cluster_meta/>
            <ProbeBlock title="AWS" testid="aws" result=aws meta=aws_meta/>
        </article>
    }
}

/// What a check found, in words, or its error.
fn text<T>(probe: &Probe<T>, describe: impl Fn(&T) -> String) -> Result<String, String> {
    match probe {
        Probe::Ok { value } => Ok(describe(value)),
        Probe::Error { message } => Err(message.clone()),
    }
}

fn meta(parts: &[Option<String>]) -> String {
    parts.iter().flatten().cloned().collect::<Vec<_>>().join(" · ")
}

/// One reachability check: its result (green) or error (red), and details.
#[component]
fn ProbeBlock(title: &'static str, testid: &'static str, result: Result<String, String>, meta: String) -> impl IntoView {
    let detail = match result {
        Ok(text) => view! { <dd class="ok" data-testid=format!("{testid}-ok")>{text}</dd> }.into_any(),
        Err(message) => view! { <dd class="error" data-testid=format!("{testid}-error")>{message}</dd> }.into_any(),
    };
    view! {
        <dl class="probe">
            <dt>{title}</dt>
            {detail}
            <dd class="meta">{meta}</dd>
        </dl>
    }
}
