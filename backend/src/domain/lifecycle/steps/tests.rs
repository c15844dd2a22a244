//! Step logic against a stubbed API server — a tiny axum app that keeps
//! CronJobs in memory and applies merge patches, as controller-rs tests its
//! reconciler — and a real (SQLite, temporary) database: milliseconds, not
//! the sandbox. The sandbox tests prove the same steps against a real cluster.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use mezame_shared::power::PowerSettings;
use serde_json::{Value, json};

use super::super::ctx::Ctx;
use super::super::record::Record;
use super::{sleep, wake};
use crate::adapters::db::{Db, RestorePoint};
use crate::config::EnvConfig;
use crate::domain::envs::Environments;

/// The stub's objects by `namespace/name`, and the patches it received.
#[derive(Default)]
struct Stub {
    cronjobs: BTreeMap<String, Value>,
    patches: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<Stub>>;

fn cronjob(ns: &str, name: &str, suspend: bool) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": "1", "uid": format!("uid-{name}")},
        "spec": {"schedule": "*/5 * * * *", "suspend": suspend, "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}})
}

async fn list(State(s): State<Shared>, Path(ns): Path<String>) -> Json<Value> {
    let s = s.lock().unwrap();
    let items: Vec<Value> = s.cronjobs.iter().filter(|(k, _)| k.starts_with(&format!("{ns}/"))).map(|(_, v)| v.clone()).collect();
    Json(json!({"apiVersion": "batch/v1", "kind": "CronJobList", "metadata": {"resourceVersion": "1"}, "items": items}))
}

async fn read(State(s): State<Shared>, Path((ns, name)): Path<(String, String)>) -> Result<Json<Value>, axum::http::StatusCode> {
    s.lock().unwrap().cronjobs.get(&format!("{ns}/{name}")).cloned().map(Json).ok_or(axum::http::StatusCode::NOT_FOUND)
}

async fn patch(State(s): State<Shared>, Path((ns, name)): Path<(String, String)>, Json(p): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    let key = format!("{ns}/{name}");
    let o = s.cronjobs.get_mut(&key).expect("patch of a known CronJob");
    if let Some(v) = p.pointer("/spec/suspend") {
        o["spec"]["suspend"] = v.clone();
    }
    let out = o.clone();
    s.patches.push((key, p));
    Json(out)
}

/// The stub API server, a kubeconfig for it, an environment, a migrated database.
async fn setup(stub: Shared) -> (Arc<crate::domain::envs::Environment>, Db, tempfile::TempDir) {
    let app = axum::Router::new()
        .route("/apis/batch/v1/namespaces/{ns}/cronjobs", get(list))
        .route("/apis/batch/v1/namespaces/{ns}/cronjobs/{name}", get(read).patch(patch))
        // Any other list: empty.
        .fallback(|| async { Json(json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": []})) })
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: stub, cluster: {{server: \"http://{addr}\"}}}}]\n\
             users: [{{name: u, user: {{token: x}}}}]\ncontexts: [{{name: stub, context: {{cluster: stub, user: u}}}}]\n\
             current-context: stub\n"
        ),
    )
    .unwrap();
    let config: EnvConfig = serde_json::from_value(json!({
        "name": "dev",
        "kubernetes": {"kubeconfig": kubeconfig},
        "aws": {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9", "access_key_id": "x", "secret_access_key": "y"},
    }))
    .unwrap();
    let envs = Environments::new(&[config], std::time::Duration::from_secs(5)).await;
    let env = envs.iter().next().unwrap().clone();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display())).await.unwrap();
    (env, db, dir)
}

fn settings() -> PowerSettings {
    serde_json::from_value(json!({"eks_cluster": "platform-dev", "namespaces": ["apps"], "exclude": ["apps/keep-me"]})).unwrap()
}

#[tokio::test]
async fn cronjobs_suspended_by_a_sleep_are_the_ones_a_wake_unsuspends() {
    let stub: Shared = Arc::default();
    {
        let mut s = stub.lock().unwrap();
        for (name, suspend) in [("report", false), ("cleanup", false), ("paused-by-hand", true), ("keep-me", false)] {
            s.cronjobs.insert(format!("apps/{name}"), cronjob("apps", name, suspend));
        }
        s.cronjobs.insert("other/elsewhere".into(), cronjob("other", "elsewhere", false));
    }
    let (env, db, _dir) = setup(stub.clone()).await;
    let cluster = env.cluster().await.unwrap().clone();
    let ctx = Ctx::new(&env, cluster, settings(), &db, None, 1);

    // The record step's view of CronJobs, as a sleep stores it.
    let mut record = Record::default();
    for c in super::find::in_namespaces(&ctx, crate::adapters::kube::resources::Kind::CronJob).await.unwrap() {
        record.cronjobs.push(super::super::record::CronJob {
            namespace: super::find::namespace(&c).into(),
            name: super::find::name(&c).into(),
            suspend: c.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    db.put_restore_point("dev", &RestorePoint { record: serde_json::to_value(&record).unwrap(), backup: None }).await.unwrap();

    let out = sleep::suspend_cronjobs(&ctx).await.unwrap();
    assert_eq!(
        out.changed,
        json!({"suspended": ["apps/cleanup", "apps/report"]}),
        "only the unsuspended ones, not excluded, in the settings' namespaces"
    );
    let again = sleep::suspend_cronjobs(&ctx).await.unwrap();
    assert_eq!(again.changed, json!({"suspended": []}), "a repeated step changes nothing");
    assert_eq!(stub.lock().unwrap().patches.len(), 2);

    let woke = wake::unsuspend_cronjobs(&ctx).await.unwrap();
    let s = stub.lock().unwrap();
    let suspended = |k: &str| s.cronjobs[k]["spec"]["suspend"].as_bool().unwrap();
    assert!(!suspended("apps/report") && !suspended("apps/cleanup"), "{:?}", woke.changed);
    assert!(suspended("apps/paused-by-hand"), "suspended by hand before the sleep: stays suspended");
    assert!(!suspended("apps/keep-me") && !suspended("other/elsewhere"));
    assert_eq!(s.patches.len(), 4, "two suspends, two unsuspends: {:?}", s.patches);
}

#[tokio::test]
async fn an_unreadable_restore_point_stops_the_step_instead_of_waking_to_nothing() {
    let (env, db, _dir) = setup(Arc::default()).await;
    let cluster = env.cluster().await.unwrap().clone();
    let ctx = Ctx::new(&env, cluster, settings(), &db, None, 1);
    db.put_restore_point("dev", &RestorePoint { record: json!({"workloads": "not a list"}), backup: None }).await.unwrap();
    let e = wake::unsuspend_cronjobs(&ctx).await.unwrap_err();
    assert!(!e.retry && e.message.contains("restore point is unreadable"), "{e:?}");
    let e = sleep::record(&ctx).await.unwrap_err();
    assert!(e.message.contains("restore point is unreadable"), "the sleep's record step treats it the same: {e:?}");
}
