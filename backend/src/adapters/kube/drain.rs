//! What a drain reads and does ([`Cluster`]'s methods): the pods bound to a
//! node, the PodDisruptionBudgets of a namespace with their status, and an
//! eviction through the Eviction API (which honours the budgets: the API
//! server answers 429 while a budget allows no disruption).

use k8s_openapi::api::core::v1::Pod as KPod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget as KPdb;
use kube::api::{Api, EvictParams, ListParams};

use super::convert::{meta, selector};
use super::objects::{Meta, Selector};
use super::{Cluster, kube_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::timed;

/// A pod bound to a node, as a drain sees it.
#[derive(Debug, Clone)]
pub struct NodePod {
    pub meta: Meta,
    /// A static pod of the kubelet (`kubernetes.io/config.mirror`): not evictable.
    pub mirror: bool,
    /// `Succeeded` or `Failed`: nothing to evict.
    pub terminal: bool,
    pub ready: bool,
    /// It mounts an `emptyDir` volume (its data goes with the pod).
    pub empty_dir: bool,
}

impl NodePod {
    /// The kind of its controller (`ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`…), if it has one.
    pub fn controller(&self) -> Option<&str> {
        self.meta.owners.first().map(|o| o.kind.as_str())
    }
}

/// A PodDisruptionBudget and what its status allows now.
#[derive(Debug, Clone)]
pub struct Budget {
    pub meta: Meta,
    pub selector: Selector,
    pub disruptions_allowed: i32,
    pub current_healthy: i32,
    pub desired_healthy: i32,
}

/// What an eviction came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    /// Accepted: the pod is being deleted.
    Evicted,
    /// The pod was already gone.
    Gone,
    /// Refused for now (429: a budget allows no disruption; or two budgets
    /// select the pod), with the server's words.
    Refused(String),
}

impl Cluster {
    /// The pods bound to `node`.
    pub async fn pods_on(&self, node: &str) -> Result<Vec<NodePod>, AdapterError> {
        let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let pods = timed(Api::<KPod>::all(self.client.clone()).list(&lp))
            .await
            .map_err(|e| kube_error(&format!("listing the pods of node {node}"), e))?;
        Ok(pods.items.iter().map(node_pod).collect())
    }

    /// The PodDisruptionBudgets of `namespace`.
    pub async fn budgets(&self, namespace: &str) -> Result<Vec<Budget>, AdapterError> {
        let list = timed(Api::<KPdb>::namespaced(self.client.clone(), namespace).list(&ListParams::default()))
            .await
            .map_err(|e| kube_error(&format!("listing the PodDisruptionBudgets of {namespace}"), e))?;
        Ok(list
            .items
            .iter()
            .map(|b| {
                let status = b.status.as_ref();
                Budget {
                    meta: meta(&b.metadata),
                    selector: selector(b.spec.as_ref().and_then(|s| s.selector.as_ref())),
                    disruptions_allowed: status.and_then(|s| s.disruptions_allowed).unwrap_or(0),
                    current_healthy: status.and_then(|s| s.current_healthy).unwrap_or(0),
                    desired_healthy: status.and_then(|s| s.desired_healthy).unwrap_or(0),
                }
            })
            .collect())
    }

    /// Evicts the pod `namespace/name` (its grace period as the pod declares).
    pub async fn evict(&self, namespace: &str, name: &str) -> Result<Eviction, AdapterError> {
        match timed(Api::<KPod>::namespaced(self.once_client.clone(), namespace).evict(name, &EvictParams::default())).await {
            Ok(_) => Ok(Eviction::Evicted),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(Eviction::Gone),
            Err(kube::Error::Api(s)) if s.code == 429 => Ok(Eviction::Refused(s.message)),
            // Two budgets select the pod: the API server cannot decide (500), a
            // person must; it blocks the drain like a budget allowing nothing.
            Err(kube::Error::Api(s)) if s.code == 500 && s.message.contains("more than one PodDisruptionBudget") => {
                Ok(Eviction::Refused(s.message))
            }
            Err(e) => Err(kube_error(&format!("evicting pod {namespace}/{name}"), e)),
        }
    }
}

fn node_pod(p: &KPod) -> NodePod {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    NodePod {
        meta: meta(&p.metadata),
        mirror: p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")),
        terminal: matches!(phase, Some("Succeeded" | "Failed")),
        ready: p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        empty_dir: p.spec.as_ref().and_then(|s| s.volumes.as_ref()).is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some())),
    }
}
