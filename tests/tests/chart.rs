//! The Helm chart (`deploy/helm/mezame`), against the sandbox: `helm lint`
//! and `helm template` of the default and a production-like values file (Helm
//! built from Go modules by the sandbox), the render accepted by qa's API
//! server (`kubectl apply --dry-run=server`), and then installed for real in
//! qa: the panel's own zero-downtime audit finds nothing in its Deployment,
//! and mezame, running with nothing but the chart's ServiceAccount token,
//! shows the topology, runs a CronJob now, and puts qa to sleep and wakes it.
//! (qa, not dev: the browser tests that follow count dev's microservices and
//! jobs.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mezame_e2e::cluster::LOCK;
use mezame_e2e::runs::{KEY, finished, post};
use mezame_e2e::{Server, eventually, get_json, run_ok, sandbox, sandbox_env_toml};
use mezame_shared::power::RunState;
use serde_yaml::Value;

const MINUTE: Duration = Duration::from_secs(60);
/// Where the tests install the chart.
const ENV: &str = "qa";
const NAMESPACE: &str = "mezame";

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/helm/mezame")
}

fn tool(name: &str) -> PathBuf {
    mezame_sandbox::parts::find().expect("the sandbox's parts are built").bin(name)
}

/// The sandbox's Kubernetes (Helm built from source defaults to v1.20).
const KUBE_VERSION: &str = "1.36.3";

fn helm(args: &[&str]) -> String {
    run_ok(Command::new(tool("helm")).args(args).env("HELM_CACHE_HOME", std::env::temp_dir().join("mezame-helm-cache")))
}

fn kubectl(args: &[&str]) -> String {
    let kubeconfig = sandbox().cluster_kubeconfig(ENV);
    run_ok(Command::new(tool("kubectl")).arg("--kubeconfig").arg(kubeconfig).args(args))
}

/// `helm template` of the chart into `namespace` with these values files, as objects.
fn render(namespace: &str, values: &[&str]) -> (String, Vec<Value>) {
    let chart = chart();
    let mut args = vec!["template", "mezame", chart.to_str().unwrap(), "--namespace", namespace, "--kube-version", KUBE_VERSION];
    for v in values {
        args.extend(["--values", v]);
    }
    let text = helm(&args);
    let objects = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML objects"))
        .filter(|v: &Value| !v.is_null())
        .collect();
    (text, objects)
}

fn kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"].as_str() == Some(kind)).collect()
}

/// What the chart must say of itself, whatever the values.
fn check_objects(objects: &[Value]) {
    for k in ["Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "ConfigMap", "ClusterRoleBinding", "Role"] {
        assert_eq!(kind(objects, k).len(), 1, "one {k}");
    }
    assert_eq!(kind(objects, "ClusterRole").len(), 2, "the cluster-wide role and the power namespaces' role");
    let bound: Vec<&str> = kind(objects, "RoleBinding").iter().filter_map(|b| b["metadata"]["namespace"].as_str()).collect();
    assert_eq!(bound, ["platform", "ambassador", "argocd"], "sleep/wake writes only in the power namespaces, Argo CD in its own");
    assert!(kind(objects, "Secret").is_empty(), "secrets only by reference: the chart renders none");
    for o in objects.iter().filter(|o| !matches!(o["kind"].as_str(), Some("ClusterRole" | "ClusterRoleBinding"))) {
        assert!(
            o["metadata"]["namespace"].as_str().is_some(),
            "a namespaced object says its namespace (helm template | kubectl apply): {o:?}"
        );
    }
    let d = kind(objects, "Deployment")[0];
    assert_eq!(d["spec"]["replicas"].as_i64(), Some(2));
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as_i64(), Some(0));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["path"].as_str(), Some("/api/health"), "ready: the database answers");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"].as_str(), Some("/api/live"), "live: never the database");
    assert!(c["lifecycle"]["preStop"]["sleep"]["seconds"].as_i64() >= Some(5), "preStop pause");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let roles = kind(objects, "ClusterRole").into_iter().chain(kind(objects, "Role"));
    for rule in roles.flat_map(|r| r["rules"].as_sequence().expect("rules")) {
        for key in ["apiGroups", "resources", "verbs"] {
            for v in rule[key].as_sequence().unwrap_or_else(|| panic!("{key} in {rule:?}")) {
                assert_ne!(v.as_str(), Some("*"), "no wildcard: {rule:?}");
            }
        }
    }
}

#[test]
fn the_chart_lints_renders_and_the_api_server_accepts_it() {
    // Not while the other test installs the chart in the same cluster: CI saw
    // the server's dry run refuse to create ClusterRoles that test had just made.
    let _lock = LOCK.blocking_lock();
    let chart = chart();
    let prod = chart.join("values-prod-example.yaml");
    let prod = prod.to_str().unwrap();
    helm(&["lint", "--strict", "--kube-version", KUBE_VERSION, chart.to_str().unwrap()]);
    helm(&["lint", "--strict", "--kube-version", KUBE_VERSION, chart.to_str().unwrap(), "--values", prod]);
    let (_, default) = render(NAMESPACE, &[]);
    check_objects(&default);
    assert!(kind(&default, "Ingress").is_empty() && kind(&default, "ServiceMonitor").is_empty(), "both opt-in");
    // Into `default`, which exists in qa: the dry run needs the namespace.
    let (text, objects) = render("default", &[prod]);
    check_objects(&objects);
    let ingress = kind(&objects, "Ingress")[0];
    let hosts: Vec<&str> = ingress["spec"]["rules"].as_sequence().unwrap().iter().filter_map(|r| r["host"].as_str()).collect();
    assert_eq!(hosts, ["mezame.platform.example", "api.dev.iot-inventory.example", "api.qa.iot-inventory.example"]);
    let sa = kind(&objects, "ServiceAccount")[0];
    assert_eq!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str(), Some("arn:aws:iam::444444444444:role/mezame"));
    // A PostgreSQL URL is required for two replicas.
    let out = Command::new(tool("helm"))
        .args(["template", "mezame", chart.to_str().unwrap(), "--kube-version", KUBE_VERSION, "--set", "database.existingSecret="])
        .output()
        .unwrap();
    assert!(!out.status.success(), "two replicas without a database Secret must not render");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs PostgreSQL"), "{}", String::from_utf8_lossy(&out.stderr));

    // qa's API server accepts every object (the ServiceMonitor's CRD is not installed there).
    let without_monitor: Vec<&str> = text.split("\n---").filter(|doc| !doc.contains("kind: ServiceMonitor")).collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), without_monitor.join("\n---")).unwrap();
    let out = kubectl(&["apply", "--dry-run=server", "-f", file.path().to_str().unwrap()]);
    for object in ["deployment.apps/mezame", "ingress.networking.k8s.io/mezame", "rolebinding.rbac.authorization.k8s.io/mezame-power"] {
        // `created`, or `configured` while the other test has the chart installed.
        let accepted = out.lines().any(|l| l.starts_with(&format!("{object} ")) && l.ends_with("(server dry run)"));
        assert!(accepted, "{object}: {out}");
    }
}

/// Installs the default render in qa's `mezame` namespace. [`Installed::remove`]
/// removes it and checks it is gone; dropped without that (a failed test),
/// it removes it as well as it can.
struct Installed {
    removed: bool,
}

impl Installed {
    fn new() -> Installed {
        let (text, _) = render(NAMESPACE, &[]);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n---\n{text}")).unwrap();
        kubectl(&["apply", "-f", file.path().to_str().unwrap()]);
        Installed { removed: false }
    }

    /// The cluster-wide objects and the namespace deleted, and waited for.
    fn uninstall() -> Vec<std::io::Result<std::process::Output>> {
        let kubeconfig = sandbox().cluster_kubeconfig(ENV);
        let kubectl = |args: &[&str]| Command::new(tool("kubectl")).arg("--kubeconfig").arg(&kubeconfig).args(args).output();
        vec![
            kubectl(&["delete", "clusterrolebinding,clusterrole,rolebinding,role", "-A", "-l", "app.kubernetes.io/instance=mezame"]),
            kubectl(&["delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=120s"]),
        ]
    }

    fn remove(mut self) {
        self.removed = true;
        for out in Installed::uninstall() {
            let out = out.expect("kubectl runs");
            assert!(out.status.success(), "uninstall: {}", String::from_utf8_lossy(&out.stderr));
        }
        let left = kubectl(&["get", "namespaces", "-o", "name"]);
        assert!(!left.lines().any(|l| l == format!("namespace/{NAMESPACE}")), "the namespace is gone: {left}");
        let roles = kubectl(&["get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=mezame", "-o", "name"]);
        assert!(roles.trim().is_empty(), "the cluster-wide roles are gone: {roles}");
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.removed {
            for out in Installed::uninstall() {
                if let Ok(out) = out
                    && !out.status.success()
                {
                    eprintln!("uninstall after a failure: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
    }
}

/// A kubeconfig of qa's API server that authenticates with `token` only.
fn token_kubeconfig(token: &str, dir: &Path) -> PathBuf {
    let state = sandbox();
    let text = std::fs::read_to_string(state.cluster_kubeconfig(ENV)).unwrap();
    let mut config: Value = serde_yaml::from_str(&text).unwrap();
    let users = config["users"].as_sequence_mut().expect("users");
    assert_eq!(users.len(), 1, "one user in qa's kubeconfig");
    users[0]["user"] = serde_yaml::from_str(&format!("token: {token}")).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn mezame_does_its_work_with_the_charts_service_account_and_nothing_more() {
    let _lock = LOCK.lock().await;
    let installed = tokio::task::spawn_blocking(Installed::new).await.unwrap();
    let sa = format!("system:serviceaccount:{NAMESPACE}:mezame");
    // What the ServiceAccount may do is what the ClusterRole says, and no more.
    let can = tokio::task::spawn_blocking(move || kubectl(&["auth", "can-i", "--list", "--as", &sa])).await.unwrap();
    println!("kubectl auth can-i --list for the chart's ServiceAccount:\n{can}");
    for line in can.lines().skip(1) {
        let resource = line.split_whitespace().next().unwrap_or("");
        assert_ne!(resource, "*.*", "no wildcard: {line}");
        assert!(!line.contains("[*]"), "no wildcard verb: {line}");
    }
    assert!(!can.lines().any(|l| l.starts_with("secrets ") && l.contains("list")), "Secrets are not listed cluster-wide:\n{can}");

    let token = tokio::task::spawn_blocking(|| kubectl(&["create", "token", "mezame", "--namespace", NAMESPACE, "--duration", "1h"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = token_kubeconfig(token.trim(), dir.path());
    let state = sandbox();
    let env = sandbox_env_toml(ENV)
        .replace(&format!("kubeconfig = \"{}\"", state.kubeconfig().display()), &format!("kubeconfig = \"{}\"", kubeconfig.display()));
    assert!(env.contains(&kubeconfig.display().to_string()), "qa's kubeconfig replaced: {env}");
    let env = env.replace(&format!("context = \"{}\"", mezame_sandbox::state::context_name(ENV)), "");
    let server = Server::start(&format!("backup_keys = [\"{KEY}\"]\n{env}"));

    // The topology, the panel's own Deployment audited like any other.
    let ms = eventually("the topology shows mezame's own Deployment", MINUTE, || async {
        let (status, t) = get_json(&server.url(&format!("/api/envs/{ENV}/topology"))).await;
        assert_eq!(status, 200, "{t}");
        assert!(t["source"]["error"].is_null(), "the watches work with the ServiceAccount: {}", t["source"]);
        t["services"].as_array()?.iter().find(|m| m["name"] == "mezame" && m["namespace"] == NAMESPACE).cloned()
    })
    .await;
    assert_eq!(ms["findings"].as_array().map(Vec::len), Some(0), "the zero-downtime audit of its own Deployment: {}", ms["findings"]);

    // Run now: a Job from a CronJob.
    let (status, body) = post(&server.url(&format!("/api/envs/{ENV}/cronjobs/platform/mail-notification/run"))).await;
    assert!(status == 201 || status == 202 || status == 200, "Run now: {status} {body}");

    // Sleep and wake.
    let (status, body) = post(&server.url(&format!("/api/envs/{ENV}/sleep"))).await;
    assert_eq!(status, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "sleep with the ServiceAccount: {run:?}");
    report(&run);
    let (status, body) = post(&server.url(&format!("/api/envs/{ENV}/wake"))).await;
    assert_eq!(status, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "wake with the ServiceAccount: {run:?}");
    report(&run);
    mezame_e2e::cluster::settled(ENV).await;
    drop(server);
    tokio::task::spawn_blocking(move || installed.remove()).await.unwrap();
}

fn report(run: &mezame_shared::power::Run) {
    let secs = run.finished_at.map(|f| (f - run.created_at).num_milliseconds() as f64 / 1000.0);
    let steps: Vec<&str> = run.steps.iter().map(|s| s.name.as_str()).collect();
    println!("{:?} of {ENV} with the chart's ServiceAccount: {:?} in {secs:?} s, steps {steps:?}", run.action, run.state);
}
