//! The audit log: recording an action, reading it one page at a time.

use mezame_shared::audit::AuditPage;

use super::DomainError;
use crate::adapters::db::{AuditFilter, AuditScope, Db, NewAuditEntry};

/// Records an action (who, what, before/after — never secret values). A
/// write that fails fails the action: callers record before they report
/// success, and what cannot be audited is not done (or is undone).
pub async fn record(db: &Db, entry: NewAuditEntry) -> Result<(), DomainError> {
    db.record_audit(&entry).await.map_err(|e| {
        tracing::error!(error = %e, action = entry.action, "cannot write the audit log");
        DomainError::Unavailable(format!("the audit log cannot be written ({e}): nothing was done"))
    })?;
    Ok(())
}

/// Records what a mutation did (`took_effect`: it changed something); if the
/// entry cannot be written, the change is put back with `undo` — nothing stays
/// done unaudited — and the action fails.
pub async fn record_or_undo<F, E>(db: &Db, entry: NewAuditEntry, took_effect: bool, undo: impl FnOnce() -> F) -> Result<(), DomainError>
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let action = entry.action.clone();
    let Err(e) = record(db, entry).await else { return Ok(()) };
    if took_effect && let Err(undo) = undo().await {
        tracing::error!(error = %undo, action, "a change that could not be audited could not be put back either");
    }
    Err(e)
}

/// Largest page `GET /api/audit` returns.
pub const MAX_PAGE: u32 = 500;
pub const DEFAULT_PAGE: u32 = 100;

/// Newest entries first; `before` is the id of the last entry of the previous
/// page; `scope`: what the reader may see (`None`: everything).
pub async fn page(
    db: &Db,
    env: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
    scope: Option<AuditScope>,
) -> Result<AuditPage, DomainError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(DomainError::Invalid(format!("limit must be between 1 and {MAX_PAGE}, got {limit}")));
    }
    let entries = db.list_audit(&AuditFilter { env, before, limit, scope }).await?;
    let next_before = if entries.len() == limit as usize { entries.last().map(|e| e.id) } else { None };
    Ok(AuditPage { entries, next_before })
}
