use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::audit::AuditOutcome;
use mezame_shared::auth::{NewToken, TokenCreated};

use crate::adapters::db::NewAuditEntry;
use crate::app::App;
use crate::domain::audit;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Json;

/// Makes an API token for automation, scoped to a role (never beyond the
/// maker's own in each environment) and environments, expiring. Its secret is
/// in this answer only: it is stored hashed.
#[utoipa::path(
    post, path = "/api/tokens", tag = "auth",
    request_body = NewToken,
    responses(
        (status = 201, body = TokenCreated),
        (status = 400, description = "Invalid; nothing made", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Asked with a token: tokens are made by people", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_token(
    State(app): State<App>,
    Caller(who): Caller,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, axum::Json<TokenCreated>), ApiError> {
    let envs: Vec<&str> = app.envs.names().collect();
    let created = app.auth.create_token(&who, new, &envs).await?;
    let entry = NewAuditEntry {
        actor: who.name.clone(),
        action: "token.create".into(),
        env: None,
        target: Some(format!("token/{}", created.info.id)),
        before: None,
        after: serde_json::to_value(&created.info).ok(),
        outcome: AuditOutcome::Ok,
        message: None,
    };
    if let Err(e) = audit::record(&app.db, entry).await {
        let _ = app.auth.revoke_token(&who, &created.info.id, &envs).await;
        return Err(e.into());
    }
    Ok((StatusCode::CREATED, axum::Json(created)))
}
