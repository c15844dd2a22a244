//! Kubernetes: a client per cluster, slim copies of the objects the panel
//! shows, the watches that keep them current, and the few reads and writes
//! made on demand.
//!
//! - [`cluster`]: [`Cluster`], one environment's API server (kubeconfig
//!   context): the object every read and write of the domain goes through.
//! - [`objects`]: slim, plain-Rust copies of the watched kinds; [`convert`] makes them.
//! - [`watch`]: one watcher per kind, feeding the topology's cache.
//! - [`jobs`]: `kubectl create job --from=cronjob/…` ([`Cluster`]'s methods).
//! - [`drain`]: a node's pods, PodDisruptionBudgets, evictions ([`Cluster`]'s methods).
//! - [`events`]: recent events of a namespace ([`Cluster::events_for`]).
//! - [`resources`]: objects of a few kinds as JSON, for the wake and sleep
//!   steps ([`Cluster::list`], `get`, `create`, `merge_patch`, `delete`).

mod cluster;
pub mod convert;
pub mod drain;
pub mod events;
pub mod jobs;
pub mod objects;
pub mod resources;
pub mod watch;

pub use cluster::{Cluster, ClusterFacts, is_ready};

use super::{AdapterError, error_chain};

/// A `kube` error with what was being done; 404 becomes [`AdapterError::NotFound`].
pub(crate) fn kube_error(doing: &str, e: kube::Error) -> AdapterError {
    match &e {
        kube::Error::Api(s) if s.code == 404 => AdapterError::NotFound(format!("{doing}: {}", s.message)),
        kube::Error::Api(s) => AdapterError::Kube(format!("{doing}: {} ({})", s.message, s.code)),
        _ => AdapterError::Kube(format!("{doing}: {}", error_chain(&e))),
    }
}
