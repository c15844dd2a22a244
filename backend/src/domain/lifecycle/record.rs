//! What a sleep changes, recorded before it changes anything, and kept (as the
//! environment's restore point) until a wake has put it back.

use mezame_shared::power::GroupKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adapters::aws::Sizes;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub workloads: Vec<Workload>,
    pub hpas: Vec<Hpa>,
    pub cronjobs: Vec<CronJob>,
    /// Each Application's `spec.syncPolicy`, whole (`null` if it had none).
    pub applications: Vec<Application>,
    /// The ALB Ingresses, as manifests to create again.
    pub ingresses: Vec<Value>,
    pub capacity: Vec<Capacity>,
    pub databases: Vec<Database>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub replicas: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hpa {
    pub namespace: String,
    pub name: String,
    pub min: i64,
    pub max: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronJob {
    pub namespace: String,
    pub name: String,
    pub suspend: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub name: String,
    pub sync_policy: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub kind: GroupKind,
    pub name: String,
    pub sizes: Sizes,
    /// Instances of an Auto Scaling group when the sleep began (their nodes must leave).
    #[serde(default)]
    pub instances: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// `rds` or `ec2`.
    pub kind: String,
    pub name: String,
    pub state: String,
}

impl Record {
    /// `self` (just read) completed by `older` (the restore point of a sleep
    /// that was not woken from): what was already recorded keeps its older,
    /// awake value — a second sleep must not record zeros as the truth.
    pub fn keeping(mut self, older: &Record) -> Record {
        fn keep<T: Clone>(new: &mut Vec<T>, old: &[T], same: impl Fn(&T, &T) -> bool) {
            for o in old {
                match new.iter_mut().find(|n| same(n, o)) {
                    Some(n) => *n = o.clone(),
                    None => new.push(o.clone()),
                }
            }
        }
        keep(&mut self.workloads, &older.workloads, |a, b| (&a.kind, &a.namespace, &a.name) == (&b.kind, &b.namespace, &b.name));
        keep(&mut self.hpas, &older.hpas, |a, b| (&a.namespace, &a.name) == (&b.namespace, &b.name));
        keep(&mut self.cronjobs, &older.cronjobs, |a, b| (&a.namespace, &a.name) == (&b.namespace, &b.name));
        keep(&mut self.applications, &older.applications, |a, b| a.name == b.name);
        keep(&mut self.ingresses, &older.ingresses, |a, b| {
            a.pointer("/metadata/name") == b.pointer("/metadata/name")
                && a.pointer("/metadata/namespace") == b.pointer("/metadata/namespace")
        });
        keep(&mut self.capacity, &older.capacity, |a, b| (a.kind, &a.name) == (b.kind, &b.name));
        keep(&mut self.databases, &older.databases, |a, b| (&a.kind, &a.name) == (&b.kind, &b.name));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_sleep_keeps_the_awake_values() {
        let w = |r| Workload { kind: "Deployment".into(), namespace: "platform".into(), name: "api".into(), replicas: r };
        let older = Record { workloads: vec![w(3)], ..Default::default() };
        let now = Record { workloads: vec![w(0), Workload { name: "new".into(), ..w(2) }], ..Default::default() };
        let merged = now.keeping(&older);
        assert_eq!(merged.workloads[0].replicas, 3);
        assert_eq!(merged.workloads[1].replicas, 2);
    }
}
