//! Slim copies of the Kubernetes objects the panel shows: only the fields it
//! reads (no managedFields, no last-applied annotation, a few fields of the
//! pod spec), as plain Rust values. The watch cache holds these, not the
//! API objects, which keeps memory flat at tens of thousands of pods.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// The kinds the topology watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Ingress,
    Service,
    EndpointSlice,
    Deployment,
    ReplicaSet,
    Pod,
    Node,
    PodDisruptionBudget,
    Hpa,
    CronJob,
    Job,
    Mapping,
    Application,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Ingress,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::Pod,
        Kind::Node,
        Kind::PodDisruptionBudget,
        Kind::Hpa,
        Kind::CronJob,
        Kind::Job,
        Kind::Mapping,
        Kind::Application,
    ];

    /// The resource name, as RBAC and `kubectl get` spell it.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Ingress => "ingresses",
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::Pod => "pods",
            Kind::Node => "nodes",
            Kind::PodDisruptionBudget => "poddisruptionbudgets",
            Kind::Hpa => "horizontalpodautoscalers",
            Kind::CronJob => "cronjobs",
            Kind::Job => "jobs",
            Kind::Mapping => "mappings.getambassador.io",
            Kind::Application => "applications.argoproj.io",
        }
    }
}

/// Identity and ownership, common to every object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub owners: Vec<Owner>,
    pub created: Option<DateTime<Utc>>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl Meta {
    /// `namespace/name` (just `name` for cluster-scoped objects).
    pub fn key(&self) -> String {
        if self.namespace.is_empty() { self.name.clone() } else { format!("{}/{}", self.namespace, self.name) }
    }

    pub fn owner(&self, kind: &str) -> Option<&Owner> {
        self.owners.iter().find(|o| o.kind == kind)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    pub labels: BTreeMap<String, String>,
    pub expressions: Vec<Expression>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    pub values: Vec<String>,
}

impl Selector {
    /// Whether `labels` are selected. An empty selector selects nothing here:
    /// a Service without a selector has hand-made endpoints, and an empty PDB
    /// selector is almost always a mistake.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        if self.labels.is_empty() && self.expressions.is_empty() {
            return false;
        }
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| e.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ingress {
    pub meta: Meta,
    /// `spec.ingressClassName`, else the `kubernetes.io/ingress.class` annotation.
    pub class: Option<String>,
    pub hosts: Vec<String>,
    /// `status.loadBalancer.ingress[].hostname` (or ip).
    pub addresses: Vec<String>,
    /// Backend Service names, default backend first.
    pub backends: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub meta: Meta,
    pub selector: Selector,
    /// `name:port` of each port (`port` alone when unnamed).
    pub ports: Vec<String>,
}

/// Endpoint counts of one slice, for the Service it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSlice {
    pub meta: Meta,
    /// The `kubernetes.io/service-name` label.
    pub service: String,
    pub ready: u32,
    pub not_ready: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub meta: Meta,
    /// `spec.replicas` as written (the API server defaults it to 1).
    pub replicas: i32,
    pub selector: Selector,
    pub template_labels: BTreeMap<String, String>,
    /// `RollingUpdate` or `Recreate`.
    pub strategy: String,
    /// `spec.strategy.rollingUpdate.maxUnavailable` as written (`0`, `1`, `25%`).
    pub max_unavailable: Option<String>,
    pub containers: Vec<Container>,
    pub generation: i64,
    pub observed_generation: i64,
    pub status_replicas: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// Declared container ports (name or number).
    pub ports: Vec<String>,
    pub readiness_probe: bool,
    pub pre_stop: PreStop,
}

/// What a container's `lifecycle.preStop` does.
#[derive(Debug, Clone, PartialEq)]
pub enum PreStop {
    None,
    /// `sleep` action, or an exec command whose sleep duration could be read.
    Sleep(i64),
    /// An exec command with no readable sleep.
    Exec(String),
    /// `httpGet` / `tcpSocket`: the delay cannot be read from the manifest.
    Http,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// A Deployment's condition's `lastUpdateTime` (when a rollout completed).
    pub updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSet {
    pub meta: Meta,
    /// `deployment.kubernetes.io/revision`.
    pub revision: i64,
    pub images: Vec<String>,
    pub replicas: i32,
    pub ready: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub meta: Meta,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    pub node: Option<String>,
    pub image: Option<String>,
    /// What the scheduler reserves for it: CPU in millicores and memory in
    /// bytes (the containers' sum, or the largest init container if larger).
    pub requests: Requests,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub cpu_m: u64,
    pub memory: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub meta: Meta,
    pub ready: bool,
    pub node_group: Option<String>,
    pub capacity_type: Option<String>,
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    /// `aws:///<zone>/<instance id>` on EKS.
    pub provider_id: Option<String>,
    /// Cordoned.
    pub unschedulable: bool,
    /// `key=value:Effect`.
    pub taints: Vec<String>,
    pub allocatable: Requests,
}

impl Node {
    /// The EC2 instance id of its `providerID` (`aws:///eu-west-1a/i-0abc…`).
    pub fn instance_id(&self) -> Option<&str> {
        let id = self.provider_id.as_deref()?.strip_prefix("aws://")?.rsplit('/').next()?;
        id.starts_with("i-").then_some(id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodDisruptionBudget {
    pub meta: Meta,
    pub selector: Selector,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hpa {
    pub meta: Meta,
    pub target_kind: String,
    pub target_name: String,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
    pub metric: Option<String>,
    pub target_type: Option<String>,
    pub target: Option<f64>,
    pub value: Option<f64>,
    /// Conditions that are not `True` (`ScalingActive`, `AbleToScale`).
    pub problems: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CronJob {
    pub meta: Meta,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub suspend: bool,
    pub last_schedule: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub meta: Meta,
    pub manual: bool,
    pub start: Option<DateTime<Utc>>,
    /// `status.completionTime`, else when the `Failed` condition was set.
    pub finished: Option<DateTime<Utc>>,
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    /// The `Failed` condition, when the Job failed.
    pub failure: Option<Condition>,
    pub complete: bool,
}

/// An Ambassador `Mapping` (`getambassador.io`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub meta: Meta,
    /// `spec.hostname`, else `spec.host`.
    pub host: Option<String>,
    pub prefix: String,
    pub rewrite: Option<String>,
    pub service: String,
}

/// An Argo CD `Application` (`argoproj.io`).
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub meta: Meta,
    pub sync: String,
    pub health: String,
    /// `status.health.lastTransitionTime` (Argo CD 3.x): since when it is `health`.
    pub health_since: Option<DateTime<Utc>>,
    pub revision: Option<String>,
    pub auto_sync: bool,
    pub self_heal: bool,
    /// `(kind, namespace, name)` of the resources it manages.
    pub resources: Vec<(String, String, String)>,
    /// `spec.source.path`: the directory of the manifest repository it deploys.
    pub path: Option<String>,
    /// `status.history`: the last syncs (Argo CD keeps `revisionHistoryLimit`, 10).
    pub history: Vec<SyncRecord>,
    /// `status.operationState`: the last sync operation's phase and message.
    pub operation: Option<(String, String)>,
}

/// One entry of an Application's `status.history`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRecord {
    pub id: i64,
    pub revision: String,
    pub deployed_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// `initiatedBy.username`; none when automated.
    pub initiated_by: Option<String>,
}

/// Any watched object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Ingress(Ingress),
    Service(Service),
    EndpointSlice(EndpointSlice),
    Deployment(Deployment),
    ReplicaSet(ReplicaSet),
    Pod(Pod),
    Node(Node),
    PodDisruptionBudget(PodDisruptionBudget),
    Hpa(Hpa),
    CronJob(CronJob),
    Job(Job),
    Mapping(Mapping),
    Application(Application),
}

impl Object {
    pub fn meta(&self) -> &Meta {
        match self {
            Object::Ingress(o) => &o.meta,
            Object::Service(o) => &o.meta,
            Object::EndpointSlice(o) => &o.meta,
            Object::Deployment(o) => &o.meta,
            Object::ReplicaSet(o) => &o.meta,
            Object::Pod(o) => &o.meta,
            Object::Node(o) => &o.meta,
            Object::PodDisruptionBudget(o) => &o.meta,
            Object::Hpa(o) => &o.meta,
            Object::CronJob(o) => &o.meta,
            Object::Job(o) => &o.meta,
            Object::Mapping(o) => &o.meta,
            Object::Application(o) => &o.meta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let s = Selector {
            labels: labels(&[("app", "a")]),
            expressions: vec![Expression { key: "tier".into(), operator: "NotIn".into(), values: vec!["db".into()] }],
        };
        assert!(s.matches(&labels(&[("app", "a"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "a"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "b")])));
        assert!(!Selector::default().matches(&labels(&[("app", "a")])), "empty selects nothing");
    }
}
