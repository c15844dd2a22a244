//! Environments: each configured environment with the reachability of its
//! Kubernetes API server and AWS account (from `GET /api/envs`).

use leptos::prelude::*;
use mezame_shared::envs::{AwsReachability, ClusterReachability, EnvStatus, Probe};

use crate::EnvsResource;
use crate::components::nav::selected_env;

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
            <Suspense fallback=|| view! { <p class="loading">"Checking environments…"</p> }>
                {move || Suspend::new(async move {
                    match envs.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.envs.is_empty() => view! { <NoEnvironments/> }.into_any(),
                        Ok(list) => {
                            let only = env.get_untracked();
                            view! {
                                <div class="cards">
                                    {list
                                        .envs
                                        .into_iter()
                                        .filter(|e| only.as_ref().is_none_or(|o| *o == e.name))
                                        .map(|e| view! { <EnvCard env=e/> })
                                        .collect_view()}
                                </div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
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
    view! {
        <article class="card env-card" data-env=env.name.clone() class:unhealthy=!healthy>
            <header>
                <h2>{env.name.clone()}</h2>
                {env.protected.then(|| view! { <span class="badge protected" title="Never put to sleep">"protected"</span> })}
            </header>
            <ClusterBlock k=env.kubernetes/>
            <AwsBlock a=env.aws/>
        </article>
    }
}

#[component]
fn ClusterBlock(k: ClusterReachability) -> impl IntoView {
    let detail = match &k.result {
        Probe::Ok { value } => view! {
            <dd class="ok" data-testid="k8s-ok">
                "Kubernetes " {value.server_version.clone()} " · "
                {value.ready_node_count} "/" {value.node_count} " nodes ready"
            </dd>
        }
        .into_any(),
        Probe::Error { message } => view! {
            <dd class="error" data-testid="k8s-error">{message.clone()}</dd>
        }
        .into_any(),
    };
    view! {
        <dl class="probe">
            <dt>"Cluster"</dt>
            {detail}
            <dd class="meta">
                {k.context.map(|c| format!("context {c}"))}
                {k.server.map(|s| format!(" · {s}"))}
                {format!(" · {} ms", k.elapsed_ms)}
            </dd>
        </dl>
    }
}

#[component]
fn AwsBlock(a: AwsReachability) -> impl IntoView {
    let detail = match &a.result {
        Probe::Ok { value } => view! {
            <dd class="ok" data-testid="aws-ok">"account " {value.account.clone()} " · " {value.arn.clone()}</dd>
        }
        .into_any(),
        Probe::Error { message } => view! {
            <dd class="error" data-testid="aws-error">{message.clone()}</dd>
        }
        .into_any(),
    };
    view! {
        <dl class="probe">
            <dt>"AWS"</dt>
            {detail}
            <dd class="meta">
                {a.region.map(|r| format!("region {r}"))}
                {a.profile.map(|p| format!(" · profile {p}"))}
                {a.endpoint_url.map(|u| format!(" · endpoint {u}"))}
                {format!(" · {} ms", a.elapsed_ms)}
            </dd>
        </dl>
    }
}
