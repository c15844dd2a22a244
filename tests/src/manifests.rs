//! Helpers of the promote and roll back tests (`tests/promote.rs`): the
//! sandbox's manifest repository as git sees it, requests, the deploys page.

use std::process::Command;

use mezame_shared::deploys::DeployList;
use serde_json::Value;

use crate::cluster::MINUTE;
use crate::{Server, eventually, get_json, kube, sandbox};

/// `git args…` in the sandbox's manifest repository: its output, trimmed.
pub fn git(args: &[&str]) -> String {
    let repo = sandbox().repos().manifests();
    let out = Command::new("git").arg("-C").arg(&repo).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The manifest repository as a person would check it: every branch's commit, and a clean work tree.
pub fn repo_state() -> (String, String) {
    (git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"]), git(&["status", "--porcelain"]))
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn page(server: &Server, env: &str, ms: &str) -> DeployList {
    let (s, body) = get_json(&server.url(&format!("/api/envs/{env}/deploys?ms={ms}&limit=20"))).await;
    assert_eq!(s, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

pub async fn indexed(server: &Server, ms: &str) -> DeployList {
    eventually("the repositories indexed", 2 * MINUTE, || async {
        let p = page(server, "dev", ms).await;
        p.index.indexed_at.is_some().then_some(p)
    })
    .await
}

/// The tag `ms`'s Deployment runs in `env`.
pub async fn running_tag(env: &str, ms: &str) -> String {
    let d: k8s_openapi::api::apps::v1::Deployment =
        kube::Api::namespaced(kube(env).await, mezame_sandbox::platform::APP_NAMESPACE).get(ms).await.unwrap();
    let image = d.spec.unwrap().template.spec.unwrap().containers[0].image.clone().unwrap();
    image.rsplit_once(':').unwrap().1.to_string()
}

pub async fn audit_actions(server: &Server) -> Vec<(String, String, String)> {
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
                e["env"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Has Argo CD in `env` sync `ms`'s Application at the repository's head now.
/// Argo CD auto-syncs an Application that drifts (even without self-heal) when
/// the repository moved since its last sync: a test that changes a live object
/// by hand syncs it first, so the change stays until the repository moves.
pub async fn synced_at_head(env: &str, ms: &str) {
    let apps = crate::cluster::apps(&kube(env).await);
    let sync = serde_json::json!({"operation": {"initiatedBy": {"username": "e2e"}, "sync": {}}});
    apps.patch(ms, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(sync)).await.unwrap();
    eventually(&format!("{env}'s {ms} synced at the repository's head"), MINUTE, || async {
        let a = apps.get(ms).await.unwrap();
        let op = &a.data["status"]["operationState"];
        let done = op["phase"] == "Succeeded" && a.data.get("operation").is_none_or(Value::is_null);
        (done && op["syncResult"]["revision"] == a.data["status"]["sync"]["revision"]).then_some(())
    })
    .await
}
