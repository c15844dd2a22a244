//! The live topology of an environment, kept current by the server's
//! Server-Sent Events (`snapshot`, then `delta`s): no polling, no reload.
//! The browser's `EventSource` reconnects by itself and sends the last
//! revision it saw (`Last-Event-ID`), so the server resumes with deltas.

use leptos::prelude::*;
use mezame_shared::topology::{Topology, TopologyDelta};
use send_wrapper::SendWrapper;

use crate::api;
use crate::components::perf;
use crate::components::sse::Stream;

/// The state of the connection, for the page's status line.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Connecting,
    Live,
    /// The stream broke; the browser retries.
    Reconnecting,
    /// The server refused the stream (unknown environment, ...): why.
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct LiveTopology {
    pub topology: RwSignal<Option<Topology>>,
    pub conn: RwSignal<Conn>,
}

/// Follows the topology of `env` for as long as the calling component lives.
pub fn use_live_topology(env: Signal<Option<String>>) -> LiveTopology {
    let topology = RwSignal::new(None::<Topology>);
    let conn = RwSignal::new(Conn::Connecting);
    // Bumped when a delta does not fit: reopen for a fresh snapshot.
    let resync = RwSignal::new(0u32);
    let stream: StoredValue<Option<SendWrapper<Stream>>> = StoredValue::new(None);
    Effect::new(move |_| {
        let env = env.get();
        resync.track();
        stream.set_value(None);
        conn.set(Conn::Connecting);
        if topology.with_untracked(|t| t.as_ref().map(|t| Some(&t.env) != env.as_ref())).unwrap_or(false) {
            topology.set(None);
        }
        if let Some(env) = env {
            stream.set_value(open(&env, topology, conn, resync).map(SendWrapper::new));
        }
    });
    on_cleanup(move || stream.set_value(None));
    LiveTopology { topology, conn }
}

fn open(env: &str, topology: RwSignal<Option<Topology>>, conn: RwSignal<Conn>, resync: RwSignal<u32>) -> Option<Stream> {
    let mut stream = Stream::open(&api::topology_events_url(env))?;
    stream.on("snapshot", move |d| {
        if let Ok(t) = serde_json::from_str::<Topology>(&d) {
            topology.set(Some(t));
            conn.set(Conn::Live);
            perf::first_render_done();
        }
    })?;
    stream.on("delta", move |d| {
        let started = perf::now();
        let Ok(delta) = serde_json::from_str::<TopologyDelta>(&d) else { return };
        let mut fits = false;
        topology.update(|t| fits = t.as_mut().is_some_and(|t| delta.apply(t)));
        if fits {
            conn.set(Conn::Live);
            perf::delta_done(started);
        } else {
            resync.update(|n| *n += 1);
        }
    })?;
    let url = api::topology_url(env);
    stream.on_error(move |closed| {
        if !closed {
            conn.set(Conn::Reconnecting);
            return;
        }
        // The browser gave up (a non-200 answer): ask the plain endpoint why.
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let why = match api::get::<Topology>(&url).await {
                Err(e) => e.to_string(),
                Ok(_) => "the live stream closed".to_string(),
            };
            conn.set(Conn::Failed(why));
        });
    });
    Some(stream)
}
