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
/// changes, read from the database (so any replica can serve it); the stream
/// ends after the run has finished.
#[utoipa::path(
    get, path = "/api/runs/{id}/events", tag = "power",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "text/event-stream of `run` events", content_type = "text/event-stream", body = String),
        (status = 404, description = "Unknown run", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_run_events(State(app): State<App>, Path(id): Path<i64>) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first = app.lifecycle.run(id).await?;
    let stream = async_stream::stream! {
        let mut last = serde_json::to_string(&first).unwrap_or_default();
        let mut done = first.state != RunState::Running;
        yield Ok(Event::default().event("run").data(last.clone()));
        while !done {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let Ok(run) = app.lifecycle.run(id).await else { break };
            done = run.state != RunState::Running;
            let json = serde_json::to_string(&run).unwrap_or_default();
            if json != last {
                last = json;
                yield Ok(Event::default().event("run").data(last.clone()));
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
