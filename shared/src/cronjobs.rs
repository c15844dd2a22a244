//! CronJobs and their Jobs, and running one by hand.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Answer of `GET /api/envs/{env}/cronjobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CronJobList {
    pub env: String,
    pub cronjobs: Vec<CronJob>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CronJob {
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub suspended: bool,
    pub last_schedule: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// Jobs owned by the CronJob, newest first.
    pub jobs: Vec<JobRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRun {
    pub name: String,
    pub outcome: JobOutcome,
    /// Started by hand (`cronjob.kubernetes.io/instantiate: manual`).
    pub manual: bool,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub duration_secs: Option<i64>,
    /// Why it failed, from the Job's `Failed` condition.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Running,
    Succeeded,
    Failed,
}

/// Answer of `POST /api/envs/{env}/cronjobs/{namespace}/{name}/run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobCreated {
    pub namespace: String,
    /// Name of the new Job.
    pub job: String,
}
