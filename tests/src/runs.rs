//! Helpers of the wake/sleep tests (`tests/lifecycle.rs`, `tests/schedule.rs`):
//! a server on the sandbox's dev and prod, requests, and waiting for a run.

use std::time::Duration;

use mezame_shared::power::{Run, RunState};
use serde_json::{Value, json};

use crate::{Server, eventually, get_json, sandbox_env_toml};

/// The backup key of the tests' servers.
pub const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Leases of 3 s: a killed runner's run is taken over within seconds.
pub fn server() -> Server {
    Server::start(&format!("backup_keys = [\"{KEY}\"]\nrun_lease_secs = 3\n{}{}", sandbox_env_toml("dev"), sandbox_env_toml("prod")))
}

pub async fn send(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let req = crate::client().request(method, url).json(&body.unwrap_or_else(|| json!({})));
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn post(url: &str) -> (u16, Value) {
    send(reqwest::Method::POST, url, None).await
}

/// Waits for the run to end; returns it.
pub async fn finished(server: &Server, id: i64, timeout: Duration) -> Run {
    eventually(&format!("run {id} finishes"), timeout, || async {
        let (_, body) = get_json(&server.url(&format!("/api/runs/{id}"))).await;
        let run: Run = serde_json::from_value(body).ok()?;
        (run.state != RunState::Running).then_some(run)
    })
    .await
}
