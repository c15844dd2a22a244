//! Publishing the topology: the current snapshot (immutable, kept serialized
//! plain and gzipped, swapped atomically: a `GET` costs a reference count and
//! never waits on a lock or a rebuild), and the deltas between revisions for
//! the SSE stream, with a bounded history so a reconnecting client catches up
//! with deltas and a client that fell too far behind gets a fresh snapshot.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use mezame_shared::topology::{PodFields, Topology, TopologyDelta};
use tokio::sync::broadcast;

use super::body::{self, Assembled, Pieces};
use crate::domain::served::Served;

/// Deltas kept for clients that reconnect with `after=<revision>`.
pub const HISTORY: usize = 256;

/// One message of the feed, serialized once for every subscriber: whole,
/// and with brief pods (`PodFields::Brief`).
#[derive(Debug, Clone)]
pub enum Message {
    Snapshot { revision: u64, json: Bytes, brief: Bytes },
    Delta { from: u64, revision: u64, json: Arc<str>, brief: Arc<str> },
}

impl Message {
    pub fn revision(&self) -> u64 {
        match self {
            Message::Snapshot { revision, .. } | Message::Delta { revision, .. } => *revision,
        }
    }

    /// The JSON a stream of `fields` sends.
    pub fn data(&self, fields: PodFields) -> std::borrow::Cow<'_, str> {
        match (self, fields) {
            (Message::Snapshot { json, .. }, PodFields::Full) | (Message::Snapshot { brief: json, .. }, PodFields::Brief) => {
                String::from_utf8_lossy(json)
            }
            (Message::Delta { json, .. }, PodFields::Full) | (Message::Delta { brief: json, .. }, PodFields::Brief) => {
                std::borrow::Cow::Borrowed(json)
            }
        }
    }
}

/// One published revision: never changed once published.
struct Current {
    topology: Arc<Topology>,
    body: Served,
    /// `body` with brief pods, for the `pods=brief` stream.
    brief: Bytes,
    /// What `body` was assembled from: reused for the microservices the next revision does not change.
    pieces: Pieces,
    history: VecDeque<Message>,
}

/// The feed of one environment.
pub struct Feed {
    /// Random per feed: revisions count from 0 in every process, so an
    /// event id names its feed too (`<epoch>.<revision>`). A client that
    /// reconnects through a load balancer to another replica sends an id of
    /// another feed, and gets a snapshot — not deltas counted from another
    /// replica's revisions, applied to that replica's state.
    epoch: u64,
    /// The published revision; readers load it without a lock.
    current: ArcSwap<Current>,
    /// Serializes publishers (the env's rebuild thread, and its connect loop).
    publishing: Mutex<()>,
    tx: broadcast::Sender<Message>,
}

/// What a new subscriber gets: messages to send first, then the live ones.
pub struct Subscription {
    pub backlog: Vec<Message>,
    pub live: broadcast::Receiver<Message>,
    /// Revision the backlog leads to; live messages at or below it are skipped.
    pub at: u64,
}

impl Feed {
    pub fn new(mut initial: Topology) -> Feed {
        let Assembled { served: body, brief, pieces } = body::assemble(&mut initial, &Pieces::default(), &Default::default());
        Feed {
            epoch: std::hash::RandomState::new().hash_one(std::time::SystemTime::now()),
            current: ArcSwap::from_pointee(Current { body, brief, pieces, topology: Arc::new(initial), history: VecDeque::new() }),
            publishing: Mutex::new(()),
            tx: broadcast::channel(HISTORY).0,
        }
    }

    pub fn snapshot(&self) -> Arc<Topology> {
        self.current.load().topology.clone()
    }

    /// The current snapshot, serialized.
    pub fn snapshot_body(&self) -> Served {
        self.current.load().body.clone()
    }

    /// Publishes `next` if it differs from the current snapshot (ignoring
    /// the revision); returns whether it did. The diff and the serialization
    /// happen in the caller's thread; readers keep the previous revision until
    /// the new one is swapped in whole.
    pub fn publish(&self, mut next: Topology) -> bool {
        let _turn = self.publishing.lock().unwrap_or_else(|p| p.into_inner());
        let prev = self.current.load_full();
        next.revision = prev.topology.revision;
        let Some(mut delta) = diff(&prev.topology, &next) else { return false };
        next.revision = prev.topology.revision + 1;
        delta.revision = next.revision;
        let changed = delta.upsert.iter().map(|m| m.key()).collect();
        let Assembled { served: body, brief, pieces } = body::assemble(&mut next, &prev.pieces, &changed);
        let json = serde_json::to_string(&delta).unwrap_or_default().into();
        delta.upsert.iter_mut().for_each(|m| *m = Arc::new(m.brief()));
        let message = Message::Delta {
            from: prev.topology.revision,
            revision: next.revision,
            json,
            brief: serde_json::to_string(&delta).unwrap_or_default().into(),
        };
        let mut history = prev.history.clone();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message.clone());
        // Swapped before it is sent: a subscriber subscribes before it loads
        // the snapshot, so it sees each message once, in its backlog or live
        // (live ones at or below its revision are skipped). No receiver is
        // fine: nobody is watching.
        self.current.store(Arc::new(Current { topology: Arc::new(next), body, brief, pieces, history }));
        let _ = self.tx.send(message);
        true
    }

    /// The SSE event id of `revision`: it names this feed.
    pub fn event_id(&self, revision: u64) -> String {
        format!("{:x}.{revision}", self.epoch)
    }

    /// The revision a client holds, from the event id it last saw
    /// (`Last-Event-ID`); `None` when the id is another feed's.
    pub fn seen(&self, event_id: &str) -> Option<u64> {
        let (epoch, revision) = event_id.split_once('.')?;
        (u64::from_str_radix(epoch, 16).ok()? == self.epoch).then_some(revision.parse().ok()?)
    }

    /// Subscribes a client that has seen `after` (or nothing).
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let live = self.tx.subscribe();
        let c = self.current.load();
        let at = c.topology.revision;
        let backlog = match after {
            Some(rev) if rev == at => Vec::new(),
            Some(rev) if c.history.front().is_some_and(|m| matches!(m, Message::Delta { from, .. } if *from <= rev)) && rev < at => {
                c.history.iter().filter(|m| m.revision() > rev).cloned().collect()
            }
            _ => vec![Message::Snapshot { revision: at, json: c.body.json.clone(), brief: c.brief.clone() }],
        };
        Subscription { backlog, live, at }
    }

    /// A fresh snapshot, for a subscriber that lagged behind the live channel.
    pub fn resync(&self) -> Message {
        let c = self.current.load();
        Message::Snapshot { revision: c.topology.revision, json: c.body.json.clone(), brief: c.brief.clone() }
    }
}

/// The delta from `a` to `b`, or `None` when they are equal.
pub fn diff(a: &Topology, b: &Topology) -> Option<TopologyDelta> {
    let old: std::collections::HashMap<(&str, &str), _> = a.services.iter().map(|m| ((m.namespace.as_str(), m.name.as_str()), m)).collect();
    let new_keys: std::collections::HashSet<(&str, &str)> = b.services.iter().map(|m| (m.namespace.as_str(), m.name.as_str())).collect();
    // A row kept from the previous revision is the same allocation: equal without a look inside.
    let same = |m: &Arc<mezame_shared::topology::Microservice>| {
        old.get(&(m.namespace.as_str(), m.name.as_str())).is_some_and(|o| Arc::ptr_eq(o, m) || *o == m)
    };
    let upsert: Vec<_> = b.services.iter().filter(|m| !same(m)).cloned().collect();
    let remove: Vec<String> =
        a.services.iter().filter(|m| !new_keys.contains(&(m.namespace.as_str(), m.name.as_str()))).map(|m| m.key()).collect();
    let delta = TopologyDelta {
        from: a.revision,
        revision: a.revision,
        upsert,
        remove,
        source: (a.source != b.source).then(|| b.source.clone()),
        ingresses: (a.ingresses != b.ingresses).then(|| b.ingresses.clone()),
        gateways: (a.gateways != b.gateways).then(|| b.gateways.clone()),
        unresolved: (a.unresolved != b.unresolved).then(|| b.unresolved.clone()),
    };
    let empty = delta.upsert.is_empty()
        && delta.remove.is_empty()
        && delta.source.is_none()
        && delta.ingresses.is_none()
        && delta.gateways.is_none()
        && delta.unresolved.is_none();
    (!empty).then_some(delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezame_shared::topology::SourceHealth;

    fn topo(source_error: Option<&str>) -> Topology {
        Topology {
            env: "dev".into(),
            revision: 0,
            source: SourceHealth {
                synced: true,
                connected: source_error.is_none(),
                error: source_error.map(str::to_string),
                kinds: vec![],
            },
            ingresses: vec![],
            gateways: vec![],
            services: vec![],
            unresolved: vec![],
        }
    }

    #[test]
    fn a_brief_stream_leaves_the_pods_image_out() {
        let mut t = topo(None);
        t.services = vec![Arc::new(crate::domain::topology::fixtures::microservice("a", &["n1"], true, true))];
        let feed = Feed::new(topo(None));
        assert!(feed.publish(t.clone()));
        let (snapshot, delta) = (&feed.subscribe(None).backlog[0], &feed.subscribe(Some(0)).backlog[0]);
        for m in [snapshot, delta] {
            assert!(m.data(PodFields::Full).contains("r.example/a:v1"), "{m:?}");
            assert!(!m.data(PodFields::Brief).contains("r.example/a:v1"), "{m:?}");
        }
        let d: TopologyDelta = serde_json::from_str(&delta.data(PodFields::Brief)).unwrap();
        assert_eq!(d.upsert, [Arc::new(t.services[0].brief())]);
        let s: Topology = serde_json::from_str(&snapshot.data(PodFields::Brief)).unwrap();
        assert_eq!(*s.services[0], t.services[0].brief());
    }

    #[test]
    fn deltas_replay_and_snapshots_when_too_far_behind() {
        let feed = Feed::new(topo(None));
        assert!(!feed.publish(topo(None)), "no change, no revision");
        assert!(feed.publish(topo(Some("down"))));
        assert!(feed.publish(topo(None)));
        let s = feed.subscribe(Some(0));
        assert_eq!(s.backlog.iter().map(Message::revision).collect::<Vec<_>>(), [1, 2]);
        assert!(feed.subscribe(Some(2)).backlog.is_empty());
        assert!(matches!(feed.subscribe(None).backlog[..], [Message::Snapshot { revision: 2, .. }]));
        assert!(matches!(feed.subscribe(Some(99)).backlog[..], [Message::Snapshot { .. }]));
        // Event ids name the feed: another replica's id of the same revision is not this one's.
        assert_eq!(feed.seen(&feed.event_id(1)), Some(1));
        let other = Feed::new(topo(None));
        assert_eq!(other.seen(&feed.event_id(0)), None, "another feed's revision 0");
        assert_eq!(feed.seen("1"), None, "a bare revision");
        // The delta applies to the old snapshot and gives the new one.
        let mut t0 = topo(None);
        let d1 = diff(&t0, &topo(Some("down"))).unwrap();
        assert!(d1.apply(&mut t0));
        assert_eq!(t0.source.error.as_deref(), Some("down"));
    }

    #[test]
    fn an_applied_delta_holds_its_own_rows_and_a_stale_one_changes_nothing() {
        let mut t0 = topo(None);
        let mut t1 = topo(None);
        t1.services = vec![Arc::new(crate::domain::topology::fixtures::microservice("a", &["n1"], true, true))];
        let mut d = diff(&t0, &t1).unwrap();
        d.revision = 1;
        assert!(d.apply(&mut t0));
        assert!(Arc::ptr_eq(&t0.services[0], &d.upsert[0]), "the row is the delta's, not a copy");
        assert_eq!((t0.revision, &t0.services), (1, &t1.services));
        let before = t0.clone();
        assert!(!d.apply(&mut t0), "from revision 0, the topology is at 1");
        assert_eq!(t0, before);
    }
}
