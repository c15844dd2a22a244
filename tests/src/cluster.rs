//! Helpers for tests against the sandbox's clusters and moto.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use mezame_sandbox::aws::Aws;
use mezame_sandbox::ci::application_resource;
use mezame_sandbox::platform::APP_NAMESPACE;
use mezame_sandbox::up::app_ready;
use serde_json::json;
use tokio::sync::Mutex;

use crate::{kube, sandbox};

/// Serialises the tests of one test binary: they share the sandbox.
pub static LOCK: Mutex<()> = Mutex::const_new(());

pub const MINUTE: Duration = Duration::from_secs(60);

pub async fn aws(env: &str) -> Aws {
    let state = sandbox();
    Aws::connect(&state.env(env).unwrap().moto_url()).await
}

pub fn apps(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "argocd", &application_resource())
}

pub fn available(d: &Deployment) -> bool {
    let s = d.status.as_ref();
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    s.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Available" && c.status == "True"))
        && s.and_then(|s| s.available_replicas).unwrap_or(0) == want
        && s.and_then(|s| s.updated_replicas).unwrap_or(0) == want
}

/// Waits until every Application of `env` is Synced/Healthy and every Deployment available.
pub async fn settled(env: &str) {
    whole(env);
    let client = kube(env).await;
    let apps = apps(&client);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let deadline = std::time::Instant::now() + 4 * MINUTE;
    loop {
        let list = apps.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        let deps = deployments.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        if list.len() == 18 && list.iter().all(app_ready) && deps.len() == 17 && deps.iter().all(available) {
            return;
        }
        if std::time::Instant::now() > deadline {
            // Say what is not there yet (seen once in CI after a sleep and a wake, cause unknown).
            let (napps, ndeps) = (list.len(), deps.len());
            let apps: Vec<String> = list
                .iter()
                .filter(|a| !app_ready(a))
                .map(|a| {
                    format!(
                        "{} {} {}",
                        a.metadata.name.as_deref().unwrap_or("?"),
                        a.data["status"]["sync"]["status"],
                        a.data["status"]["health"]
                    )
                })
                .collect();
            let deps: Vec<String> = deps
                .iter()
                .filter(|d| !available(d))
                .map(|d| format!("{} {:?}", d.metadata.name.as_deref().unwrap_or("?"), d.status))
                .collect();
            panic!(
                "timed out after 4 min waiting for {env}: every Application Synced/Healthy and every Deployment available; \
                 {napps} Applications, not ready: {apps:?}; {ndeps} Deployments, not available: {deps:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Panics at once when a process of `env`'s sandbox has exited (it does not
/// come back by waiting): the control plane, moto, the sandbox controller —
/// as `mezame-sandbox status` lists them; not Argo CD's, which the controller
/// stops on purpose while their pods are not Running.
pub fn whole(env: &str) {
    let dir = PathBuf::from(crate::required_env("MEZAME_SANDBOX_DIR"));
    let status = mezame_sandbox::up::status(&dir).expect("readable sandbox state").expect("a sandbox");
    let components = &status.envs.get(env).unwrap_or_else(|| panic!("{env} is in the test sandbox")).components;
    let dead: Vec<&str> = components.iter().filter(|c| !c.running && !c.name.starts_with("argocd-")).map(|c| c.name.as_str()).collect();
    if !dead.is_empty() {
        // The state is read again for the log path only when it is needed.
        let logs = sandbox().env_dir(env).join("logs");
        panic!("{env}: the sandbox is not whole: {dead:?} exited (`mezame-sandbox status`; logs in {} and kwok's)", logs.display());
    }
}

pub fn node_names(nodes: &[Node]) -> BTreeSet<String> {
    nodes.iter().filter_map(|n| n.metadata.name.clone()).collect()
}

pub fn ready(n: &Node) -> bool {
    n.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub async fn nodes_with(client: &kube::Client, selector: &str) -> Vec<Node> {
    Api::<Node>::all(client.clone()).list(&ListParams::default().labels(selector)).await.unwrap().items
}

/// Pods bound to any of these nodes.
pub async fn pods_on(client: &kube::Client, nodes: &BTreeSet<String>) -> Vec<String> {
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap();
    pods.items
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some_and(|n| nodes.contains(n)))
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

pub async fn scale_addon(client: &kube::Client, ns: &str, name: &str, replicas: i32) {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": replicas}})))
        .await
        .unwrap();
}

pub async fn running_pods(client: &kube::Client, ns: &str, selector: &str) -> usize {
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count()
}

pub async fn pod_images(client: &kube::Client, ms: &str) -> Vec<(String, String, bool)> {
    Api::<Pod>::namespaced(client.clone(), APP_NAMESPACE)
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/name={ms}")))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            let image = p.spec.as_ref().unwrap().containers[0].image.clone().unwrap_or_default();
            (p.metadata.name.clone().unwrap(), image, running)
        })
        .collect()
}

pub fn last_revision(app: &DynamicObject) -> Option<String> {
    app.data["status"]["history"].as_array()?.last()?["revision"].as_str().map(str::to_string)
}

/// New nodes of `env` join `secs` after their instance starts, until dropped
/// (then back to the sandbox's boot delay): nodes slow to become Ready.
pub struct SlowNodes(String);

impl SlowNodes {
    pub fn new(env: &str, secs: u64) -> SlowNodes {
        sandbox().set_boot_delay(env, Some(secs)).expect("the boot delay is set");
        SlowNodes(env.to_string())
    }
}

impl Drop for SlowNodes {
    fn drop(&mut self) {
        let _ = sandbox().set_boot_delay(&self.0, None);
    }
}
