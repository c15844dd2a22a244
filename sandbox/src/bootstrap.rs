//! What a cluster gets when it is created, before GitOps takes over (as
//! Terraform and Helm install it on the platform): CRDs, Argo CD's own
//! configuration and workloads, the add-ons' workloads, the `alb`
//! IngressClass, and one Argo CD Application per microservice (plus Ambassador).
//! Everything else is applied by the real Argo CD from the manifest repository.

use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;

use crate::kube::{Applier, wait_for};
use crate::parts::Parts;
use crate::platform::{APP_NAMESPACE, EnvSpec, GATEWAY_NAMESPACE, MICROSERVICES};
use crate::state::{EnvState, State};

/// Label of the Applications the sandbox seeds.
pub const APP_LABEL: &str = "app.kubernetes.io/part-of=iot-platform";

pub async fn apply(client: &kube::Client, parts: &Parts, state: &State, env: &EnvSpec, es: &EnvState) -> Result<()> {
    let mut applier = Applier::new(client.clone());
    for file in ["application-crd.yaml", "appproject-crd.yaml"] {
        let path = parts.argocd.join("crds").join(file);
        applier.apply_yaml(&std::fs::read_to_string(&path)?).await?;
    }
    applier.apply_yaml(MAPPING_CRD).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in ["applications.argoproj.io", "appprojects.argoproj.io", "mappings.getambassador.io"] {
        wait_for(&format!("CRD {name} established"), Duration::from_secs(60), Duration::from_millis(200), || async {
            let crd = crds.get(name).await?;
            let established =
                crd.status.and_then(|s| s.conditions).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            Ok(established.then_some(()))
        })
        .await?;
    }
    applier.apply_yaml(&argocd_config(state, env, es)?).await?;
    applier.apply_yaml(&system_workloads(env)).await?;
    applier.apply_yaml(&applications(state, env, es)).await.context("applying the Argo CD Applications")?;
    Ok(())
}

const MAPPING_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: mappings.getambassador.io
spec:
  group: getambassador.io
  names:
    kind: Mapping
    listKind: MappingList
    plural: mappings
    singular: mapping
  scope: Namespaced
  versions:
  - name: v3alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [prefix, service]
            properties:
              prefix: {type: string}
              service: {type: string}
              hostname: {type: string}
              host: {type: string}
              rewrite: {type: string}
              timeout_ms: {type: integer}
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"#;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Argo CD's namespace, settings, the destination cluster and the repository.
fn argocd_config(state: &State, env: &EnvSpec, es: &EnvState) -> Result<String> {
    let pki = state.cluster_pki(env.name);
    let read = |f: &str| std::fs::read(pki.join(f)).with_context(|| format!("reading {}/{f}", pki.display()));
    let cluster_config = serde_json::json!({
        "tlsClientConfig": {
            "caData": b64(&read("ca.crt")?),
            "certData": b64(&read("admin.crt")?),
            "keyData": b64(&read("admin.key")?),
        }
    });
    let repo_url = crate::git::Repo { path: state.repos().manifests() }.url();
    Ok(format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: argocd
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels: {{app.kubernetes.io/name: argocd-cm, app.kubernetes.io/part-of: argocd}}
data:
  timeout.reconciliation: 180s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
  namespace: argocd
  labels: {{app.kubernetes.io/name: argocd-rbac-cm, app.kubernetes.io/part-of: argocd}}
data:
  policy.default: role:readonly
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cmd-params-cm
  namespace: argocd
  labels: {{app.kubernetes.io/name: argocd-cmd-params-cm, app.kubernetes.io/part-of: argocd}}
data: {{}}
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
  labels: {{app.kubernetes.io/name: argocd-secret, app.kubernetes.io/part-of: argocd}}
stringData:
  server.secretkey: sandbox-{env_name}-not-secret
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-{cluster}
  namespace: argocd
  labels: {{argocd.argoproj.io/secret-type: cluster}}
stringData:
  name: {cluster}
  server: {server}
  config: '{config}'
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-k8s
  namespace: argocd
  labels: {{argocd.argoproj.io/secret-type: repository}}
stringData:
  type: git
  name: k8s
  url: {repo_url}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations:
  - server: '*'
    namespace: '*'
  clusterResourceWhitelist:
  - group: '*'
    kind: '*'
"#,
        env_name = env.name,
        cluster = env.eks_cluster(),
        server = es.apiserver_url(),
        config = cluster_config,
    ))
}

/// A Deployment (or StatefulSet) of a cluster add-on, run as kwok pods.
fn addon(kind: &str, namespace: &str, name: &str, image: &str, cpu: &str, memory: &str) -> String {
    let service_name = if kind == "StatefulSet" { format!("  serviceName: {name}\n") } else { String::new() };
    format!(
        r#"apiVersion: apps/v1
kind: {kind}
metadata:
  name: {name}
  namespace: {namespace}
  labels: {{app.kubernetes.io/name: {name}}}
spec:
  replicas: 1
{service_name}  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}}}
    spec:
      priorityClassName: system-cluster-critical
      containers:
      - name: {name}
        image: {image}
        resources:
          requests: {{cpu: {cpu}, memory: {memory}}}
"#
    )
}

/// The add-ons: Argo CD and external-dns where it owns the records (gated
/// processes), the AWS Load Balancer Controller and Cluster Autoscaler
/// (emulated by the sandbox controller), and the `alb` class.
fn system_workloads(env: &EnvSpec) -> String {
    let argocd = "quay.io/argoproj/argocd:v3.2.11";
    let external_dns = env.external_dns.then(|| {
        let image = format!("registry.k8s.io/external-dns/external-dns:{}", crate::parts::EXTERNAL_DNS);
        addon("Deployment", "kube-system", "external-dns", &image, "50m", "100Mi")
    });
    [
        addon("StatefulSet", "argocd", "argocd-application-controller", argocd, "250m", "512Mi"),
        addon("Deployment", "argocd", "argocd-repo-server", argocd, "100m", "256Mi"),
        addon("Deployment", "argocd", "argocd-redis", "redis:7.0-alpine", "50m", "64Mi"),
        addon(
            "Deployment",
            "kube-system",
            "aws-load-balancer-controller",
            "public.ecr.aws/eks/aws-load-balancer-controller:v2.13.0",
            "100m",
            "128Mi",
        ),
        addon("Deployment", "kube-system", "cluster-autoscaler", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.0", "100m", "300Mi"),
        r#"apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: alb
spec:
  controller: ingress.k8s.aws/alb
"#
        .to_string(),
    ]
    .into_iter()
    .chain(external_dns)
    .collect::<Vec<_>>()
    .join("---\n")
}

/// One Application per microservice, and one for Ambassador.
fn applications(state: &State, env: &EnvSpec, es: &EnvState) -> String {
    let repo_url = crate::git::Repo { path: state.repos().manifests() }.url();
    let policy = if env.self_heal {
        "    automated:\n      prune: true\n      selfHeal: true\n"
    } else {
        "    automated:\n      prune: false\n      selfHeal: false\n"
    };
    let app = |name: &str, namespace: &str| {
        format!(
            r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
  labels: {{app.kubernetes.io/part-of: iot-platform}}
spec:
  project: default
  source:
    repoURL: {repo_url}
    targetRevision: master
    path: {path}
  destination:
    server: {server}
    namespace: {namespace}
  syncPolicy:
{policy}    syncOptions:
    - CreateNamespace=true
"#,
            path = crate::manifests::ms_dir(env.name, name),
            server = es.apiserver_url(),
        )
    };
    let mut docs: Vec<String> = MICROSERVICES.iter().map(|ms| app(ms.name, APP_NAMESPACE)).collect();
    docs.push(app("ambassador", GATEWAY_NAMESPACE));
    docs.join("---\n")
}
