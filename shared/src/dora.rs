//! DORA's four keys for one microservice in one environment over a window,
//! computed from the deploys' chains (`deploys.rs`): how often it deploys,
//! how long a change takes to run, how often a deploy fails, how long the
//! recovery takes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Answer of `GET /api/envs/{env}/deploys/{ms}/dora?window=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dora {
    pub env: String,
    pub ms: String,
    /// The window's length in days (7, 30 or 90), ending now.
    pub window_days: u32,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Deploys in the window (manifest commits on master rewriting the
    /// microservice's image in the environment).
    pub deploys: u32,
    /// Deploys per day over the window.
    pub per_day: f64,
    /// One entry per day of the window, oldest first.
    pub daily: Vec<DayCount>,
    pub lead_time: LeadTime,
    /// Deploys in the window inferred failed.
    pub failed: u32,
    /// `failed / deploys`; none without deploys.
    pub change_failure_rate: Option<f64>,
    /// Median of failed deploy → the next healthy one, over the failures
    /// that recovered; none if none did.
    pub recovery_median_secs: Option<i64>,
    /// Each deploy of the window, oldest first (for the charts and to check).
    pub points: Vec<DoraPoint>,
    /// How the figures were made, and what they cannot see.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    pub day: NaiveDate,
    pub deploys: u32,
    pub failed: u32,
}

/// Lead time for changes as four-keys defines it: over every app commit a
/// deploy ships (not only its tip), commit → running in the environment.
/// Each part is its own median (they need not add up to the total's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadTime {
    /// App commits shipped by the window's deploys whose arrival is known.
    pub commits: u32,
    /// App commits shipped by deploys that arrived before mezame observed
    /// Argo CD (no sync recorded: when they ran is unknown), left out.
    pub unmeasured: u32,
    pub median_secs: Option<i64>,
    /// App commit → the first manifest commit deploying it (any environment): CI.
    pub ci_median_secs: Option<i64>,
    /// That first manifest commit → running there (waiting in the first environment).
    pub first_env_median_secs: Option<i64>,
    /// Running in the first environment → this environment's manifest commit
    /// (waiting for promotion; 0 for a commit the environment got first).
    pub promotion_median_secs: Option<i64>,
}

/// One deploy of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoraPoint {
    /// Its manifest commit.
    pub manifest: String,
    pub tag: String,
    pub at: DateTime<Utc>,
    /// When it ran (rollout complete, else its sync); none if unknown.
    pub reached: Option<DateTime<Utc>>,
    /// App commits it shipped.
    pub commits: u32,
    /// Median lead time of those commits.
    pub lead_median_secs: Option<i64>,
    /// Why it is counted failed: "rolled back", "reverted", "sync failed: …",
    /// "rollout stuck: …".
    pub failure: Option<String>,
    /// Failed → the next healthy deploy, if there was one.
    pub recovered_secs: Option<i64>,
}
