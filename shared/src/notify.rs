//! Notifications of a run: each webhook message and whether it was delivered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One message to one webhook (`[[env.notify]]`), as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The webhook's name in the configuration.
    pub target: String,
    /// `run.succeeded`, `run.failed` or `sleep.soon`.
    pub event: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Why the last attempt failed (the receiver's status, a timeout, …).
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet: tried again with backoff.
    Pending,
    Sent,
    /// Every attempt failed; no more are made.
    GaveUp,
}
