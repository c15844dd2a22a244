//! The live topology of an environment: ALB Ingress → Ambassador → Mappings →
//! microservice Services → Deployments → Pods, with health, HPAs, Argo CD
//! state and the zero-downtime audit of each microservice.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Answer of `GET /api/envs/{env}/topology`, and the `snapshot` event of its SSE stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Topology {
    pub env: String,
    /// Increases with every change; deltas name the revision they lead to.
    pub revision: u64,
    pub source: SourceHealth,
    pub ingresses: Vec<Ingress>,
    /// The API gateways (Ambassador): the Deployments behind the Ingresses.
    pub gateways: Vec<Gateway>,
    /// One per Deployment outside the system namespaces that is not a gateway.
    /// Shared: a revision keeps the previous one's unchanged microservices.
    #[serde(with = "shared_rows")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Microservice>))]
    pub services: Vec<Arc<Microservice>>,
    /// Mappings whose service does not exist.
    pub unresolved: Vec<Route>,
}

/// `Vec<Arc<T>>` as the JSON array of its `T`s (serde's `rc` feature, for one field).
mod shared_rows {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(rows: &[Arc<T>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(rows.iter().map(|r| &**r))
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Vec<Arc<T>>, D::Error> {
        Ok(Vec::<T>::deserialize(d)?.into_iter().map(Arc::new).collect())
    }
}

/// Whether the panel's view of the cluster is live, and what it cannot see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceHealth {
    /// Every kind has been listed at least once.
    pub synced: bool,
    /// The API server answers; `false` while every watch fails.
    pub connected: bool,
    /// Why the environment is down, when it is.
    pub error: Option<String>,
    /// Kinds the panel cannot watch, with the reason (`no permission to list pods`, ...).
    pub kinds: Vec<KindProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindProblem {
    /// Plural resource name, e.g. `pods`, `mappings.getambassador.io`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ingress {
    pub namespace: String,
    pub name: String,
    pub class: Option<String>,
    /// Hosts of the rules.
    pub hosts: Vec<String>,
    /// Load balancer DNS name from the Ingress status, once the controller set it.
    pub address: Option<String>,
    /// The backend Services (`namespace/name`), in rule order.
    pub backends: Vec<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gateway {
    pub namespace: String,
    /// The Service an Ingress points at.
    pub service: String,
    pub deployment: Option<Workload>,
    pub pods: Vec<Pod>,
    pub ready_endpoints: u32,
    pub problems: Vec<String>,
}

/// Overall state of a microservice, for colour and filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// A rollout is under way or pods are starting.
    Progressing,
    /// Fewer ready replicas than desired, or a flagged problem.
    Degraded,
    /// No ready replica while some are desired.
    Down,
    /// Scaled to zero on purpose.
    Idle,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Microservice {
    pub namespace: String,
    /// The Deployment's name.
    pub name: String,
    pub health: Health,
    /// Routes that reach it through the gateway; empty for an internal service.
    pub routes: Vec<Route>,
    /// No Mapping routes to it.
    pub internal: bool,
    /// Services selecting its pods.
    pub services: Vec<ServiceRef>,
    pub workload: Workload,
    pub pods: Vec<Pod>,
    pub hpa: Option<Hpa>,
    pub argo: Option<ArgoApp>,
    /// Zero-downtime audit findings; empty when the recipe is followed.
    pub findings: Vec<Finding>,
    /// Other problems: a Service with no ready endpoints, a failing rollout, ...
    pub problems: Vec<String>,
}

impl Microservice {
    /// `namespace/name`, the key deltas use.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// A Service or a route sends it traffic.
    pub fn serving(&self) -> bool {
        !self.services.is_empty() || !self.routes.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    /// `namespace/name` of the Mapping.
    pub mapping: String,
    pub host: Option<String>,
    pub prefix: String,
    pub rewrite: Option<String>,
    /// `spec.service` as written.
    pub service: String,
    /// The Service it resolves to (`namespace/name:port`), as Ambassador resolves it.
    pub resolved: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRef {
    pub name: String,
    pub ports: Vec<String>,
    pub ready_endpoints: u32,
    pub not_ready_endpoints: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workload {
    pub name: String,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub rollout: Rollout,
    /// Tag of the first container's image (the app commit in this platform).
    pub image_tag: Option<String>,
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Rollout {
    Complete,
    Progressing {
        message: String,
    },
    /// `ProgressDeadlineExceeded` or a similar failure.
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pod {
    pub name: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`; `Terminating` while deleted.
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    pub node: Option<String>,
    pub node_group: Option<String>,
    /// `ON_DEMAND` or `SPOT`.
    pub capacity_type: Option<String>,
    /// Left out by the `pods=brief` stream, as `image` and `created` are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
}

worded!(
    /// How much of each pod the topology's stream carries (`?pods=`; `full` when not said).
    PodFields {
        /// Every field.
        Full = "full",
        /// Without `zone`, `image` and `created`: what the Topology page draws;
        /// 31% fewer bytes to send and parse at 10,000 pods (bench: 1.93 MB, 2.81 whole).
        Brief = "brief",
    }
);

impl Microservice {
    /// `self` as the `pods=brief` stream carries it.
    pub fn brief(&self) -> Microservice {
        let mut m = self.clone();
        for p in &mut m.pods {
            (p.zone, p.image, p.created) = (None, None, None);
        }
        m
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hpa {
    pub name: String,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
    /// The first metric: its name, e.g. `datadogmetric@platform:orders-queue-depth`.
    pub metric: Option<String>,
    /// `Value`, `AverageValue` or `Utilization`.
    pub target_type: Option<String>,
    pub target: Option<f64>,
    /// Current value, when the metric is available.
    pub value: Option<f64>,
    /// `ceil(current × value / target)` before clamping to min/max, when the value is known.
    pub computed: Option<i32>,
    /// The HPA's own explanation when it cannot scale (metric unavailable, ...).
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArgoApp {
    pub name: String,
    /// `Synced`, `OutOfSync`, `Unknown`.
    pub sync: String,
    /// `Healthy`, `Progressing`, `Degraded`, `Missing`, ...
    pub health: String,
    /// The manifest revision last synced.
    pub revision: Option<String>,
    pub auto_sync: bool,
    pub self_heal: bool,
}

/// One way a microservice breaks the zero-downtime recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub check: Check,
    /// One line: what is wrong and what it causes.
    pub reason: String,
    /// The manifest field to change.
    pub field: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Check {
    ReadinessProbe,
    MaxUnavailable,
    PreStop,
    Replicas,
    DisruptionBudget,
    Spread,
}

impl Check {
    pub const ALL: [Check; 6] =
        [Check::ReadinessProbe, Check::MaxUnavailable, Check::PreStop, Check::Replicas, Check::DisruptionBudget, Check::Spread];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::ReadinessProbe => "readiness_probe",
            Check::MaxUnavailable => "max_unavailable",
            Check::PreStop => "pre_stop",
            Check::Replicas => "replicas",
            Check::DisruptionBudget => "disruption_budget",
            Check::Spread => "spread",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Check::ReadinessProbe => "readiness probe",
            Check::MaxUnavailable => "maxUnavailable: 0",
            Check::PreStop => "preStop delay",
            Check::Replicas => "≥ 2 replicas",
            Check::DisruptionBudget => "PodDisruptionBudget",
            Check::Spread => "spread over nodes",
        }
    }
}

/// The `delta` event of `GET /api/envs/{env}/topology/events`: what changed
/// from `from` to `revision`. Parts that are `None` did not change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopologyDelta {
    pub from: u64,
    pub revision: u64,
    /// New or changed microservices (whole). Applied, the topology holds
    /// these very `Arc`s: a reader keeps them without a copy.
    #[serde(with = "shared_rows")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Microservice>))]
    pub upsert: Vec<Arc<Microservice>>,
    /// Keys (`namespace/name`) of microservices that are gone.
    pub remove: Vec<String>,
    pub source: Option<SourceHealth>,
    pub ingresses: Option<Vec<Ingress>>,
    pub gateways: Option<Vec<Gateway>>,
    pub unresolved: Option<Vec<Route>>,
}

impl TopologyDelta {
    /// Applies the delta to a snapshot at revision `from`; `false` (and no
    /// change) when the snapshot is at another revision.
    pub fn apply(&self, topo: &mut Topology) -> bool {
        if topo.revision != self.from {
            return false;
        }
        topo.revision = self.revision;
        if !self.remove.is_empty() {
            topo.services.retain(|m| !self.remove.contains(&m.key()));
        }
        for m in &self.upsert {
            match topo.services.iter_mut().find(|s| s.namespace == m.namespace && s.name == m.name) {
                Some(slot) => *slot = m.clone(),
                None => topo.services.push(m.clone()),
            }
        }
        if !self.upsert.is_empty() {
            topo.services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
        if let Some(s) = &self.source {
            topo.source = s.clone();
        }
        if let Some(i) = &self.ingresses {
            topo.ingresses = i.clone();
        }
        if let Some(g) = &self.gateways {
            topo.gateways = g.clone();
        }
        if let Some(u) = &self.unresolved {
            topo.unresolved = u.clone();
        }
        true
    }
}

/// Answer of `GET /api/envs/{env}/services/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDetail {
    pub env: String,
    pub service: Microservice,
    /// ReplicaSets of the Deployment, newest revision first.
    pub history: Vec<RolloutRevision>,
    /// Recent Kubernetes events of the Deployment, its ReplicaSets and pods, newest first.
    pub events: Vec<KubeEvent>,
    /// Why the events could not be read, when they could not.
    pub events_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutRevision {
    pub revision: i64,
    pub replica_set: String,
    pub images: Vec<String>,
    pub replicas: i32,
    pub ready: i32,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KubeEvent {
    pub at: Option<DateTime<Utc>>,
    /// `Normal` or `Warning`.
    pub kind: String,
    pub reason: String,
    /// `Pod/name`, `Deployment/name`, ...
    pub object: String,
    pub message: String,
    pub count: i32,
}
