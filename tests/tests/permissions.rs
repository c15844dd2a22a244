//! Credentials that may not list a kind: the panel says so ("no permission to
//! list …") instead of showing an empty list, and shows everything else.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use mezame_e2e::cluster::MINUTE;
use mezame_e2e::{Server, eventually, get_json, kube, sandbox, sandbox_env_toml};
use mezame_sandbox::state::context_name;
use mezame_shared::topology::Topology;
use serde_json::json;

const NAME: &str = "mezame-no-hpa";
const NS: &str = "kube-system";

#[tokio::test]
async fn a_kind_the_credentials_may_not_list_is_reported_as_such() {
    let client = kube("dev").await;
    let pp = PatchParams::apply("mezame-e2e").force();
    // Read access to everything the panel watches, except HPAs.
    let rules = json!([
        {"apiGroups": [""], "resources": ["services", "pods", "nodes", "events"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["getambassador.io"], "resources": ["mappings"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": ["get", "list", "watch"]},
    ]);
    Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .patch(NAME, &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NS}})))
        .await
        .unwrap();
    Api::<ClusterRole>::all(client.clone())
        .patch(
            NAME,
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": NAME}, "rules": rules}),
            ),
        )
        .await
        .unwrap();
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(
            NAME,
            &pp,
            &Patch::Apply(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": NAME},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NS}],
            })),
        )
        .await
        .unwrap();
    let token = Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .create_token_request(
            NAME,
            &PostParams::default(),
            &TokenRequest { spec: Some(TokenRequestSpec { expiration_seconds: Some(3600), ..Default::default() }), ..Default::default() },
        )
        .await
        .expect("a service account token (TokenRequest)")
        .status
        .and_then(|s| s.token)
        .expect("a token in the TokenRequest status");

    // A kubeconfig with the sandbox's cluster and the limited token.
    let state = sandbox();
    let full: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(state.kubeconfig()).unwrap()).unwrap();
    let context = context_name("dev");
    let cluster_name = full["contexts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(context.as_str()))
        .map(|c| c["context"]["cluster"].clone())
        .unwrap();
    let cluster = full["clusters"].as_sequence().unwrap().iter().find(|c| c["name"] == cluster_name).cloned().unwrap();
    let limited = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [serde_json::to_value(&cluster).unwrap()],
        "users": [{"name": NAME, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": serde_json::to_value(&cluster_name).unwrap(), "user": NAME}}],
        "current-context": NAME,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&limited).unwrap()).unwrap();
    let config: String = sandbox_env_toml("dev")
        .lines()
        .map(|l| {
            if l.starts_with("kubeconfig = ") {
                format!("kubeconfig = \"{}\"", path.display())
            } else if l.starts_with("context = ") {
                format!("context = \"{NAME}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let server = Server::start(&config);
    let t: Topology = eventually("the topology with the HPA problem reported", MINUTE, || async {
        let (_, body) = get_json(&server.url("/api/envs/dev/topology")).await;
        let t: Topology = serde_json::from_value(body).ok()?;
        (t.source.synced && t.services.len() == 17 && !t.source.kinds.is_empty()).then_some(t)
    })
    .await;
    assert!(t.source.connected, "{:?}", t.source);
    assert_eq!(t.source.kinds.len(), 1, "{:?}", t.source.kinds);
    assert_eq!(t.source.kinds[0].kind, "horizontalpodautoscalers");
    assert!(t.source.kinds[0].message.starts_with("no permission to list horizontalpodautoscalers"), "{:?}", t.source.kinds);
    assert!(t.services.iter().all(|m| m.hpa.is_none()));

    drop(server);
    let dp = DeleteParams::default();
    let _ = Api::<ClusterRoleBinding>::all(client.clone()).delete(NAME, &dp).await;
    let _ = Api::<ClusterRole>::all(client.clone()).delete(NAME, &dp).await;
    let _ = Api::<ServiceAccount>::namespaced(client, NS).delete(NAME, &dp).await;
}
