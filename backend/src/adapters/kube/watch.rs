//! The watches behind the topology: one `kube-runtime` watcher per kind,
//! turning the API's objects into slim [`Object`]s as they arrive.
//!
//! Each watcher lists, then watches, and re-lists by itself after a
//! disconnect (with a short capped backoff, so a restarted API server is
//! picked up within seconds). A complete (re-)list is sent as one
//! [`Change::Reset`], so the receiver can replace what it holds atomically.

use std::fmt::Debug;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::policy::v1 as policy;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::convert;
use super::objects::{Kind, Object};
use crate::adapters::error_chain;

/// What happened to the objects of one kind.
#[derive(Debug)]
pub enum Change {
    /// A complete list: everything of this kind, replacing what was known.
    Reset(Vec<Object>),
    Apply(Object),
    Delete(Object),
    /// The watch failed; it is retried. What was known stays, marked stale.
    Failed(Failure),
}

#[derive(Debug)]
pub struct Update {
    pub kind: Kind,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// 403: the credentials may not list this kind.
    Forbidden,
    /// 404: the API server does not serve this kind (CRD not installed).
    NotServed,
    /// The API server cannot be reached or broke the connection.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// The Ambassador `Mapping` resource.
pub fn mapping_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("getambassador.io", "v3alpha1", "Mapping"))
}

/// The Argo CD `Application` resource.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"))
}

/// Starts a watcher per kind, all sending into `tx`. They stop when `tx`'s
/// receiver is dropped or the set is dropped.
pub fn spawn_all(client: kube::Client, tx: mpsc::Sender<Update>) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let c = || client.clone();
    set.spawn(typed::<networking::Ingress>(Api::all(c()), Kind::Ingress, |o| Object::Ingress(convert::ingress(o)), tx.clone()));
    set.spawn(typed::<core::Service>(Api::all(c()), Kind::Service, |o| Object::Service(convert::service(o)), tx.clone()));
    set.spawn(typed::<discovery::EndpointSlice>(
        Api::all(c()),
        Kind::EndpointSlice,
        |o| Object::EndpointSlice(convert::endpoint_slice(o)),
        tx.clone(),
    ));
    set.spawn(typed::<apps::Deployment>(Api::all(c()), Kind::Deployment, |o| Object::Deployment(convert::deployment(o)), tx.clone()));
    set.spawn(typed::<apps::ReplicaSet>(Api::all(c()), Kind::ReplicaSet, |o| Object::ReplicaSet(convert::replica_set(o)), tx.clone()));
    set.spawn(typed::<core::Pod>(Api::all(c()), Kind::Pod, |o| Object::Pod(convert::pod(o)), tx.clone()));
    set.spawn(typed::<core::Node>(Api::all(c()), Kind::Node, |o| Object::Node(convert::node(o)), tx.clone()));
    set.spawn(typed::<policy::PodDisruptionBudget>(
        Api::all(c()),
        Kind::PodDisruptionBudget,
        |o| Object::PodDisruptionBudget(convert::pdb(o)),
        tx.clone(),
    ));
    set.spawn(typed::<autoscaling::HorizontalPodAutoscaler>(Api::all(c()), Kind::Hpa, |o| Object::Hpa(convert::hpa(o)), tx.clone()));
    set.spawn(typed::<batch::CronJob>(Api::all(c()), Kind::CronJob, |o| Object::CronJob(convert::cron_job(o)), tx.clone()));
    set.spawn(typed::<batch::Job>(Api::all(c()), Kind::Job, |o| Object::Job(convert::job(o)), tx.clone()));
    set.spawn(typed::<DynamicObject>(
        Api::all_with(c(), &mapping_resource()),
        Kind::Mapping,
        |o| Object::Mapping(convert::mapping(o)),
        tx.clone(),
    ));
    set.spawn(typed::<DynamicObject>(
        Api::all_with(c(), &application_resource()),
        Kind::Application,
        |o| Object::Application(convert::application(o)),
        tx,
    ));
    set
}

async fn typed<K>(api: Api<K>, kind: Kind, convert: fn(&K) -> Object, tx: mpsc::Sender<Update>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let stream = watcher::watcher(api, watcher::Config::default()).backoff(QuickBackoff::default());
    let mut stream = std::pin::pin!(stream.into_stream());
    let mut buffer = Vec::new();
    while let Some(item) = stream.next().await {
        let change = match item {
            Ok(Event::Init) => {
                buffer.clear();
                continue;
            }
            Ok(Event::InitApply(o)) => {
                buffer.push(convert(&o));
                continue;
            }
            Ok(Event::InitDone) => Change::Reset(std::mem::take(&mut buffer)),
            Ok(Event::Apply(o)) => Change::Apply(convert(&o)),
            Ok(Event::Delete(o)) => Change::Delete(convert(&o)),
            Err(e) => match classify(kind, &e) {
                Some(failure) => Change::Failed(failure),
                None => continue,
            },
        };
        if tx.send(Update { kind, change }).await.is_err() {
            return;
        }
    }
}

/// A watch error as the panel reports it; `None` for the routine
/// `410 Gone` (the watcher re-lists by itself).
fn classify(kind: Kind, e: &watcher::Error) -> Option<Failure> {
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s))
        | watcher::Error::WatchError(s) => Some(s),
        _ => None,
    };
    let resource = kind.resource();
    Some(match status.map(|s| s.code) {
        Some(410) => return None,
        Some(403) => Failure {
            kind: FailureKind::Forbidden,
            message: format!("no permission to list {resource}: {}", status.map(|s| s.message.as_str()).unwrap_or("")),
        },
        Some(404) => {
            Failure { kind: FailureKind::NotServed, message: format!("the API server does not serve {resource} (is its CRD installed?)") }
        }
        _ => Failure { kind: FailureKind::Unreachable, message: format!("watching {resource}: {}", error_chain(e)) },
    })
}

/// 0.5 s, doubling to at most 4 s; reset after a success.
#[derive(Default)]
struct QuickBackoff {
    next: Option<Duration>,
}

impl Iterator for QuickBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.next.unwrap_or(Duration::from_millis(500));
        self.next = Some((d * 2).min(Duration::from_secs(4)));
        Some(d)
    }
}

impl Backoff for QuickBackoff {
    fn reset(&mut self) {
        self.next = None;
    }
}
