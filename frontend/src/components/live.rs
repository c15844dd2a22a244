//! The live topology of an environment, kept current by the server's
//! Server-Sent Events (`snapshot`, then `delta`s): no polling, no reload.
//! The browser's `EventSource` reconnects by itself and sends the last
//! revision it saw (`Last-Event-ID`), so the server resumes with deltas.
//!
//! Besides the whole topology (for summaries and filters), each
//! microservice has its own signal (`rows`): a delta sets only the signals
//! of the microservices it changes, so a page re-draws only their rows —
//! at 10,000 pods a delta costs a row, not the page.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use leptos::prelude::*;
use mezame_shared::topology::{Microservice, PodFields, Topology, TopologyDelta};
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

/// One signal per microservice, by `Microservice::key`, sharing the
/// topology's `Arc` (a snapshot of 10,000 pods is not copied again).
/// `ArcRwSignal`s: they are made in event handlers, where no owner would
/// dispose them.
type Rows = HashMap<String, ArcRwSignal<Arc<Microservice>>>;

#[derive(Clone, Copy)]
pub struct LiveTopology {
    pub topology: RwSignal<Option<Topology>>,
    pub conn: RwSignal<Conn>,
    rows: StoredValue<Rows>,
}

impl LiveTopology {
    /// The live signal of the microservice `key` (`namespace/name`), once
    /// the stream has it. Set before `topology` changes, so a view that
    /// reacts to `topology` finds every key it lists.
    pub fn row(&self, key: &str) -> Option<ArcRwSignal<Arc<Microservice>>> {
        self.rows.with_value(|r| r.get(key).cloned())
    }
}

/// Sets the signal of `m` (made if new) when it changed.
fn upsert(rows: &mut Rows, m: &Arc<Microservice>) {
    let key = m.key();
    match rows.get(&key) {
        Some(s) if s.with_untracked(|old| Arc::ptr_eq(old, m) || old == m) => {}
        Some(s) => s.set(m.clone()),
        None => {
            rows.insert(key, ArcRwSignal::new(m.clone()));
        }
    }
}

/// Follows the topology of `env`, with `pods` fields, for as long as the
/// calling component lives.
pub fn use_live_topology(env: Signal<Option<String>>, pods: PodFields) -> LiveTopology {
    let topology = RwSignal::new(None::<Topology>);
    let conn = RwSignal::new(Conn::Connecting);
    // Bumped when a delta does not fit: reopen for a fresh snapshot.
    let resync = RwSignal::new(0u32);
    let rows = StoredValue::new(Rows::new());
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
            stream.set_value(open(&env, pods, LiveTopology { topology, conn, rows }, resync).map(SendWrapper::new));
        }
    });
    on_cleanup(move || stream.set_value(None));
    LiveTopology { topology, conn, rows }
}

fn open(env: &str, pods: PodFields, live: LiveTopology, resync: RwSignal<u32>) -> Option<Stream> {
    let LiveTopology { topology, conn, rows } = live;
    let mut stream = Stream::open(&api::topology_events_url(env, pods))?;
    perf::mark("stream_opened_ms");
    stream.on("snapshot", move |d| {
        perf::mark("snapshot_ms");
        if let Ok(t) = serde_json::from_str::<Topology>(&d) {
            perf::mark("parsed_ms");
            rows.update_value(|r| {
                let keys: HashSet<String> = t.services.iter().map(|m| m.key()).collect();
                r.retain(|k, _| keys.contains(k));
                t.services.iter().for_each(|m| upsert(r, m));
            });
            perf::mark("rows_ms");
            topology.set(Some(t));
            conn.set(Conn::Live);
            perf::first_render_done();
        }
    })?;
    stream.on("delta", move |d| {
        let started = perf::now();
        let Ok(delta) = serde_json::from_str::<TopologyDelta>(&d) else { return };
        // Applied without notifying: the rows' signals are set first, so
        // views that react to the topology find every row they list.
        let fits = topology.try_update_untracked(|t| t.as_mut().is_some_and(|t| delta.apply(t))).unwrap_or(false);
        if fits {
            rows.update_value(|r| {
                delta.remove.iter().for_each(|k| drop(r.remove(k)));
                // The same `Arc`s the applied topology now holds.
                delta.upsert.iter().for_each(|m| upsert(r, m));
            });
            topology.notify();
            if conn.with_untracked(|c| *c != Conn::Live) {
                conn.set(Conn::Live);
            }
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
