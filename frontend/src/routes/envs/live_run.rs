//! A wake or sleep run followed live over its Server-Sent Events stream
//! (`GET /api/runs/{id}/events`): each change of a step arrives as a `run`
//! event. The stream is closed here once the run has ended (otherwise the
//! browser would reconnect to a finished run forever).

use leptos::prelude::*;
use mezame_shared::power::{Power, Run, RunState};
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

/// The run an environment's power page follows: the one started there (set
/// the returned `followed`), or the active one `power` reports; `reopen`
/// follows a retried run again.
pub struct Followed {
    pub followed: RwSignal<Option<i64>>,
    pub reopen: RwSignal<u32>,
    pub run: RwSignal<Option<Result<Run, String>>>,
}

pub fn use_followed_run(power: LocalResource<Result<Power, api::ApiFailure>>) -> Followed {
    let followed = RwSignal::new(None::<i64>);
    let reopen = RwSignal::new(0u32);
    let run = use_live_run(followed.into(), reopen.into());
    Effect::new(move |_| {
        if let Some(Ok(p)) = power.get()
            && let Some(id) = p.active_run
            && followed.get_untracked() != Some(id)
        {
            followed.set(Some(id));
        }
    });
    Followed { followed, reopen, run }
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
