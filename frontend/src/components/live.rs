//! The live topology of an environment, kept current by the server's
//! Server-Sent Events (`snapshot`, then `delta`s): no polling, no reload.
//! The browser's `EventSource` reconnects by itself and sends the last
//! revision it saw (`Last-Event-ID`), so the server resumes with deltas.

use leptos::prelude::*;
use mezame_shared::topology::{Topology, TopologyDelta};
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

use crate::api;

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

/// An open stream and the callbacks it holds.
struct Stream {
    source: EventSource,
    _callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
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
    let source = EventSource::new(&api::topology_events_url(env)).ok()?;
    let data = |e: &web_sys::Event| e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string());
    let on_snapshot = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        if let Some(t) = data(&e).and_then(|d| serde_json::from_str::<Topology>(&d).ok()) {
            topology.set(Some(t));
            conn.set(Conn::Live);
        }
    });
    let on_delta = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let Some(delta) = data(&e).and_then(|d| serde_json::from_str::<TopologyDelta>(&d).ok()) else { return };
        let mut fits = false;
        topology.update(|t| fits = t.as_mut().is_some_and(|t| delta.apply(t)));
        if fits {
            conn.set(Conn::Live);
        } else {
            resync.update(|n| *n += 1);
        }
    });
    let closed = source.clone();
    let url = api::topology_url(env);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if closed.ready_state() != EventSource::CLOSED {
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
    source.add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref()).ok()?;
    source.add_event_listener_with_callback("delta", on_delta.as_ref().unchecked_ref()).ok()?;
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(Stream { source, _callbacks: vec![on_snapshot, on_delta, on_error] })
}
