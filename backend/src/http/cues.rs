//! A stream of cues ([`Changes`]) as Server-Sent Events: a `changed` event,
//! its data the server's time, per cue, sent once `ready` is done (a view
//! made again first, so that a read on the cue reads it); at most `max_event_streams` streams
//! per server (503 beyond); the stream ends when the server shuts down (the
//! client reconnects, to another replica).

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use crate::app::App;
use crate::domain::changes::Changes;
use crate::http::error::ApiError;

pub fn cue_stream<R, F>(
    app: &App,
    mut changes: Changes,
    mut ready: R,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<R, F>>, ApiError>
where
    R: FnMut() -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
    let slot = crate::http::security::stream_slot(app)?;
    let mut closing = app.closing();
    let stream = async_stream::stream! {
        let _slot = slot;
        loop {
            let next = tokio::select! {
                c = changes.next() => c,
                _ = crate::domain::closing::until_true(&mut closing) => None,
            };
            if next.is_none() {
                break;
            }
            ready().await;
            yield Ok(Event::default().event("changed").data(chrono::Utc::now().to_rfc3339()));
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
