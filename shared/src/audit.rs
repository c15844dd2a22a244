//! The audit log: every action taken through the panel, who took it, and what it changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who acted: the authenticated user, or `anonymous`.
    pub actor: String,
    /// What was done, e.g. `cronjob.run`, `env.wake`.
    pub action: String,
    /// The environment acted on, if any.
    pub env: Option<String>,
    /// The object acted on, e.g. `cronjob/default/mail-notification`.
    pub target: Option<String>,
    /// State before the action, as recorded by the action.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    /// State after the action.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub outcome: AuditOutcome,
    /// Details, e.g. the error message of a failed action.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    Error,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(AuditOutcome::Ok),
            "error" => Some(AuditOutcome::Error),
            _ => None,
        }
    }
}

/// Answer of `GET /api/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}
