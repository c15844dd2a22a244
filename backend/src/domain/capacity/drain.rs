//! Draining a node, as `kubectl drain` does but as a persisted run
//! ([`RunAction::Drain`]: resumed after a restart, cancellable, retryable):
//! cordon it, evict its pods through the Eviction API — which honours
//! PodDisruptionBudgets: a refusal (429) is retried with backoff until the
//! drain's timeout, and the budget that blocks is named —, then wait until
//! they are gone. DaemonSet pods, static pods and finished pods stay.
//!
//! [`preflight`] says beforehand what a drain would do and what could hold it
//! up; [`Drainer`] performs the steps for the runner — of a drain, or of a
//! safe scale-in (`scale_in.rs`: several nodes, then their instances
//! terminated).
//!
//! [`RunAction::Drain`]: mezame_shared::power::RunAction::Drain

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mezame_shared::capacity::{DrainPreflight, DrainRequest};
use mezame_shared::power::RunStarted;
use serde_json::json;

use super::scale_in::{self, ScaleInPlan};
use crate::adapters::aws::Account;
use crate::adapters::db::Db;
use crate::adapters::kube::Cluster;
use crate::adapters::kube::drain::{Budget, Eviction, NodePod};
use crate::adapters::kube::resources::Kind;
use crate::adapters::waited::Stopwatch;
use crate::config::is_dns_subdomain;
use crate::domain::DomainError;
use crate::domain::envs::Environment;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::lifecycle::ctx::{Outcome, StepError, StepResult};
use crate::domain::lifecycle::runner::walk::{Performed, Performer};

/// The steps of a drain, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainStep {
    Cordon,
    Evict,
    WaitGone,
    /// A scale-in's last step (`scale_in::terminate`).
    Terminate,
}

/// The steps of a drain.
pub const STEPS: [DrainStep; 3] = [DrainStep::Cordon, DrainStep::Evict, DrainStep::WaitGone];
/// The steps of a scale-in.
pub const SCALE_IN_STEPS: [DrainStep; 4] = [DrainStep::Cordon, DrainStep::Evict, DrainStep::WaitGone, DrainStep::Terminate];

impl DrainStep {
    pub fn name(self) -> &'static str {
        match self {
            DrainStep::Cordon => "cordon",
            DrainStep::Evict => "evict",
            DrainStep::WaitGone => "wait-gone",
            DrainStep::Terminate => "terminate",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            DrainStep::Cordon => "Cordon the node(s)",
            DrainStep::Evict => "Evict their pods (Eviction API, PodDisruptionBudgets honoured)",
            DrainStep::WaitGone => "Wait until their pods are gone",
            DrainStep::Terminate => "Terminate their instances, decrementing desired",
        }
    }

    pub fn parse(name: &str) -> Option<DrainStep> {
        SCALE_IN_STEPS.into_iter().find(|s| s.name() == name)
    }
}

/// Longest wait between two rounds of evictions refused by a budget.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Why a pod stays on a drained node, or `None` if a drain evicts it.
fn stays(p: &NodePod) -> Option<&'static str> {
    if p.mirror {
        Some("a static pod of the kubelet")
    } else if p.controller() == Some("DaemonSet") {
        Some("a DaemonSet pod (it runs on every node)")
    } else if p.terminal {
        Some("finished")
    } else {
        None
    }
}

fn id(p: &NodePod) -> String {
    format!("{}/{}", p.meta.namespace, p.meta.name)
}

/// The budgets among `budgets` that select `pod`.
fn covering<'a>(pod: &NodePod, budgets: &'a [Budget]) -> impl Iterator<Item = &'a Budget> {
    budgets.iter().filter(move |b| b.meta.namespace == pod.meta.namespace && b.selector.matches(&pod.meta.labels))
}

fn describe_budget(b: &Budget) -> String {
    format!(
        "PodDisruptionBudget {}/{} allows {} disruption(s) now ({} healthy, {} wanted)",
        b.meta.namespace, b.meta.name, b.disruptions_allowed, b.current_healthy, b.desired_healthy
    )
}

/// The budgets of the namespaces of `pods`.
async fn budgets_of(cluster: &Cluster, pods: &[&NodePod]) -> Result<Vec<Budget>, crate::adapters::AdapterError> {
    let namespaces: BTreeSet<&str> = pods.iter().map(|p| p.meta.namespace.as_str()).collect();
    let mut out = Vec::new();
    for ns in namespaces {
        out.extend(cluster.budgets(ns).await?);
    }
    Ok(out)
}

/// The node, checked: a valid name, and a node of the environment's cluster.
pub async fn node_of<'a>(env: &'a Environment, node: &str) -> Result<&'a Cluster, DomainError> {
    let name = &env.config.name;
    if !is_dns_subdomain(node) {
        return Err(DomainError::Invalid(format!("{node:?} is not a node name (a DNS-1123 subdomain)")));
    }
    let cluster = env.cluster().await.map_err(|e| DomainError::Unavailable(format!("{name}'s API server: {e}")))?;
    match cluster.get(Kind::Node, None, node).await {
        Ok(Some(_)) => Ok(cluster),
        Ok(None) => Err(DomainError::NotFound(format!("no node {node} in {name}"))),
        Err(e) => Err(DomainError::Unavailable(format!("{name}'s API server: {e}"))),
    }
}

/// What draining `node` would do, and what could hold it up.
pub async fn preflight(env: &Environment, node: &str, timeout: Duration) -> Result<DrainPreflight, DomainError> {
    let cluster = node_of(env, node).await?;
    let unavailable = |e| DomainError::Unavailable(format!("{}'s API server: {e}", env.config.name));
    let pods = cluster.pods_on(node).await.map_err(unavailable)?;
    let (evict, stay): (Vec<&NodePod>, Vec<&NodePod>) = pods.iter().partition(|p| stays(p).is_none());
    let budgets = budgets_of(cluster, &evict).await.map_err(unavailable)?;
    let mut warnings = Vec::new();
    let mut blocking = BTreeSet::new();
    for p in &evict {
        if p.controller().is_none() {
            warnings.push(format!("{} has no controller: once evicted nothing recreates it", id(p)));
        }
        if p.empty_dir {
            warnings.push(format!("{} keeps data in an emptyDir volume: it is lost with the pod", id(p)));
        }
        if !p.ready {
            warnings.push(format!("{} is not Ready", id(p)));
        }
        for b in covering(p, &budgets).filter(|b| b.disruptions_allowed < 1) {
            blocking.insert(format!(
                "{}: evicting {} waits until it allows one (at most {} s, then the drain fails)",
                describe_budget(b),
                id(p),
                timeout.as_secs()
            ));
        }
    }
    warnings.extend(blocking);
    Ok(DrainPreflight {
        node: node.to_string(),
        evict: evict.iter().map(|p| id(p)).collect(),
        stay: stay.iter().map(|p| format!("{}: {}", id(p), stays(p).unwrap_or_default())).collect(),
        warnings,
        timeout_secs: timeout.as_secs(),
    })
}

/// What a drain request came to.
pub enum Drained {
    /// A dry run: what the drain would do.
    Preview(DrainPreflight),
    /// The drain run, started.
    Started(RunStarted),
}

/// Drains `node` of `env` (or, with `dry_run`, says what that would do); a
/// protected environment needs its name typed back.
pub async fn request(lc: &Arc<Lifecycle>, env: &Environment, node: &str, req: DrainRequest, actor: &str) -> Result<Drained, DomainError> {
    if req.dry_run {
        return Ok(Drained::Preview(preflight(env, node, lc.drain_timeout).await?));
    }
    env.confirmed(req.confirm.as_deref())?;
    node_of(env, node).await?;
    Ok(Drained::Started(lc.start_drain(env, node, actor).await?))
}

/// Performs the steps of a drain run, or of a scale-in run.
pub struct Drainer<'a> {
    pub cluster: &'a Cluster,
    /// The nodes drained together (all cordoned first, so that a pod evicted
    /// from one is not rescheduled onto another).
    pub nodes: Vec<String>,
    /// A scale-in's AWS account and plan (its `terminate` step).
    pub scale_in: Option<(&'a Account, ScaleInPlan)>,
    pub db: &'a Db,
    pub run_id: i64,
    pub timeout: Duration,
    /// Time waited on the API server in the current step.
    pub waited: Stopwatch,
}

impl Performer for Drainer<'_> {
    type Step = DrainStep;

    fn parse(name: &str) -> Option<DrainStep> {
        DrainStep::parse(name)
    }

    fn title(step: DrainStep) -> &'static str {
        step.title()
    }

    async fn perform(&self, step: DrainStep) -> Performed {
        let result = self
            .waited
            .scope(async {
                match step {
                    DrainStep::Cordon => self.cordon().await,
                    DrainStep::Evict => self.evict().await,
                    DrainStep::WaitGone => self.wait_gone().await,
                    DrainStep::Terminate => match &self.scale_in {
                        Some((aws, plan)) => scale_in::terminate(aws, plan).await,
                        None => Err(StepError::fatal("a drain terminates no instance")),
                    },
                }
            })
            .await;
        Performed { result, waited: self.waited.take() }
    }
}

impl Drainer<'_> {
    /// The nodes, for people: `a, b`.
    fn named(&self) -> String {
        self.nodes.join(", ")
    }

    async fn cordon(&self) -> StepResult<Outcome> {
        for node in &self.nodes {
            self.cluster.merge_patch(Kind::Node, None, node, &json!({ "spec": { "unschedulable": true } })).await?;
        }
        Ok(Outcome::new(format!("{} cordoned: no new pod is scheduled there", self.named()), json!({ "nodes": self.nodes })))
    }

    /// The pods still to evict (not already being deleted) of every node.
    async fn left(&self) -> StepResult<Vec<NodePod>> {
        let mut out = Vec::new();
        for node in &self.nodes {
            out.extend(self.cluster.pods_on(node).await?.into_iter().filter(|p| stays(p).is_none()));
        }
        Ok(out)
    }

    async fn evict(&self) -> StepResult<Outcome> {
        let deadline = Instant::now() + self.timeout;
        let mut evicted = Vec::new();
        let mut backoff = Duration::from_secs(1);
        loop {
            let left: Vec<NodePod> = self.left().await?.into_iter().filter(|p| !p.meta.deleting).collect();
            if left.is_empty() {
                let message = format!(
                    "{} pod(s) evicted{}",
                    evicted.len(),
                    if evicted.is_empty() { String::new() } else { format!(": {}", evicted.join(", ")) }
                );
                return Ok(Outcome::new(message, json!({ "evicted": evicted })));
            }
            let mut refused = Vec::new();
            for p in &left {
                match self.cluster.evict(&p.meta.namespace, &p.meta.name).await? {
                    Eviction::Evicted | Eviction::Gone => evicted.push(id(p)),
                    Eviction::Refused(why) => refused.push((p, why)),
                }
            }
            if Instant::now() >= deadline {
                return Err(self.stuck(&left, &refused).await);
            }
            if self.db.cancel_requested(self.run_id).await.unwrap_or(false) {
                return Err(StepError::fatal(format!("cancelled; {} pod(s) were still to evict", left.len())));
            }
            // Evicted pods take a moment to be marked deleting; refused ones wait longer.
            let pause = if refused.is_empty() { Duration::from_millis(200) } else { backoff };
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            if !refused.is_empty() {
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Why pods are still on the node at the deadline: the budgets that block
    /// them, or that they keep coming back.
    async fn stuck(&self, left: &[NodePod], refused: &[(&NodePod, String)]) -> StepError {
        let pods: Vec<&NodePod> = refused.iter().map(|(p, _)| *p).collect();
        let budgets = budgets_of(self.cluster, &pods).await.unwrap_or_default();
        let mut blocked: Vec<String> = refused
            .iter()
            .map(|(p, why)| {
                let by: Vec<String> = covering(p, &budgets).map(describe_budget).collect();
                let by = if by.is_empty() { why.clone() } else { by.join("; ") };
                format!("{} (blocked by {by})", id(p))
            })
            .collect();
        blocked.extend(
            left.iter()
                .filter(|p| !refused.iter().any(|(r, _)| r.meta.uid == p.meta.uid))
                .map(|p| format!("{} (evicted, but a pod keeps being bound to this node: pinned by nodeName?)", id(p))),
        );
        StepError::fatal(format!(
            "{} pod(s) could not be evicted within {} s: {}. mezame does not force it: relax the budget or scale the workload \
             up (more replicas elsewhere), then retry the run — it continues from here; or delete the pod by hand, knowing it \
             breaks the budget",
            blocked.len(),
            self.timeout.as_secs(),
            blocked.join("; ")
        ))
    }

    async fn wait_gone(&self) -> StepResult<Outcome> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = self.left().await?;
            if left.is_empty() {
                return Ok(Outcome::new(format!("no pod left on {} but DaemonSet and static ones", self.named()), json!({})));
            }
            if Instant::now() >= deadline {
                let names: Vec<String> = left.iter().map(id).collect();
                return Err(StepError::fatal(format!(
                    "{} pod(s) still on {} after {} s (terminating slowly?): {}; retry the run to wait again",
                    names.len(),
                    self.named(),
                    self.timeout.as_secs(),
                    names.join(", ")
                )));
            }
            if self.db.cancel_requested(self.run_id).await.unwrap_or(false) {
                return Err(StepError::fatal("cancelled while waiting for the pods to go"));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
