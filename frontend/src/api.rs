//! Calls to the server's `/api`, typed with `mezame-shared`.

use std::fmt;

use mezame_shared::audit::AuditPage;
use mezame_shared::auth::{Confirm, LoggedOut, Me, NewToken, SessionList, TokenCreated, TokenList};
use mezame_shared::capacity::{DrainPreflight, DrainRequest, GroupChange, GroupChanged, NodeCordon};
use mezame_shared::cronjobs::{CronJobList, JobCreated};
use mezame_shared::deploys::{DeployChange, PromoteRequest, RollbackRequest};
use mezame_shared::envs::EnvList;
use mezame_shared::error::ErrorBody;
use mezame_shared::power::{GroupKind, KeepAwake, KeepAwakeSet, Power, PowerSettings, Run, RunAction, RunList, RunStarted};
use mezame_shared::topology::{PodFields, ServiceDetail};
use serde::de::DeserializeOwned;

/// The environment list, fetched once and shared by the header and the pages.
#[derive(Clone, Copy)]
pub struct EnvsResource(pub leptos::prelude::LocalResource<Result<EnvList, ApiFailure>>);

/// Who is signed in (a 401 sends the browser to sign in).
#[derive(Clone, Copy)]
pub struct MeResource(pub leptos::prelude::LocalResource<Result<Me, ApiFailure>>);

/// Why a call failed, in words for the page.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server answered with an error body.
    Server { status: u16, code: String, message: String },
    /// The request did not get an answer, or the answer was not understood.
    Network(String),
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiFailure::Server { status, code, message } => write!(f, "{message} ({status} {code})"),
            ApiFailure::Network(m) => write!(f, "cannot reach the mezame server: {m}"),
        }
    }
}

// The transport below is not generic: only the (de)serialisation at the edges
// is, so each API type adds its serde code and nothing else to the bundle.

/// GET a JSON document.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    get_marked(path, None).await
}

/// GET a JSON document; with `marks`, the performance marks set when its text
/// arrived and when it was parsed (the benches read them).
async fn get_marked<T: DeserializeOwned>(path: &str, marks: Option<(&str, &str)>) -> Result<T, ApiFailure> {
    let text = exchange(gloo_net::http::Request::get(path).build(), path).await?;
    if let Some((fetched, _)) = marks {
        crate::components::perf::mark(fetched);
    }
    let document = parse(path, &text);
    if let Some((_, parsed)) = marks {
        crate::components::perf::mark(parsed);
    }
    document
}

/// POST a JSON body (`{}` when there is nothing to say: the server takes
/// mutations only as JSON), expecting a JSON answer.
pub async fn post<B: serde::Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiFailure> {
    parse(path, &with_body(gloo_net::http::Method::POST, path, to_json(body)?).await?)
}

/// PUT a JSON body, expecting a JSON answer.
pub async fn put<B: serde::Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiFailure> {
    parse(path, &with_body(gloo_net::http::Method::PUT, path, to_json(body)?).await?)
}

/// PATCH with a JSON body, expecting a JSON answer.
pub async fn patch<B: serde::Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiFailure> {
    parse(path, &with_body(gloo_net::http::Method::PATCH, path, to_json(body)?).await?)
}

/// DELETE, expecting a JSON answer (or none).
pub async fn delete(path: &str) -> Result<(), ApiFailure> {
    with_body(gloo_net::http::Method::DELETE, path, String::new()).await.map(|_| ())
}

/// `{}`
#[derive(serde::Serialize)]
pub struct Empty {}

fn to_json<B: serde::Serialize>(body: &B) -> Result<String, ApiFailure> {
    serde_json::to_string(body).map_err(|e| ApiFailure::Network(e.to_string()))
}

fn parse<T: DeserializeOwned>(path: &str, text: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(text).map_err(|e| ApiFailure::Network(format!("unexpected answer from {path}: {e}")))
}

/// Sends `body` (JSON) with `method`; the answer's text.
async fn with_body(method: gloo_net::http::Method, path: &str, body: String) -> Result<String, ApiFailure> {
    let request = gloo_net::http::RequestBuilder::new(path).method(method).header("content-type", "application/json");
    let request = if body.is_empty() { request.build() } else { request.body(body) };
    exchange(request, path).await
}

/// Sends the request; the text of a 2xx answer, or the failure the server
/// (or the network) reports. A 401 sends the browser to sign in.
async fn exchange(request: Result<gloo_net::http::Request, gloo_net::Error>, path: &str) -> Result<String, ApiFailure> {
    let response = request.map_err(|e| ApiFailure::Network(e.to_string()))?.send().await.map_err(|e| ApiFailure::Network(e.to_string()))?;
    let status = response.status();
    if status == 401 {
        crate::components::signin::go_sign_in();
    }
    let text = response.text().await.map_err(|e| ApiFailure::Network(e.to_string()))?;
    if response.ok() {
        return Ok(text);
    }
    Err(match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiFailure::Server { status, code: body.error.code, message: body.error.message },
        Err(_) => ApiFailure::Server { status, code: "unknown".into(), message: format!("{path} answered {status}") },
    })
}

pub async fn get_envs() -> Result<EnvList, ApiFailure> {
    get("/api/envs").await
}

pub async fn get_audit(env: Option<String>, before: Option<i64>) -> Result<AuditPage, ApiFailure> {
    let mut query = vec![];
    if let Some(env) = env {
        query.push(format!("env={}", encode(&env)));
    }
    if let Some(before) = before {
        query.push(format!("before={before}"));
    }
    let path = if query.is_empty() { "/api/audit".to_string() } else { format!("/api/audit?{}", query.join("&")) };
    get(&path).await
}

pub async fn get_service(env: String, name: String) -> Result<ServiceDetail, ApiFailure> {
    get(&format!("/api/envs/{}/services/{}", encode(&env), encode(&name))).await
}

pub async fn get_capacity(env: String) -> Result<mezame_shared::capacity::Capacity, ApiFailure> {
    // The first read's timings, for `cargo xtask bench capacity`.
    get_marked(&format!("/api/envs/{}/capacity", encode(&env)), Some(("capacity_fetched_ms", "capacity_parsed_ms"))).await
}

/// URL of the stream that says when an environment's deploys may have changed.
pub fn deploy_events_url(env: &str) -> String {
    format!("/api/envs/{}/deploys/events", encode(env))
}

/// URL of the stream that says when an environment's capacity may have changed.
pub fn capacity_events_url(env: &str) -> String {
    format!("/api/envs/{}/capacity/events", encode(env))
}

/// Changes a group's sizes and/or mix (or, with `dry_run`, says what would change).
pub async fn change_group(env: String, kind: GroupKind, name: String, change: GroupChange) -> Result<GroupChanged, ApiFailure> {
    patch(&format!("/api/envs/{}/capacity/{}/{}", encode(&env), kind.as_str(), encode(&name)), &change).await
}

/// Cordons (`cordon = true`) or uncordons a node.
pub async fn cordon_node(env: String, node: String, cordon: bool, confirm: Option<String>) -> Result<NodeCordon, ApiFailure> {
    let what = if cordon { "cordon" } else { "uncordon" };
    post(&format!("/api/envs/{}/nodes/{}/{what}", encode(&env), encode(&node)), &Confirm { confirm }).await
}

/// What draining `node` would do (a dry run).
pub async fn drain_preflight(env: String, node: String) -> Result<DrainPreflight, ApiFailure> {
    post(&format!("/api/envs/{}/nodes/{}/drain", encode(&env), encode(&node)), &DrainRequest { dry_run: true, confirm: None }).await
}

/// Starts draining `node`.
pub async fn drain_node(env: String, node: String, confirm: Option<String>) -> Result<RunStarted, ApiFailure> {
    post(&format!("/api/envs/{}/nodes/{}/drain", encode(&env), encode(&node)), &DrainRequest { dry_run: false, confirm }).await
}

/// The environment's deploys with their chains, newest first (of one microservice when `ms` is not empty).
pub async fn get_deploys(env: String, ms: String) -> Result<mezame_shared::deploys::DeployList, ApiFailure> {
    let filter = if ms.is_empty() { String::new() } else { format!("&ms={}", encode(&ms)) };
    get(&format!("/api/envs/{}/deploys?limit=200{filter}", encode(&env))).await
}

/// Promotes `ms` into `env` (or, with `dry_run`, says what would change).
pub async fn promote(env: String, ms: String, req: PromoteRequest) -> Result<DeployChange, ApiFailure> {
    post(&format!("/api/envs/{}/deploys/{}/promote", encode(&env), encode(&ms)), &req).await
}

/// Rolls `ms` back in `env` to an earlier deploy's tag.
pub async fn rollback(env: String, ms: String, req: RollbackRequest) -> Result<DeployChange, ApiFailure> {
    post(&format!("/api/envs/{}/deploys/{}/rollback", encode(&env), encode(&ms)), &req).await
}

/// Moves `ms`'s pods in `env` to spot or back (a manifest commit).
pub async fn place(env: String, ms: String, req: mezame_shared::deploys::PlacementRequest) -> Result<DeployChange, ApiFailure> {
    post(&format!("/api/envs/{}/capacity/placement/{}", encode(&env), encode(&ms)), &req).await
}

/// Lifts the freeze a rollback left on `ms` in `env`.
pub async fn unfreeze(env: String, ms: String, confirm: Option<String>) -> Result<(), ApiFailure> {
    let path = format!("/api/envs/{}/deploys/{}/freeze", encode(&env), encode(&ms));
    with_body(gloo_net::http::Method::DELETE, &path, to_json(&Confirm { confirm })?).await.map(|_| ())
}

/// What changed between two deploys of `ms` in `env`.
pub async fn get_diff(env: String, ms: String, from: String, to: String) -> Result<mezame_shared::deploys::DeployDiff, ApiFailure> {
    get(&format!("/api/envs/{}/deploys/{}/diff?from={}&to={}", encode(&env), encode(&ms), encode(&from), encode(&to))).await
}

/// DORA's four keys of `ms` in `env` over `window` (`7d`, `30d`, `90d`).
pub async fn get_dora(env: String, ms: String, window: String) -> Result<mezame_shared::dora::Dora, ApiFailure> {
    get(&format!("/api/envs/{}/deploys/{}/dora?window={}", encode(&env), encode(&ms), encode(&window))).await
}

/// What runs where, and what promoting `from` → `to` would ship (server defaults when empty).
pub async fn get_versions() -> Result<mezame_shared::deploys::VersionMatrix, ApiFailure> {
    get("/api/versions").await
}

pub async fn get_cronjobs(env: String) -> Result<CronJobList, ApiFailure> {
    get(&format!("/api/envs/{}/cronjobs", encode(&env))).await
}

/// Runs a CronJob now; `confirm` is the environment's name, typed, in a protected environment.
pub async fn run_cronjob(env: String, namespace: String, name: String, confirm: Option<String>) -> Result<JobCreated, ApiFailure> {
    post(&format!("/api/envs/{}/cronjobs/{}/{}/run", encode(&env), encode(&namespace), encode(&name)), &Confirm { confirm }).await
}

pub async fn get_power(env: String) -> Result<Power, ApiFailure> {
    get(&format!("/api/envs/{}/power", encode(&env))).await
}

pub async fn get_runs(env: String) -> Result<RunList, ApiFailure> {
    get(&format!("/api/envs/{}/runs", encode(&env))).await
}

pub async fn get_run(id: i64) -> Result<Run, ApiFailure> {
    get(&format!("/api/runs/{id}")).await
}

/// URL of a run's Server-Sent Events stream (`run` events until it ends).
pub fn run_events_url(id: i64) -> String {
    format!("/api/runs/{id}/events")
}

pub async fn put_power(env: String, settings: PowerSettings) -> Result<PowerSettings, ApiFailure> {
    put(&format!("/api/envs/{}/power", encode(&env)), &settings).await
}

pub async fn keep_awake(env: String, until: Option<String>) -> Result<KeepAwakeSet, ApiFailure> {
    put(&format!("/api/envs/{}/keep-awake", encode(&env)), &KeepAwake { until }).await
}

/// Starts a wake or a sleep.
pub async fn start_run(env: String, action: RunAction) -> Result<RunStarted, ApiFailure> {
    post(&format!("/api/envs/{}/{}", encode(&env), action.as_str()), &Empty {}).await
}

/// `cancel` or `retry` a run.
pub async fn run_command(id: i64, command: &str) -> Result<Run, ApiFailure> {
    post(&format!("/api/runs/{id}/{command}"), &Empty {}).await
}

pub async fn get_me() -> Result<Me, ApiFailure> {
    get("/api/me").await
}

pub async fn logout() -> Result<LoggedOut, ApiFailure> {
    post("/auth/logout", &Empty {}).await
}

pub async fn get_tokens() -> Result<TokenList, ApiFailure> {
    get("/api/tokens").await
}

pub async fn create_token(new: NewToken) -> Result<TokenCreated, ApiFailure> {
    post("/api/tokens", &new).await
}

pub async fn revoke_token(id: String) -> Result<(), ApiFailure> {
    delete(&format!("/api/tokens/{}", encode(&id))).await
}

pub async fn get_sessions() -> Result<SessionList, ApiFailure> {
    get("/api/sessions").await
}

pub async fn end_session(id: String) -> Result<(), ApiFailure> {
    delete(&format!("/api/sessions/{}", encode(&id))).await
}

pub fn topology_url(env: &str) -> String {
    format!("/api/envs/{}/topology", encode(env))
}

/// URL of the topology's Server-Sent Events stream, with `pods` fields.
pub fn topology_events_url(env: &str, pods: PodFields) -> String {
    format!("/api/envs/{}/topology/events?pods={}", encode(env), pods.as_str())
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
