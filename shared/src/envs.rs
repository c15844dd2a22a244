//! Configured environments and whether the panel can reach them.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/envs`: the environments the caller may see (no
/// configuration paths, server addresses or credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvList {
    pub envs: Vec<EnvStatus>,
}

/// One environment (e.g. `dev`) and the reachability of its cluster and AWS account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvStatus {
    pub name: String,
    /// Whether the environment is protected (production: never put to sleep).
    pub protected: bool,
    pub kubernetes: ClusterReachability,
    pub aws: AwsReachability,
    /// Its public hostnames and where its DNS zone points them (`[env.dns]`;
    /// absent when mezame does not manage them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<Probe<Vec<PublicHost>>>,
}

/// A public hostname of an environment, as its zone answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicHost {
    pub host: String,
    /// `https://{host}/`.
    pub url: String,
    /// Where the zone points it (a CNAME's or alias record's target); none: no record.
    pub points_to: Option<String>,
    /// The load balancer hostname of the Ingress serving it now (none while asleep).
    pub load_balancer: Option<String>,
    pub state: PublicState,
}

/// Whether a public hostname reaches what it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PublicState {
    /// Points at the live load balancer.
    Live,
    /// Points at mezame's asleep page.
    AsleepPage,
    /// Points somewhere else (a load balancer that no longer exists, …).
    Stale,
    /// The zone has no record of it.
    NoRecord,
}

/// What the panel learned from the environment's Kubernetes API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterReachability {
    /// The kubeconfig context used.
    pub context: Option<String>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
    pub result: Probe<ClusterInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterInfo {
    /// `gitVersion` of the API server, e.g. `v1.36.3`.
    pub server_version: String,
    pub node_count: u32,
    pub ready_node_count: u32,
}

/// What the panel learned from AWS STS for the environment's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwsReachability {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub elapsed_ms: u64,
    pub result: Probe<AwsIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwsIdentity {
    pub account: String,
    pub arn: String,
}

/// The outcome of a reachability check: what was learned, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Probe<T> {
    Ok { value: T },
    Error { message: String },
}

impl<T> Probe<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Probe::Ok { value } => Some(value),
            Probe::Error { .. } => None,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Probe::Ok { .. } => None,
            Probe::Error { message } => Some(message),
        }
    }
}
