//! Spot risk and spot moves of an environment's microservices, as the
//! capacity view shows them (`capacity.rs`).

use serde::{Deserialize, Serialize};

/// Where one microservice's ready replicas run, and what that risks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpotRisk {
    pub namespace: String,
    pub name: String,
    /// A Service sends it traffic.
    pub serving: bool,
    pub ready: u32,
    /// Ready replicas by the capacity type of their node (EC2's lifecycle).
    pub on_spot: u32,
    pub on_demand: u32,
    /// Ready replicas on a node whose capacity type nobody knows.
    pub unknown: u32,
    /// Zones of its ready replicas.
    pub zones: Vec<String>,
    /// How many nodes its ready replicas run on (a count, not their names:
    /// at hundreds of microservices the names were half of the view).
    pub nodes: u32,
    /// A PodDisruptionBudget selects its pods.
    pub has_pdb: bool,
    pub flags: Vec<RiskFlag>,
}

/// A risk of where a microservice runs, and its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskFlag {
    pub kind: RiskKind,
    /// What is at risk, in words.
    pub message: String,
    /// What to change.
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// A serving microservice whose ready replicas are all on spot.
    AllOnSpot,
    /// … all in one zone.
    OneZone,
    /// … all on one node.
    OneNode,
    /// On spot without a PodDisruptionBudget.
    NoPdbOnSpot,
}

/// What moving one microservice's on-demand replicas to spot would take and save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpotMove {
    pub namespace: String,
    pub name: String,
    /// Ready replicas on on-demand nodes.
    pub on_demand: u32,
    /// It can go to spot safely: at least 2 ready replicas, on 2 nodes or
    /// more, in 2 zones or more, with a PodDisruptionBudget.
    pub ready_for_spot: bool,
    /// What it lacks for that (empty when ready).
    pub missing: Vec<String>,
    /// Per month: each on-demand replica's share of its node (its CPU or
    /// memory requests over the node's allocatable, the larger) times the
    /// node's on-demand price less EC2's spot price of the same type in the same zone.
    pub saving_monthly: f64,
    /// Why the figure is incomplete (a type or zone without a price): those replicas are not counted.
    pub notes: Vec<String>,
}
