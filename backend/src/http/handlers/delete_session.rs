use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::audit::AuditOutcome;

use crate::adapters::db::NewAuditEntry;
use crate::app::App;
use crate::domain::audit;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// Ends a sign-in session (on every replica at once): one's own, or anyone's
/// for an admin of every environment.
#[utoipa::path(
    delete, path = "/api/sessions/{id}", tag = "auth",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "Another's session", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown session", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn delete_session(State(app): State<App>, Caller(who): Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let envs: Vec<&str> = app.envs.names().collect();
    let user = app.auth.revoke_session(&who, &id, &envs).await?;
    audit::record(
        &app.db,
        NewAuditEntry {
            actor: who.name,
            action: "session.revoke".into(),
            env: None,
            target: Some(format!("session/{id}")),
            before: Some(serde_json::json!({ "user": user })),
            after: None,
            outcome: AuditOutcome::Ok,
            message: None,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
