//! The API fuzzed by schemathesis (PyPI, installed by `cargo xtask test`) from
//! its own OpenAPI document, as an operator (an API token), against the test
//! sandbox's qa with its repositories (`[git]`: the deploys routes, qa
//! committed to directly): no answer is a 5xx, and no refused request (4xx)
//! changed anything — every audit entry and every Job created matches a
//! request that was answered 2xx. Bounded (`--max-examples`) to fit the test
//! command.
//!
//! Run last by `cargo xtask test` (it may start a sleep of qa): `--ignored`.

use std::collections::BTreeMap;
use std::process::Command;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams};
use mezame_e2e::{OPERATOR, Server, kube, required_env, sandbox_env_toml, sandbox_git_toml};
use serde_json::Value;

/// The route pattern of a concrete path, as in the OpenAPI document.
fn pattern<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .find(|p| {
            let ps: Vec<&str> = p.split('/').collect();
            ps.len() == parts.len() && ps.iter().zip(&parts).all(|(a, b)| a.starts_with('{') || a == b)
        })
        .map(String::as_str)
}

/// The route an audited action comes from.
fn route_of(action: &str) -> (&'static str, &'static str) {
    match action {
        "cronjob.run" => ("POST", "/api/envs/{env}/cronjobs/{namespace}/{name}/run"),
        "power.keep_awake" => ("PUT", "/api/envs/{env}/keep-awake"),
        "power.settings" => ("PUT", "/api/envs/{env}/power"),
        "power.wake" => ("POST", "/api/envs/{env}/wake"),
        "power.sleep" => ("POST", "/api/envs/{env}/sleep"),
        "power.cancel" => ("POST", "/api/runs/{id}/cancel"),
        "power.retry" => ("POST", "/api/runs/{id}/retry"),
        "capacity.change" => ("PATCH", "/api/envs/{env}/capacity/{kind}/{name}"),
        "node.cordon" => ("POST", "/api/envs/{env}/nodes/{node}/cordon"),
        "node.uncordon" => ("POST", "/api/envs/{env}/nodes/{node}/uncordon"),
        "node.drain" => ("POST", "/api/envs/{env}/nodes/{node}/drain"),
        "token.create" => ("POST", "/api/tokens"),
        "token.revoke" => ("DELETE", "/api/tokens/{id}"),
        "session.revoke" => ("DELETE", "/api/sessions/{id}"),
        "deploy.promote" => ("POST", "/api/envs/{env}/deploys/{ms}/promote"),
        "deploy.rollback" => ("POST", "/api/envs/{env}/deploys/{ms}/rollback"),
        "deploy.unfreeze" => ("DELETE", "/api/envs/{env}/deploys/{ms}/freeze"),
        "capacity.spot" | "capacity.on_demand" => ("POST", "/api/envs/{env}/capacity/placement/{ms}"),
        other => panic!("an audited action this test does not know: {other}"),
    }
}

#[tokio::test]
#[ignore = "run by `cargo xtask test` after the others: it may put qa to sleep"]
async fn schemathesis_finds_no_5xx_and_no_change_from_a_refused_request() {
    let st = required_env("MEZAME_SCHEMATHESIS");
    let server = Server::start(&format!("{}{}", sandbox_git_toml(&["qa"]), sandbox_env_toml("qa")));
    let (_, doc) = mezame_e2e::get_json(&server.url("/api/openapi.json")).await;
    let jobs: Api<Job> = Api::all(kube("qa").await);
    let manual = |l: &Vec<Job>| {
        l.iter()
            .filter(|j| {
                j.metadata.annotations.as_ref().is_some_and(|a| a.get("cronjob.kubernetes.io/instantiate").is_some_and(|v| v == "manual"))
            })
            .count()
    };
    let jobs_before = manual(&jobs.list(&ListParams::default()).await.unwrap().items);
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("fuzz.har");
    let out = Command::new(&st)
        .arg("run")
        .arg(server.url("/api/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {OPERATOR}")])
        .args(["--checks", "not_a_server_error", "--max-examples", "25", "--workers", "2", "--seed", "20261128"])
        .args(["--phases", "examples,coverage,fuzzing", "--request-timeout", "30", "--no-color", "--suppress-health-check", "all"])
        // Event streams answer forever by design: a request would only wait for its timeout.
        .args(["--exclude-path-regex", "/events$"])
        .args(["--report", "har", "--report-har-path"])
        .arg(&har)
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{}", stdout.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    let har: Value = serde_json::from_slice(&std::fs::read(&har).expect("a HAR report")).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut ok_mutations: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut server_errors = Vec::new();
    for e in entries {
        let status = e["response"]["status"].as_u64().unwrap_or(0) as u16;
        *by_status.entry(status).or_default() += 1;
        let method = e["request"]["method"].as_str().unwrap_or("").to_string();
        let url = reqwest::Url::parse(e["request"]["url"].as_str().unwrap_or("http://x/")).unwrap();
        if status >= 500 {
            server_errors.push(format!("{status} {method} {url}"));
        }
        if (200..300).contains(&status)
            && method != "GET"
            && let Some(p) = pattern(&doc, url.path())
        {
            *ok_mutations.entry((method, p.to_string())).or_default() += 1;
        }
    }
    println!("schemathesis: {} requests, by status {by_status:?}; 2xx mutations {ok_mutations:?}", entries.len());
    assert!(entries.len() >= 300, "a real run: {} requests", entries.len());
    assert!(server_errors.is_empty(), "5xx answers: {server_errors:#?}");
    assert!(out.status.success(), "schemathesis reports failures:\n{stdout}");
    // No change from a refused request: every audited action and every Job
    // matches a 2xx answer of its route.
    let (_, audit) = mezame_e2e::get_json(&server.url("/api/audit?limit=500")).await;
    let mut audited: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in audit["entries"].as_array().unwrap() {
        let (m, p) = route_of(e["action"].as_str().unwrap());
        *audited.entry((m.to_string(), p.to_string())).or_default() += 1;
    }
    for (route, n) in &audited {
        let ok = ok_mutations.get(route).copied().unwrap_or(0);
        assert!(*n <= ok, "{n} audited actions of {route:?} but {ok} answered 2xx");
    }
    let created = manual(&jobs.list(&ListParams::default()).await.unwrap().items) - jobs_before;
    let run_now_ok =
        ok_mutations.get(&("POST".to_string(), "/api/envs/{env}/cronjobs/{namespace}/{name}/run".to_string())).copied().unwrap_or(0);
    assert!(created <= run_now_ok, "{created} Jobs created but {run_now_ok} Run now answered 201");
}
