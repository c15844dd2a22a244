//! Environments: each configured environment with the reachability of its
//! Kubernetes API server and AWS account (from `GET /api/envs`), and its
//! power: state, Wake/Sleep, the live steps of a run, run history, idle sleep's
//! countdown; its public
//! hostnames and where DNS points them.

mod idle;
pub(crate) mod live_run;
pub(crate) mod power;
mod public;
mod schedule;

use leptos::prelude::*;
use mezame_shared::envs::{EnvStatus, Probe};

use crate::api::EnvsResource;
use crate::components::nav::selected_env;
use power::PowerPanel;

#[component]
pub fn Environments() -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let env = selected_env();
    // What the page shows, apart from the cards' contents: a re-read that
    // answers the same kind (the usual case: a run ended, "Check again")
    // renders nothing again, so each card, with the run it follows, stays.
    let shown = Memo::new(move |_| match envs.get() {
        None => Shown::Loading,
        Some(Err(e)) => Shown::Failed(e.to_string()),
        Some(Ok(list)) if list.envs.is_empty() => Shown::NoEnvironments,
        Some(Ok(_)) => Shown::Cards,
    });
    // The environments listed (only the chosen one, if any), by name.
    let names = Memo::new(move |_| match envs.get() {
        Some(Ok(list)) => {
            let only = env.get();
            list.envs.into_iter().map(|e| e.name).filter(|n| only.as_ref().is_none_or(|o| o == n)).collect()
        }
        _ => Vec::<String>::new(),
    });
    view! {
        <section class="envs">
            <div class="page-title">
                <h1>"Environments"</h1>
                <button class="secondary" on:click=move |_| envs.refetch()>"Check again"</button>
            </div>
            {move || match shown.get() {
                Shown::Loading => view! { <p class="loading">"Checking environments…"</p> }.into_any(),
                Shown::Failed(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Shown::NoEnvironments => view! { <NoEnvironments/> }.into_any(),
                Shown::Cards => view! {
                    <div class="cards">
                        <For each=move || names.get() key=|n| n.clone() let:name>
                            <EnvCard name/>
                        </For>
                    </div>
                }
                .into_any(),
            }}
        </section>
    }
}

/// The page's state, apart from the cards' contents.
#[derive(Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(String),
    NoEnvironments,
    Cards,
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

/// One environment's card. It lives as long as the environment is listed:
/// its probes follow each re-read of `GET /api/envs`; its power panel (and
/// the run it follows) is not rebuilt by one.
#[component]
fn EnvCard(name: String) -> impl IntoView {
    let EnvsResource(envs) = expect_context();
    let status_of = name.clone();
    let status = Memo::new(move |_| match envs.get() {
        Some(Ok(list)) => list.envs.into_iter().find(|e| e.name == status_of),
        _ => None,
    });
    let protected = move || status.get().is_some_and(|e| e.protected);
    let healthy = move || status.get().is_some_and(|e| e.kubernetes.result.ok().is_some() && e.aws.result.ok().is_some());
    view! {
        <article class="card env-card" data-env=name.clone() class:unhealthy=move || !healthy()>
            <header>
                <h2>{name.clone()}</h2>
                {move || protected().then(|| view! { <span class="badge protected" title="Never put to sleep">"protected"</span> })}
            </header>
            <PowerPanel env=name.clone()/>
            {move || status.get().map(probes)}
        </article>
    }
}

/// The two reachability checks of an environment.
fn probes(env: EnvStatus) -> impl IntoView {
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
        <ProbeBlock title="Cluster" testid="k8s" result=cluster meta=cluster_meta/>
        <ProbeBlock title="AWS" testid="aws" result=aws meta=aws_meta/>
        {env.public.map(public::public_hosts)}
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
