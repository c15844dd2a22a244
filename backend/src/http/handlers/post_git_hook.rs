use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use mezame_shared::deploys::HookAccepted;

use crate::app::App;
use crate::http::error::ApiError;

/// A repository's push webhook (GitHub, Gitea, Forgejo: content type
/// `application/json`, secret = the value of `[git] webhook_secret_env`): the
/// mirrors are fetched and indexed now rather than at the next interval, so a
/// CI run's chain shows within seconds. No sign-in: the body must be signed
/// (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`), checked before
/// anything else; a `ping` event is answered and asks nothing. Not audited:
/// it changes nothing but when a fetch happens.
#[utoipa::path(
    post, path = "/api/hooks/git", tag = "deploys",
    params(
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body under the webhook secret"),
        ("X-GitHub-Event" = Option<String>, Header, description = "`push`, `ping`, …"),
    ),
    request_body(content = serde_json::Value, description = "The sender's event (not read beyond its signature)"),
    responses(
        (status = 200, description = "A ping: nothing asked", body = HookAccepted),
        (status = 202, description = "A fetch and index asked for", body = HookAccepted),
        (status = 401, description = "No signature, or not the body's under the secret", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "No manifest repository, or webhooks are off (no [git] webhook_secret_env)", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_git_hook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Result<(StatusCode, Json<HookAccepted>), ApiError> {
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let deploys = app.deploys()?;
    deploys.check_hook(&body, text("x-hub-signature-256"))?;
    let ping = text("x-github-event").or(text("x-gitea-event")) == Some("ping");
    if ping {
        return Ok((StatusCode::OK, Json(HookAccepted { fetching: false })));
    }
    deploys.poke();
    Ok((StatusCode::ACCEPTED, Json(HookAccepted { fetching: true })))
}
