//! A wake or sleep run followed live over its Server-Sent Events stream
//! (`GET /api/runs/{id}/events`): each change of a step arrives as a `run`
//! event. The stream is closed here once the run has ended (otherwise the
//! browser would reconnect to a finished run forever).

use leptos::prelude::*;
use mezame_shared::power::{Run, RunState};
use send_wrapper::SendWrapper;

use crate::api;
use crate::components::sse::Stream;

/// The followed run (or why it cannot be shown), kept current while it
/// runs. Following starts again when `id` or `reopen` changes (a retried run
/// runs again under the same id).
pub fn use_live_run(id: Signal<Option<i64>>, reopen: Signal<u32>) -> RwSignal<Option<Result<Run, String>>> {
    let run = RwSignal::new(None::<Result<Run, String>>);
    let stream: StoredValue<Option<SendWrapper<Stream>>> = StoredValue::new(None);
    Effect::new(move |_| {
        let id = id.get();
        reopen.track();
        stream.set_value(None);
        if let Some(id) = id {
            stream.set_value(open(id, run).map(SendWrapper::new));
        }
    });
    on_cleanup(move || stream.set_value(None));
    run
}

fn open(id: i64, run: RwSignal<Option<Result<Run, String>>>) -> Option<Stream> {
    let mut s = Stream::open(&api::run_events_url(id))?;
    // Closed, not dropped: this callback belongs to the stream.
    let source = s.source.clone();
    s.on("run", move |d| {
        let Ok(r) = serde_json::from_str::<Run>(&d) else { return };
        if r.state != RunState::Running {
            source.close();
        }
        run.set(Some(Ok(r)));
    })?;
    s.on_error(move |closed| {
        if closed {
            // Refused (an unknown run, ...): the plain endpoint says why.
            leptos::task::spawn_local(async move {
                run.set(Some(api::get_run(id).await.map_err(|e| e.to_string())));
            });
        }
    });
    Some(s)
}
