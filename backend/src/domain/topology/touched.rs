//! What a batch of watch updates touched: the microservices whose rows are
//! built again, the others being kept from the previous revision.
//!
//! Most churn is a microservice's own: a pod replaced or moving through its
//! phases, its ReplicaSet's and Deployment's status, the endpoint counts of
//! the Services that select it, its HPA's status, its Argo CD Application.
//! Each of those touches the rows it belongs to. A change of a kind that
//! many rows read (a Service, a Mapping, a Node's group or zone, a
//! PodDisruptionBudget, an Ingress) and a relist rebuild every row.
//! Invariant: rows built this way equal those of a whole rebuild.

use std::collections::HashSet;

use super::store::Objects;
use crate::adapters::kube::objects::{Kind, Object};
use crate::adapters::kube::watch::{Change, Update};

/// The rows a batch builds again.
#[derive(Debug, PartialEq)]
pub enum Rows {
    /// Every row, and why: the resource of the kind that changed, or `relist`.
    All(&'static str),
    /// The Deployments (`namespace/name`) whose rows are built again.
    These(HashSet<String>),
}

/// What the updates of one batch touched.
#[derive(Default)]
pub struct Touched {
    /// Every row, and why.
    all: Option<&'static str>,
    /// Deployments (`namespace/name`) whose rows change.
    deployments: HashSet<String>,
    /// ReplicaSets (`namespace/name`) whose pods changed: their Deployment,
    /// once the batch is applied (the ReplicaSet may arrive after its pods).
    replica_sets: HashSet<String>,
    /// Services (`namespace/name`) whose endpoints changed: the Deployments they select.
    services: HashSet<String>,
}

impl Touched {
    /// Notes what `u` touches; `o` is the cache before `u` is applied. An
    /// update that changes nothing (a Node's heartbeat, in its slim form)
    /// touches nothing.
    pub fn note(&mut self, o: &Objects, u: &Update) {
        let (new, x) = match &u.change {
            Change::Apply(x) => (Some(x), x),
            Change::Delete(x) => (None, x),
            // A relist may change anything; a failure changes no row (the source is rebuilt every time).
            Change::Reset(_) => return self.all = self.all.or(Some("relist")),
            Change::Failed(_) => return,
        };
        let old = o.get(u.kind, &x.meta().key());
        if old == new {
            return;
        }
        for x in new.into_iter().chain(old) {
            self.object(u.kind, x);
        }
    }

    /// What `x`, an object of `kind`, touches.
    fn object(&mut self, kind: Kind, x: &Object) {
        let ns = &x.meta().namespace;
        match x {
            Object::Pod(p) => {
                if let Some(rs) = p.meta.owner("ReplicaSet") {
                    self.replica_sets.insert(format!("{ns}/{}", rs.name));
                }
            }
            Object::ReplicaSet(r) => {
                if let Some(d) = r.meta.owner("Deployment") {
                    self.deployments.insert(format!("{ns}/{}", d.name));
                }
            }
            Object::Deployment(d) => {
                self.deployments.insert(d.meta.key());
            }
            Object::EndpointSlice(s) => {
                self.services.insert(format!("{ns}/{}", s.service));
            }
            Object::Hpa(h) => {
                if h.target_kind == "Deployment" {
                    self.deployments.insert(format!("{ns}/{}", h.target_name));
                }
            }
            Object::Application(a) => {
                for (kind, ns, name) in &a.resources {
                    if kind == "Deployment" {
                        self.deployments.insert(format!("{ns}/{name}"));
                    }
                }
            }
            // Not in the topology.
            Object::CronJob(_) | Object::Job(_) => {}
            Object::Ingress(_) | Object::Service(_) | Object::Node(_) | Object::PodDisruptionBudget(_) | Object::Mapping(_) => {
                self.all = self.all.or(Some(kind.resource()))
            }
        }
    }

    /// The rows built again, once the batch is applied to `o`.
    pub fn rows(self, o: &Objects) -> Rows {
        if let Some(why) = self.all {
            return Rows::All(why);
        }
        let mut rows = self.deployments;
        for key in &self.replica_sets {
            if let Some(Object::ReplicaSet(r)) = o.get(Kind::ReplicaSet, key)
                && let Some(d) = r.meta.owner("Deployment")
            {
                rows.insert(format!("{}/{}", r.meta.namespace, d.name));
            }
        }
        for key in &self.services {
            let Some(Object::Service(s)) = o.get(Kind::Service, key) else { continue };
            let selected = o.deployments().filter(|d| d.meta.namespace == s.meta.namespace && s.selector.matches(&d.template_labels));
            rows.extend(selected.map(|d| d.meta.key()));
        }
        Rows::These(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::topology::build::{build, rebuild};
    use crate::domain::topology::fixtures::objects::*;

    /// The kind of `x`, for the updates of the test.
    fn kind(x: &Object) -> Kind {
        match x {
            Object::Ingress(_) => Kind::Ingress,
            Object::Service(_) => Kind::Service,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Deployment(_) => Kind::Deployment,
            Object::ReplicaSet(_) => Kind::ReplicaSet,
            Object::Pod(_) => Kind::Pod,
            Object::Node(_) => Kind::Node,
            Object::PodDisruptionBudget(_) => Kind::PodDisruptionBudget,
            Object::Hpa(_) => Kind::Hpa,
            Object::CronJob(_) => Kind::CronJob,
            Object::Job(_) => Kind::Job,
            Object::Mapping(_) => Kind::Mapping,
            Object::Application(_) => Kind::Application,
        }
    }

    fn apply(o: Object) -> Update {
        Update { kind: kind(&o), change: Change::Apply(o) }
    }

    fn delete(o: Object) -> Update {
        Update { kind: kind(&o), change: Change::Delete(o) }
    }

    /// Applies `batch` to `o` the way the rebuild thread does, and checks that
    /// keeping the untouched rows gives the whole rebuild; returns the rows built again.
    fn step(o: &mut Objects, batch: Vec<Update>) -> Result<Vec<String>, &'static str> {
        let before = build("dev", o);
        let mut touched = Touched::default();
        for u in batch {
            touched.note(o, &u);
            o.apply(u);
        }
        let rows = touched.rows(o);
        let kept = match &rows {
            Rows::These(r) => rebuild("dev", o, Some((&before, r))),
            Rows::All(_) => rebuild("dev", o, None),
        };
        assert_eq!(kept, build("dev", o), "keeping the untouched rows gives the whole rebuild");
        match rows {
            Rows::All(why) => Err(why),
            Rows::These(r) => {
                let mut r: Vec<String> = r.into_iter().collect();
                r.sort();
                Ok(r)
            }
        }
    }

    #[test]
    fn a_batch_builds_again_the_rows_it_touched_and_keeping_the_others_equals_a_whole_rebuild() {
        let mut o = Objects::default();
        let mut seed = vec![node("n1", "a"), node("n2", "b")];
        for d in ["api", "web", "worker"] {
            seed.extend([deployment(d, 2), replica_set(d), pod(d, 0, "n1", true), pod(d, 1, "n2", true), hpa(d, 2)]);
            seed.extend([service(d, d), endpoint_slice(d, 2), application(d, "Healthy")]);
        }
        assert_eq!(step(&mut o, seed.into_iter().map(apply).collect()), Err("nodes"), "nodes and services: every row");
        let rows = |names: &[&str]| Ok(names.iter().map(|n| format!("platform/{n}")).collect::<Vec<_>>());

        // A pod replaced: its microservice, through its ReplicaSet (also once the ReplicaSet is gone).
        assert_eq!(step(&mut o, vec![delete(pod("api", 0, "n1", true)), apply(pod("api", 2, "n2", false))]), rows(&["api"]));
        assert_eq!(step(&mut o, vec![apply(pod("api", 2, "n2", true)), apply(endpoint_slice("web", 1))]), rows(&["api", "web"]));
        assert_eq!(step(&mut o, vec![apply(deployment("worker", 1)), apply(hpa("web", 3))]), rows(&["web", "worker"]));
        assert_eq!(step(&mut o, vec![apply(application("worker", "Degraded"))]), rows(&["worker"]));
        assert_eq!(step(&mut o, vec![delete(replica_set("web")), delete(pod("web", 0, "n1", true))]), rows(&["web"]));
        // Nothing changed (a Node's heartbeat is the same slim Node): nothing touched.
        assert_eq!(step(&mut o, vec![apply(node("n1", "a")), apply(pod("api", 1, "n2", true))]), rows(&[]));
        // A pod's node moves zone, a Deployment goes away: every row, or its own.
        assert_eq!(step(&mut o, vec![apply(node("n2", "c"))]), Err("nodes"));
        assert_eq!(step(&mut o, vec![delete(deployment("worker", 1))]), rows(&["worker"]));
        assert_eq!(step(&mut o, vec![apply(deployment("worker", 2)), apply(replica_set("worker"))]), rows(&["worker"]));
        assert_eq!(step(&mut o, vec![delete(service("api", "api"))]), Err("services"));
        assert_eq!(step(&mut o, vec![Update { kind: Kind::Pod, change: Change::Reset(vec![]) }]), Err("relist"));
    }
}
