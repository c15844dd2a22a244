//! The configured environments and their reachability.
//!
//! Each environment owns a Kubernetes client (built lazily from its kubeconfig
//! context, so a cluster that is down at start-up is picked up once it is back)
//! and an AWS account handle. [`Environments::status_all`] checks all of them
//! in parallel, each check bounded by the configured timeout, so an
//! unreachable environment never slows the others down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mezame_shared::envs::{AwsIdentity, AwsReachability, ClusterInfo, ClusterReachability, EnvStatus, Probe};
use tokio::sync::OnceCell;

use crate::adapters::{AdapterError, aws, kube};
use crate::config::{EnvConfig, expand_home};
use crate::domain::DomainError;

/// One environment and its handles.
pub struct Environment {
    pub config: EnvConfig,
    /// Built on first use; a failed build is retried on the next use.
    cluster: OnceCell<kube::Cluster>,
    aws: aws::Account,
    timeout: Duration,
    /// Poked when mezame changed the environment's AWS resources (a change of
    /// a group, the end of a run): its node groups are described again at once.
    pub aws_changed: tokio::sync::Notify,
    /// The Route 53 hosted zone id of `[env.dns]`, looked up once.
    pub dns_zone: OnceCell<String>,
}

/// All configured environments, in configuration order.
pub struct Environments {
    list: Vec<Arc<Environment>>,
    /// The public hostnames sleeps recorded (host → environment), read at
    /// most every couple of seconds (`dns::env_of_host`).
    pub recorded_hosts: std::sync::Mutex<Option<(Instant, std::collections::HashMap<String, String>)>>,
}

impl Environments {
    pub async fn new(configs: &[EnvConfig], timeout: Duration) -> Environments {
        let mut list = Vec::with_capacity(configs.len());
        for config in configs {
            list.push(Arc::new(Environment {
                aws: aws::Account::load(&config.aws, timeout).await,
                config: config.clone(),
                cluster: OnceCell::new(),
                timeout,
                aws_changed: tokio::sync::Notify::new(),
                dns_zone: OnceCell::new(),
            }));
        }
        Environments { list, recorded_hosts: Default::default() }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Environment>> {
        self.list.iter().find(|e| e.config.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Environment>> {
        self.list.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|e| e.config.name.as_str())
    }

    /// Reachability of the environments `visible` admits, checked concurrently.
    pub async fn status_of(&self, visible: impl Fn(&str) -> bool) -> Vec<EnvStatus> {
        futures::future::join_all(self.list.iter().filter(|e| visible(&e.config.name)).map(|e| e.status())).await
    }
}

impl Environment {
    /// The environment's Kubernetes client, connecting on first use.
    pub async fn cluster(&self) -> Result<&kube::Cluster, AdapterError> {
        let k = &self.config.kubernetes;
        self.cluster
            .get_or_try_init(|| {
                kube::Cluster::connect(k.kubeconfig.as_ref().map(|p| expand_home(&p.to_string_lossy())), k.context.clone(), self.timeout)
            })
            .await
    }

    /// In a protected environment an action needs its name typed back
    /// (`{"confirm": "<env>"}`): refused with how to confirm otherwise.
    pub fn confirmed(&self, confirm: Option<&str>) -> Result<(), DomainError> {
        let name = &self.config.name;
        if self.config.protected && confirm != Some(name.as_str()) {
            return Err(DomainError::Invalid(format!(
                "{name} is protected: confirm by sending {{\"confirm\": \"{name}\"}} (the UI asks you to type its name)"
            )));
        }
        Ok(())
    }

    /// The environment's AWS account.
    pub fn aws(&self) -> &aws::Account {
        &self.aws
    }

    /// Checks the cluster and the AWS account at the same time.
    pub async fn status(&self) -> EnvStatus {
        let (kubernetes, aws) = tokio::join!(self.cluster_status(), self.aws_status());
        EnvStatus { name: self.config.name.clone(), protected: self.config.protected, kubernetes, aws, public: None }
    }

    async fn cluster_status(&self) -> ClusterReachability {
        let started = Instant::now();
        let result = bounded(self.timeout, "Kubernetes API server", async {
            let cluster = self.cluster().await.map_err(|e| e.to_string())?;
            let facts = cluster.probe().await.map_err(|e| e.to_string())?;
            Ok(ClusterInfo { server_version: facts.server_version, node_count: facts.node_count, ready_node_count: facts.ready_node_count })
        })
        .await;
        ClusterReachability { context: self.config.kubernetes.context.clone(), elapsed_ms: started.elapsed().as_millis() as u64, result }
    }

    async fn aws_status(&self) -> AwsReachability {
        let started = Instant::now();
        let result = bounded(self.timeout, "AWS STS", async {
            let id = self.aws.identity().await.map_err(|e| e.to_string())?;
            Ok(AwsIdentity { account: id.account, arn: id.arn })
        })
        .await;
        AwsReachability {
            region: self.aws.region(),
            profile: self.config.aws.profile.clone(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            result,
        }
    }
}

/// Runs a check with a deadline; a check that does not finish in time is an error.
async fn bounded<T>(timeout: Duration, what: &str, check: impl Future<Output = Result<T, String>>) -> Probe<T> {
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(value)) => Probe::Ok { value },
        Ok(Err(message)) => Probe::Error { message },
        Err(_) => Probe::Error { message: format!("{what} did not answer within {} ms", timeout.as_millis()) },
    }
}
