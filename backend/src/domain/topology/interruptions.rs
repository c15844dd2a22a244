//! Interruptions of the cluster's nodes, as aws-node-termination-handler
//! marks them: a spot interruption notice (taint
//! `aws-node-termination-handler/spot-itn`) or a rebalance recommendation
//! (`aws-node-termination-handler/rebalance-recommendation`), noticed in the
//! watch the moment a node gains the taint — before its pods are evicted —
//! with what ran there then: each microservice's ready replicas on the node,
//! and whether those were all it had (an outage until they run elsewhere).
//!
//! Kept in memory, the last [`KEPT`], and in the database ([`keep`]: saved
//! within a second, read back at start); every replica of mezame watches the
//! same nodes and records the same interruptions (the first write wins). A
//! node already tainted when mezame first lists it is not recorded: what ran
//! there is not known.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use mezame_shared::capacity::{Interruption, InterruptionKind, ReplicasHit};
use mezame_shared::topology::Topology;

use super::Topologies;
use super::store::Objects;
use crate::adapters::db::Db;
use crate::adapters::kube::objects::{self as k, Kind, Object};
use crate::adapters::kube::watch::{Change, Update};

pub const SPOT_ITN_TAINT: &str = "aws-node-termination-handler/spot-itn";
pub const REBALANCE_TAINT: &str = "aws-node-termination-handler/rebalance-recommendation";

/// How many are kept.
pub const KEPT: usize = 500;

/// How often the interruptions noticed are saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Interruptions {
    kept: Mutex<VecDeque<Interruption>>,
    /// Noticed and not saved yet.
    unsaved: Mutex<Vec<Interruption>>,
    /// Counts the changes of `kept`: a view that shows them is made again
    /// when it moves.
    version: AtomicU64,
}

impl Interruptions {
    /// Records the interruptions `update` starts: nodes that gain a handler's
    /// taint. `objects` is the cache before the update is applied, `before`
    /// the topology published from it.
    pub fn notice(&self, objects: &Objects, update: &Update, before: &Topology) {
        if update.kind != Kind::Node {
            return;
        }
        let nodes: Vec<&k::Node> = match &update.change {
            Change::Apply(Object::Node(n)) => vec![n],
            Change::Reset(list) => list.iter().filter_map(|o| if let Object::Node(n) = o { Some(n) } else { None }).collect(),
            _ => return,
        };
        for n in nodes {
            let Some(Object::Node(old)) = objects.get(Kind::Node, &n.meta.key()) else { continue };
            for (taint, kind) in
                [(SPOT_ITN_TAINT, InterruptionKind::SpotInterruption), (REBALANCE_TAINT, InterruptionKind::RebalanceRecommendation)]
            {
                if tainted(&n.taints, taint) && !tainted(&old.taints, taint) {
                    self.record(interruption(kind, n, before));
                }
            }
        }
    }

    fn record(&self, i: Interruption) {
        tracing::info!(node = i.node, kind = ?i.kind, lost_all = i.hit.iter().filter(|h| h.lost_all).count(), "node interruption noticed");
        self.unsaved.lock().unwrap_or_else(|p| p.into_inner()).push(i.clone());
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(i);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Moves whenever the list does.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Newest first.
    pub fn list(&self) -> Vec<Interruption> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().cloned().collect()
    }

    /// Puts `saved` (oldest first, read at start) before what was noticed
    /// since, skipping those held already, keeping the newest [`KEPT`].
    fn restore(&self, saved: Vec<Interruption>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<Interruption> =
            saved.into_iter().filter(|s| !kept.iter().any(|k| (&k.node, k.kind) == (&s.node, s.kind))).collect();
        all.extend(kept.drain(..));
        all.sort_by_key(|i| i.at);
        let skip = all.len().saturating_sub(KEPT);
        kept.extend(all.into_iter().skip(skip));
        self.version.fetch_add(1, Ordering::Release);
    }
}

/// Reads each environment's saved interruptions back, then saves what is
/// noticed, every [`SAVE_EVERY`]; a failed save is tried again.
pub async fn keep(topologies: Arc<Topologies>, db: Db) {
    for live in topologies.iter() {
        match db.interruptions(&live.env, KEPT as i64).await {
            Ok(saved) => live.interruptions.restore(saved),
            Err(e) => tracing::warn!(env = live.env, error = %e, "reading the saved node interruptions"),
        }
    }
    loop {
        for live in topologies.iter() {
            let new = std::mem::take(&mut *live.interruptions.unsaved.lock().unwrap_or_else(|p| p.into_inner()));
            if new.is_empty() {
                continue;
            }
            if let Err(e) = db.save_interruptions(&live.env, &new).await {
                tracing::warn!(env = live.env, error = %e, "saving node interruptions (tried again)");
                live.interruptions.unsaved.lock().unwrap_or_else(|p| p.into_inner()).extend(new);
            }
        }
        tokio::time::sleep(SAVE_EVERY).await;
    }
}

/// Whether `taints` (`key=value:Effect` or `key:Effect`) hold the taint `key`.
fn tainted(taints: &[String], key: &str) -> bool {
    taints.iter().any(|t| t.strip_prefix(key).is_some_and(|rest| rest.starts_with('=') || rest.starts_with(':')))
}

fn interruption(kind: InterruptionKind, n: &k::Node, before: &Topology) -> Interruption {
    let name = n.meta.name.as_str();
    let hit = before
        .services
        .iter()
        .filter_map(|m| {
            let ready: Vec<_> = m.pods.iter().filter(|p| p.ready && p.phase == "Running").collect();
            let here = ready.iter().filter(|p| p.node.as_deref() == Some(name)).count() as u32;
            (here > 0).then(|| ReplicasHit {
                namespace: m.namespace.clone(),
                name: m.name.clone(),
                serving: m.serving(),
                ready_here: here,
                ready_before: ready.len() as u32,
                lost_all: here == ready.len() as u32,
            })
        })
        .collect();
    Interruption {
        at: Utc::now(),
        kind,
        node: name.to_string(),
        instance_id: n.instance_id().map(str::to_string),
        instance_type: n.instance_type.clone(),
        zone: n.zone.clone(),
        hit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::kube::convert;
    use crate::domain::topology::fixtures::{microservice, topology};

    fn node(name: &str, taints: serde_json::Value) -> Object {
        let n: k8s_openapi::api::core::v1::Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "t3.large", "topology.kubernetes.io/zone": "eu-west-1a"}},
            "spec": {"providerID": format!("aws:///eu-west-1a/i-{name}"), "taints": taints},
        }))
        .unwrap();
        Object::Node(convert::node(&n))
    }

    fn apply(o: Object) -> Update {
        Update { kind: Kind::Node, change: Change::Apply(o) }
    }

    #[test]
    fn a_node_gaining_the_handlers_taint_is_an_interruption_of_what_ran_there() {
        let mut objects = Objects::default();
        objects.apply(Update {
            kind: Kind::Node,
            change: Change::Reset(vec![node("n1", serde_json::json!([])), node("n2", serde_json::json!([]))]),
        });
        let before = topology(vec![
            microservice("spread", &["n1", "n2"], true, true),
            microservice("alone", &["n1"], true, false),
            microservice("elsewhere", &["n2"], true, true),
        ]);
        let itn = serde_json::json!([{"key": SPOT_ITN_TAINT, "value": "event-1", "effect": "NoSchedule"}]);
        let found = Interruptions::default();
        found.notice(&objects, &apply(node("n1", itn.clone())), &before);
        let list = found.list();
        assert_eq!(list.len(), 1);
        let i = &list[0];
        assert_eq!((i.kind, i.node.as_str(), i.instance_id.as_deref()), (InterruptionKind::SpotInterruption, "n1", Some("i-n1")));
        assert_eq!(i.pool(), "t3.large in eu-west-1a");
        let hits: Vec<_> = i.hit.iter().map(|h| (h.name.as_str(), h.ready_here, h.ready_before, h.lost_all)).collect();
        assert_eq!(hits, [("spread", 1, 2, false), ("alone", 1, 1, true)]);

        // Already tainted in the cache: nothing new. A node mezame never saw untainted: not known.
        objects.apply(apply(node("n1", itn.clone())));
        found.notice(&objects, &apply(node("n1", itn.clone())), &before);
        found.notice(&objects, &apply(node("n3", itn)), &before);
        let rebalance = serde_json::json!([{"key": REBALANCE_TAINT, "value": "r", "effect": "PreferNoSchedule"}]);
        found.notice(&objects, &apply(node("n2", rebalance)), &before);
        let kinds: Vec<_> = found.list().iter().map(|i| (i.kind, i.node.clone())).collect();
        assert_eq!(
            kinds,
            [(InterruptionKind::RebalanceRecommendation, "n2".to_string()), (InterruptionKind::SpotInterruption, "n1".to_string())]
        );
    }

    #[test]
    fn a_handler_taint_is_told_from_a_look_alike() {
        let taints = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(tainted(&taints(&["aws-node-termination-handler/spot-itn=abc:NoSchedule"]), SPOT_ITN_TAINT));
        assert!(tainted(&taints(&["aws-node-termination-handler/spot-itn:NoSchedule"]), SPOT_ITN_TAINT));
        assert!(!tainted(&taints(&["aws-node-termination-handler/spot-itn-other=x:NoSchedule"]), SPOT_ITN_TAINT));
        assert!(!tainted(&taints(&["capacity-type=spot:NoSchedule"]), SPOT_ITN_TAINT));
    }
}
