//! The watch cache of one environment: the slim objects of every watched
//! kind, and how each kind's watch is doing.

use std::collections::{BTreeMap, HashMap};

use mezame_shared::topology::{KindProblem, SourceHealth};

use crate::adapters::kube::objects::{self as k, Kind, Object};
use crate::adapters::kube::watch::{Change, Failure, FailureKind, Update};

/// Objects by kind, each keyed by `namespace/name`.
#[derive(Default)]
pub struct Objects {
    by_kind: HashMap<Kind, BTreeMap<String, Object>>,
    /// Kinds listed at least once.
    listed: HashMap<Kind, bool>,
    /// The last failure of each kind's watch, cleared by its next success.
    failures: BTreeMap<Kind, Failure>,
    /// Set when the cluster itself cannot be reached (no client at all).
    connect_error: Option<String>,
    /// Counts the changes applied: views made from the cache are kept until it moves.
    generation: u64,
}

macro_rules! accessor {
    ($fn:ident, $variant:ident, $ty:ty) => {
        pub fn $fn(&self) -> impl Iterator<Item = &$ty> {
            self.of(Kind::$variant).filter_map(|o| match o {
                Object::$variant(x) => Some(x),
                _ => None,
            })
        }
    };
}

impl Objects {
    /// Applies one update; returns whether anything changed.
    pub fn apply(&mut self, update: Update) -> bool {
        let kind = update.kind;
        self.connect_error = None;
        let mut changed = match update.change {
            Change::Failed(f) => {
                let changed = self.failures.insert(kind, f.clone()).as_ref() != Some(&f);
                self.generation += u64::from(changed);
                return changed;
            }
            Change::Reset(list) => {
                self.listed.insert(kind, true);
                let fresh: BTreeMap<String, Object> = list.into_iter().map(|o| (o.meta().key(), o)).collect();
                let map = self.by_kind.entry(kind).or_default();
                let changed = *map != fresh;
                *map = fresh;
                changed
            }
            Change::Apply(o) => {
                let map = self.by_kind.entry(kind).or_default();
                let key = o.meta().key();
                if map.get(&key) == Some(&o) {
                    false
                } else {
                    map.insert(key, o);
                    true
                }
            }
            Change::Delete(o) => self.by_kind.entry(kind).or_default().remove(&o.meta().key()).is_some(),
        };
        changed |= self.failures.remove(&kind).is_some();
        self.generation += u64::from(changed);
        changed
    }

    /// How many changes were applied so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The cluster could not be reached at all (e.g. an unreadable kubeconfig).
    pub fn set_connect_error(&mut self, message: String) -> bool {
        let changed = self.connect_error.as_ref() != Some(&message);
        self.connect_error = Some(message);
        self.generation += u64::from(changed);
        changed
    }

    pub fn source(&self) -> SourceHealth {
        let unreachable = self.failures.values().find(|f| f.kind == FailureKind::Unreachable);
        let error = self.connect_error.clone().or_else(|| unreachable.map(|f| f.message.clone()));
        SourceHealth {
            synced: Kind::ALL.iter().all(|k| self.listed.contains_key(k) || self.is_unavailable(*k)),
            connected: error.is_none(),
            error,
            kinds: self
                .failures
                .iter()
                .filter(|(_, f)| f.kind != FailureKind::Unreachable)
                .map(|(k, f)| KindProblem { kind: k.resource().to_string(), message: f.message.clone() })
                .collect(),
        }
    }

    /// The kind cannot be listed at all (forbidden or not served).
    fn is_unavailable(&self, kind: Kind) -> bool {
        self.failures.get(&kind).is_some_and(|f| f.kind != FailureKind::Unreachable)
    }

    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.by_kind.get(&kind).into_iter().flat_map(|m| m.values())
    }

    /// The object of `kind` keyed `namespace/name` (`name` for a cluster-scoped one).
    pub fn get(&self, kind: Kind, key: &str) -> Option<&Object> {
        self.by_kind.get(&kind)?.get(key)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, |m| m.len())
    }

    accessor!(ingresses, Ingress, k::Ingress);
    accessor!(services, Service, k::Service);
    accessor!(endpoint_slices, EndpointSlice, k::EndpointSlice);
    accessor!(deployments, Deployment, k::Deployment);
    accessor!(replica_sets, ReplicaSet, k::ReplicaSet);
    accessor!(pods, Pod, k::Pod);
    accessor!(nodes, Node, k::Node);
    accessor!(pdbs, PodDisruptionBudget, k::PodDisruptionBudget);
    accessor!(hpas, Hpa, k::Hpa);
    accessor!(cron_jobs, CronJob, k::CronJob);
    accessor!(jobs, Job, k::Job);
    accessor!(mappings, Mapping, k::Mapping);
    accessor!(applications, Application, k::Application);
}
