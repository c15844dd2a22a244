//! Node capacity of an environment: its EKS managed node groups and the
//! self-managed Auto Scaling groups of its cluster, the nodes under each,
//! the declared vs the actual on-demand/spot mix, and totals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::power::GroupKind;
pub use crate::spot::{RiskFlag, RiskKind, SpotMove, SpotRisk};

/// Answer of `GET /api/envs/{env}/capacity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capacity {
    pub env: String,
    /// The EKS cluster the groups belong to.
    pub cluster: String,
    /// When AWS was last described (groups, instances); `None` before the first answer.
    pub described_at: Option<DateTime<Utc>>,
    /// Why AWS could not be described, when it could not (the groups are then the last known).
    pub aws_error: Option<String>,
    /// Whether the cluster's nodes and pods are live (the topology's watch cache).
    pub nodes_synced: bool,
    pub groups: Vec<Group>,
    /// Nodes that belong to no group found in AWS (e.g. Fargate, Karpenter, or a group of another cluster).
    pub other_nodes: Vec<NodeRow>,
    pub totals: Totals,
    /// What the nodes cost, and what spot and the sleep schedule save.
    #[serde(default)]
    pub cost: EnvCost,
    /// Per microservice with pods: where its ready replicas run (spot or
    /// on-demand, zones, nodes) and the risks of that; flagged ones first.
    #[serde(default)]
    pub spot_risk: Vec<SpotRisk>,
    /// Per microservice with replicas on on-demand nodes: whether it is ready
    /// for spot, and what moving it would save.
    #[serde(default)]
    pub spot_moves: Vec<SpotMove>,
    /// Spot interruptions and rebalance recommendations of the cluster's
    /// nodes, as aws-node-termination-handler marked them, newest first.
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
}

/// A node that aws-node-termination-handler tainted: a spot interruption
/// notice (the instance goes in 2 minutes) or a rebalance recommendation
/// (it is at elevated risk of one), with what ran on it then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interruption {
    /// When mezame saw the node tainted.
    pub at: DateTime<Utc>,
    pub kind: InterruptionKind,
    pub node: String,
    pub instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    /// The microservices with ready replicas on the node then.
    pub hit: Vec<ReplicasHit>,
}

worded!(
    /// What aws-node-termination-handler tainted a spot node with.
    InterruptionKind {
        /// Taint `aws-node-termination-handler/spot-itn`.
        SpotInterruption = "spot_interruption",
        /// Taint `aws-node-termination-handler/rebalance-recommendation`.
        RebalanceRecommendation = "rebalance_recommendation",
    }
);

/// What a microservice had on an interrupted node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicasHit {
    pub namespace: String,
    pub name: String,
    pub serving: bool,
    /// Its ready replicas on the node, and in all, just before.
    pub ready_here: u32,
    pub ready_before: u32,
    /// Every ready replica was there: an outage until they run again elsewhere.
    pub lost_all: bool,
}

impl Interruption {
    /// The spot capacity pool: instance type and zone.
    pub fn pool(&self) -> String {
        format!("{} in {}", self.instance_type.as_deref().unwrap_or("unknown type"), self.zone.as_deref().unwrap_or("unknown zone"))
    }
}

/// An EKS managed node group or a self-managed Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub kind: GroupKind,
    pub name: String,
    /// EKS: `ACTIVE`, `UPDATING`, `DEGRADED`…; an Auto Scaling group: `Active`, or its status while deleting.
    pub status: String,
    /// EKS: `ON_DEMAND` or `SPOT`; an Auto Scaling group: `MIXED` with a MixedInstancesPolicy, else `ON_DEMAND`.
    pub capacity_type: String,
    pub instance_types: Vec<String>,
    /// EKS only, e.g. `AL2023_x86_64_STANDARD`.
    pub ami_type: Option<String>,
    pub min: i32,
    pub desired: i32,
    pub max: i32,
    /// EKS health issues (`code: message`).
    pub health: Vec<String>,
    /// Kubernetes labels and taints the group puts on its nodes (EKS only).
    pub labels: std::collections::BTreeMap<String, String>,
    pub taints: Vec<String>,
    /// The Auto Scaling group's MixedInstancesPolicy, if it has one.
    pub mix: Option<Mix>,
    /// The EC2 instances of an Auto Scaling group (empty for EKS: its own group is AWS's).
    pub instances: Vec<InstanceRow>,
    /// The running mix, from EC2's `InstanceLifecycle` (not node labels).
    pub actual: ActualMix,
    pub nodes: Vec<NodeRow>,
    /// What a person should look at (no spot at all, a single instance type…).
    pub warnings: Vec<String>,
    /// The sizes the next wake restores, when the environment's power settings list the group.
    pub awake: Option<Sizes>,
    /// What its running instances (an Auto Scaling group) or nodes (EKS) cost.
    #[serde(default)]
    pub cost: Cost,
}

/// The on-demand/spot policy of an Auto Scaling group, as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mix {
    pub on_demand_base: i32,
    /// Of the capacity above the base; AWS's default is 100 (no spot at all).
    pub on_demand_percent_above_base: i32,
    pub spot_allocation_strategy: Option<String>,
    /// Instance types of the overrides.
    pub instance_types: Vec<String>,
    pub capacity_rebalance: bool,
    /// The launch template, by id or name, and its version.
    pub launch_template: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActualMix {
    pub on_demand: u32,
    pub spot: u32,
}

/// Minimum, desired and maximum size of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    pub min: i32,
    pub desired: i32,
    pub max: i32,
}

impl Sizes {
    /// Why these sizes cannot be given to a group of `kind` (empty: they can).
    pub fn problems(&self, kind: GroupKind) -> Vec<String> {
        let Sizes { min, desired, max } = *self;
        let mut out = Vec::new();
        if min < 0 || desired < 0 || max < 0 {
            out.push(format!("sizes must be ≥ 0 (min {min}, desired {desired}, max {max})"));
        }
        if min > desired || desired > max {
            out.push(format!("needs min ≤ desired ≤ max (min {min}, desired {desired}, max {max})"));
        }
        if kind == GroupKind::Nodegroup && max < 1 {
            out.push("an EKS managed node group needs max ≥ 1".into());
        }
        out
    }
}

/// An EC2 instance of an Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceRow {
    pub id: String,
    pub instance_type: String,
    pub zone: String,
    /// `spot` or `on-demand`.
    pub lifecycle: String,
    /// The Auto Scaling group's view: `InService`, `Pending`, `Terminating`…, and `Healthy`/`Unhealthy`.
    pub state: String,
    pub health: String,
    /// The Kubernetes node it became, once it joined.
    pub node: Option<String>,
    /// USD per hour, when its price is known.
    #[serde(default)]
    pub hourly: Option<f64>,
}

/// A Kubernetes node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRow {
    pub name: String,
    pub ready: bool,
    pub cordoned: bool,
    pub created: Option<DateTime<Utc>>,
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    pub instance_id: Option<String>,
    /// `spot` or `on-demand` from EC2 when the instance is known, else from the EKS label; `None` if neither says.
    pub capacity_type: Option<String>,
    pub pods: u32,
    pub cpu_requested_m: u64,
    pub cpu_allocatable_m: u64,
    pub memory_requested: u64,
    pub memory_allocatable: u64,
    /// USD per hour, when its price is known.
    #[serde(default)]
    pub hourly: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub nodes: u32,
    pub ready: u32,
    pub cpu_allocatable_m: u64,
    pub memory_allocatable: u64,
    /// Requested / allocatable, in percent.
    pub cpu_requested_pct: f64,
    pub memory_requested_pct: f64,
    /// Nodes on spot, in percent of the nodes whose capacity type is known.
    pub spot_share_pct: f64,
}

/// A cost in USD.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cost {
    pub hourly: f64,
    /// Hourly × 730 (AWS's month).
    pub monthly: f64,
    /// Some price in it is not the market's: spot priced at on-demand, a
    /// region priced as another, an instance whose type has no price.
    pub estimated: bool,
    /// Why it is estimated, one reason per line.
    pub notes: Vec<String>,
}

/// What an environment's nodes cost, and what spot and sleeping save.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvCost {
    /// Every group's cost, and the nodes of no group whose price is known.
    pub total: Cost,
    /// What the instances on spot save per month against on-demand.
    pub spot_saving_monthly: f64,
    /// What moving every spot-ready microservice's on-demand replicas to spot
    /// would save per month (see [`SpotMove`]).
    #[serde(default)]
    pub spot_ready_saving_monthly: f64,
    /// What the sleep schedule saves per month (the groups a sleep scales to
    /// 0, priced at their awake sizes); `None` without a schedule.
    pub sleep_saving_monthly: Option<f64>,
    /// Hours per week the schedule keeps the environment asleep.
    pub asleep_hours_per_week: Option<f64>,
    pub prices: PriceBasis,
}

/// Where the prices come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceBasis {
    /// The region the environment's instances are priced in.
    pub region: String,
    /// The on-demand table shipped with mezame: its source and date.
    pub on_demand_source: String,
    pub on_demand_as_of: String,
    /// Instance types whose on-demand price the configuration sets (`[prices] on_demand`).
    pub overridden: Vec<String>,
    /// When EC2's spot price history was last read (`DescribeSpotPriceHistory`).
    pub spot_described_at: Option<DateTime<Utc>>,
    /// Why it could not be read, when it could not (spot is then priced at on-demand, estimated).
    pub spot_error: Option<String>,
}

/// Hours in a month, as AWS bills them.
pub const HOURS_PER_MONTH: f64 = 730.0;

impl Cost {
    /// A cost of `hourly`, estimated for `notes` (none: a market price).
    pub fn of(hourly: f64, notes: Vec<String>) -> Cost {
        let hourly = (hourly * 10_000.0).round() / 10_000.0;
        Cost { hourly, monthly: (hourly * HOURS_PER_MONTH * 100.0).round() / 100.0, estimated: !notes.is_empty(), notes }
    }
}

impl NodeRow {
    /// Requested / allocatable CPU in percent (0 when nothing is allocatable).
    pub fn cpu_pct(&self) -> f64 {
        pct(self.cpu_requested_m, self.cpu_allocatable_m)
    }
    pub fn memory_pct(&self) -> f64 {
        pct(self.memory_requested, self.memory_allocatable)
    }
}

pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 1000.0 / whole as f64).round() / 10.0 }
}

/// Body of `PATCH /api/envs/{env}/capacity/{kind}/{name}`: new sizes, a new
/// spot mix (Auto Scaling groups), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    #[serde(default)]
    pub sizes: Option<Sizes>,
    /// Auto Scaling groups with a MixedInstancesPolicy only.
    #[serde(default)]
    pub mix: Option<MixChange>,
    /// When desired is lowered (an Auto Scaling group): the nodes to remove,
    /// as many as desired goes down; mezame chooses them when absent.
    #[serde(default)]
    pub remove_nodes: Option<Vec<String>>,
    /// Only say what would change (before → after, warnings); change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// In a protected environment: its name, typed by the person (e.g. `"prod"`).
    #[serde(default)]
    pub confirm: Option<String>,
}

/// A node a scale-in removes: drained first, then its instance terminated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScaleInNode {
    pub node: String,
    pub instance_id: String,
    /// Pods on it (DaemonSet pods included), as the page counts them.
    pub pods: u32,
    pub cordoned: bool,
}

/// The parts of a MixedInstancesPolicy a person steers; the rest of the
/// policy (launch template, weights, on-demand strategy) is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MixChange {
    pub on_demand_base: i32,
    /// 0–100; 100 means no spot at all.
    pub on_demand_percent_above_base: i32,
    /// `price-capacity-optimized` (recommended), `capacity-optimized`, `capacity-optimized-prioritized` or `lowest-price`.
    pub spot_allocation_strategy: String,
    /// The overrides' instance types, in order; spot needs at least 2 (3 recommended).
    pub instance_types: Vec<String>,
}

/// Spot allocation strategies AWS accepts.
pub const SPOT_STRATEGIES: [&str; 4] = ["price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"];

/// What a group is and would be, as far as a [`GroupChange`] reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupSpec {
    pub sizes: Sizes,
    pub mix: Option<MixChange>,
}

/// Where a change of sizes goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SizesTarget {
    /// The group in AWS.
    Aws,
    /// The environment is asleep: the sizes the next wake restores (power settings).
    AwakeSizes,
}

/// Answer of the PATCH: before → after (done, or only shown with `dry_run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupChanged {
    pub kind: GroupKind,
    pub name: String,
    pub dry_run: bool,
    pub sizes_target: SizesTarget,
    pub before: GroupSpec,
    pub after: GroupSpec,
    /// What happened (or would), in words.
    pub message: String,
    pub warnings: Vec<String>,
    /// Lowering an Auto Scaling group's desired: the nodes drained, then
    /// terminated with a decrement of desired — by a run (`run`) like a drain.
    #[serde(default)]
    pub scale_in: Vec<ScaleInNode>,
    /// The scale-in run, started (the answer is then 202).
    #[serde(default)]
    pub run: Option<crate::power::RunStarted>,
}

impl MixChange {
    /// The steerable part of a declared mix.
    pub fn of(m: &Mix) -> MixChange {
        MixChange {
            on_demand_base: m.on_demand_base,
            on_demand_percent_above_base: m.on_demand_percent_above_base,
            spot_allocation_strategy: m.spot_allocation_strategy.clone().unwrap_or_default(),
            instance_types: m.instance_types.clone(),
        }
    }
}

/// Answer of `POST /api/envs/{env}/nodes/{node}/cordon` and `…/uncordon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeCordon {
    pub node: String,
    /// Whether the node is now unschedulable.
    pub cordoned: bool,
    /// False when the node already was as asked (nothing was written).
    pub changed: bool,
}

/// Body of `POST /api/envs/{env}/nodes/{node}/drain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// Only say what the drain would do (the preflight); change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// In a protected environment: its name, typed by the person (e.g. `"prod"`).
    #[serde(default)]
    pub confirm: Option<String>,
}

/// What draining a node would do: the answer of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrainPreflight {
    pub node: String,
    /// Pods that would be evicted (`namespace/name`).
    pub evict: Vec<String>,
    /// Pods that stay, each with why (DaemonSet, static, finished).
    pub stay: Vec<String>,
    /// What to know before confirming: PodDisruptionBudgets that allow no
    /// disruption now, pods without a controller, emptyDir data, pods not Ready.
    pub warnings: Vec<String>,
    /// How long the drain waits for blocked or slow pods before it fails.
    pub timeout_secs: u64,
}
