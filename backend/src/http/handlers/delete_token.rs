use axum::Json;
use axum::extract::State;
use mezame_shared::audit::AuditOutcome;
use mezame_shared::auth::TokenInfo;

use crate::adapters::db::NewAuditEntry;
use crate::app::App;
use crate::domain::audit;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// Revokes an API token: one's own, or anyone's for an admin of every environment.
#[utoipa::path(
    delete, path = "/api/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 200, body = TokenInfo),
        (status = 403, description = "Another's token", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown token", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Already revoked, or declared in the configuration", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn delete_token(State(app): State<App>, Caller(who): Caller, Path(id): Path<String>) -> Result<Json<TokenInfo>, ApiError> {
    let envs: Vec<&str> = app.envs.names().collect();
    let revoked = app.auth.revoke_token(&who, &id, &envs).await?;
    audit::record(
        &app.db,
        NewAuditEntry {
            actor: who.name,
            action: "token.revoke".into(),
            env: None,
            target: Some(format!("token/{id}")),
            before: None,
            after: serde_json::to_value(&revoked).ok(),
            outcome: AuditOutcome::Ok,
            message: None,
        },
    )
    .await?;
    Ok(Json(revoked))
}
