use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures::Stream;

use crate::app::App;
use crate::http::cues::cue_stream;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// When the environment's capacity may have changed, as Server-Sent Events:
/// a `changed` event (its data the server's time) whenever the watch cache
/// applied updates of nodes or pods or AWS was described again — at most one
/// every 300 ms, and one as the stream opens (a reconnecting client may have
/// missed changes). Each is sent once the view is made again (O(pods)): read
/// `GET /api/envs/{env}/capacity` on each, it answers that view. At most `max_event_streams` streams per
/// server (503 beyond); streams end when the server shuts down.
#[utoipa::path(
    get, path = "/api/envs/{env}/capacity/events", tag = "capacity",
    params(EnvPath),
    responses(
        (status = 200, description = "text/event-stream of `changed` events", content_type = "text/event-stream", body = String),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_capacity_events(
    State(app): State<App>,
    env: EnvPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let changes = app.capacities.changes(&env.env, &env.live);
    let (EnvPath { env, live }, of) = (env, app.clone());
    let made = move || {
        let (app, env, live) = (of.clone(), env.clone(), live.clone());
        async move {
            // Settings unreadable (the database down): made without them; a read with them makes it again.
            let settings = app.lifecycle.settings(&env).await.ok().flatten();
            let capacities = app.capacities.clone();
            let _ = tokio::task::spawn_blocking(move || capacities.fresh(&env, &live, settings.as_ref())).await;
        }
    };
    cue_stream(&app, changes, made)
}
