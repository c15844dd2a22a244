use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use mezame_shared::power::RunState;

use crate::app::App;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// The run as Server-Sent Events: a `run` event (the whole `Run`) whenever it
/// changes, read from the database (so any replica can serve it) by one
/// poller per run shared by all its streams; the stream ends after the run
/// has finished, or when the server shuts down (clients reconnect).
#[utoipa::path(
    get, path = "/api/runs/{id}/events", tag = "power",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "text/event-stream of `run` events", content_type = "text/event-stream", body = String),
        (status = 404, description = "Unknown run", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "Too many open event streams on this server", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_run_events(
    State(app): State<App>,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let slot = crate::http::security::stream_slot(&app)?;
    let mut rx = app.lifecycle.follow(id).await?;
    let mut closing = app.closing();
    let stream = async_stream::stream! {
        let _slot = slot;
        loop {
            let run = rx.borrow_and_update().clone();
            yield Ok(Event::default().event("run").data(serde_json::to_string(&*run).unwrap_or_default()));
            if run.state != RunState::Running {
                break;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
                _ = crate::domain::closing::until_true(&mut closing) => break,
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
