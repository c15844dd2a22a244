//! Kubernetes API server access through a kubeconfig context.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::adapters::{AdapterError, error_chain};

/// A client for one cluster, built from a kubeconfig file and context.
#[derive(Clone)]
pub struct Cluster {
    /// For requests: connecting times out after the configured (probe)
    /// timeout, an answer after [`REQUEST_TIMEOUT`].
    pub(super) client: kube::Client,
    /// For watches: long-lived, with kube's default read timeout (longer
    /// than the server-side watch timeout).
    watch_client: kube::Client,
    /// For evictions: like `client`, without kube's built-in retry of 429
    /// (15 attempts, up to minutes): a budget refusing an eviction answers
    /// 429, and the drain retries on its own schedule, visibly.
    pub(super) once_client: kube::Client,
    /// The API server URL, for display.
    pub server: String,
}

/// How long one request may wait for its answer. Not the probe timeout (3 s
/// by default: checks bound themselves): a run's write to a busy API server
/// can take longer, and timing it out fails the step (seen in CI: a wake's
/// restore-workloads failed three attempts on 3 s read timeouts of PATCHes to
/// a loaded 2-core machine's API server). Reads for pages are bounded by the
/// HTTP request timeout as well.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What [`Cluster::probe`] reads from the API server.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    pub server_version: String,
    pub node_count: u32,
    pub ready_node_count: u32,
}

impl Cluster {
    /// Reads the kubeconfig (the given file, else `$KUBECONFIG`, else
    /// `~/.kube/config`) and selects `context` (else the current one).
    /// Connecting times out after `timeout`; an answer after
    /// [`REQUEST_TIMEOUT`] (or `timeout`, if longer).
    pub async fn connect(kubeconfig: Option<PathBuf>, context: Option<String>, timeout: Duration) -> Result<Cluster, AdapterError> {
        let file = match &kubeconfig {
            Some(path) => Kubeconfig::read_from(path)
                .map_err(|e| AdapterError::Kube(format!("cannot read kubeconfig {}: {}", path.display(), error_chain(&e))))?,
            None => {
                Kubeconfig::read().map_err(|e| AdapterError::Kube(format!("cannot read the default kubeconfig: {}", error_chain(&e))))?
            }
        };
        let options = KubeConfigOptions { context: context.clone(), ..Default::default() };
        let mut config = kube::Config::from_custom_kubeconfig(file, &options).await.map_err(|e| {
            AdapterError::Kube(format!("kubeconfig context {}: {}", context.as_deref().unwrap_or("(current)"), error_chain(&e)))
        })?;
        config.connect_timeout = Some(timeout);
        let mut watch_config = config.clone();
        watch_config.write_timeout = Some(timeout);
        let watch_client =
            kube::Client::try_from(watch_config).map_err(|e| AdapterError::Kube(format!("cannot build a client: {}", error_chain(&e))))?;
        config.read_timeout = Some(timeout.max(REQUEST_TIMEOUT));
        config.write_timeout = Some(timeout.max(REQUEST_TIMEOUT));
        let server = config.cluster_url.to_string();
        let build = |c: kube::Config| {
            kube::Client::try_from(c).map_err(|e| AdapterError::Kube(format!("cannot build a client: {}", error_chain(&e))))
        };
        let mut once_config = config.clone();
        once_config.default_retry = false;
        let once_client = build(once_config)?;
        let client = build(config)?;
        Ok(Cluster { client, watch_client, once_client, server })
    }

    /// Server version and node counts, read from the API server.
    pub async fn probe(&self) -> Result<ClusterFacts, AdapterError> {
        let version =
            crate::adapters::waited::timed(self.client.apiserver_version()).await.map_err(|e| AdapterError::Kube(error_chain(&e)))?;
        let nodes = Api::<Node>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| AdapterError::Kube(format!("listing nodes: {}", error_chain(&e))))?;
        let ready = nodes.items.iter().filter(|n| is_ready(n)).count();
        Ok(ClusterFacts { server_version: version.git_version, node_count: nodes.items.len() as u32, ready_node_count: ready as u32 })
    }

    pub fn watch_client(&self) -> &kube::Client {
        &self.watch_client
    }
}

/// A node whose `Ready` condition is `True`.
pub fn is_ready(node: &Node) -> bool {
    node.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
