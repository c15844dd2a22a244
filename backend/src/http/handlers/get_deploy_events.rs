use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures::Stream;

use crate::app::App;
use crate::http::cues::cue_stream;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// When the environment's deploys may have changed, as Server-Sent Events: a
/// `changed` event (its data the server's time) whenever the index moved (a
/// pass over git ended, syncs were recorded, a freeze was set or lifted) or
/// the environment's watch cache did (syncs, rollouts) — at most one a
/// second, and one as the stream opens. Read the deploys (and the versions
/// matrix) again on each. At most `max_event_streams` streams per server
/// (503 beyond); streams end when the server shuts down.
#[utoipa::path(
    get, path = "/api/envs/{env}/deploys/events", tag = "deploys",
    params(EnvPath),
    responses(
        (status = 200, description = "text/event-stream of `changed` events", content_type = "text/event-stream", body = String),
        (status = 404, description = "Unknown environment, or no manifest repository configured", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_deploy_events(
    State(app): State<App>,
    env: EnvPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    cue_stream(&app, app.deploys()?.changes(&env.live), || async {})
}
