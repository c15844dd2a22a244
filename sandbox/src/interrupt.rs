//! `mezame-sandbox interrupt`: an EC2 spot interruption of one node, played
//! as AWS and aws-node-termination-handler (queue mode, `taintNode`,
//! `emitKubernetesEvents`) play it:
//!
//! 1. the warning: a `SpotInterruption` event on the Node (namespace
//!    `default`, source `aws-node-termination-handler`, annotations
//!    `instance-id`, `instance-type`, `availability-zone`);
//! 2. the node tainted `aws-node-termination-handler/spot-itn=<event id>:NoSchedule`
//!    and cordoned (`CordonAndDrain` event), its pods evicted through the
//!    Eviction API (PodDisruptionBudgets honoured, DaemonSet and mirror pods
//!    left) until the notice runs out;
//! 3. the instance terminated in its Auto Scaling group without a decrement:
//!    the group launches a replacement (the sandbox's controller then removes
//!    the node and, after the boot delay, adds the new one).
//!
//! `--rebalance` plays a rebalance recommendation instead: the event and the
//! taint `aws-node-termination-handler/rebalance-recommendation`, nothing else.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::json;

use crate::aws::Aws;
use crate::state::State;

pub const SPOT_ITN_TAINT: &str = "aws-node-termination-handler/spot-itn";
pub const REBALANCE_TAINT: &str = "aws-node-termination-handler/rebalance-recommendation";
const SOURCE: &str = "aws-node-termination-handler";

/// What happened, printed as JSON.
#[derive(Debug, Serialize)]
pub struct Report {
    pub node: String,
    pub instance_id: String,
    pub kind: &'static str,
    /// Pods evicted (`namespace/name`).
    pub evicted: Vec<String>,
    /// Pods a PodDisruptionBudget kept until the notice ran out (the instance took them down).
    pub lost_undrained: Vec<String>,
    /// The instance the Auto Scaling group launched instead.
    pub replacement: Option<String>,
}

pub async fn interrupt(state: &State, env: &str, node: &str, rebalance: bool, notice: Duration) -> Result<Report> {
    let es = state.env(env)?;
    let client = crate::kube::client(&state.cluster_kubeconfig(env)).await?;
    // Evictions without kube's built-in retry: a budget's 429 comes back at once (retried in `drain`).
    let mut once = crate::kube::config(&state.cluster_kubeconfig(env)).await?;
    once.default_retry = false;
    let once = kube::Client::try_from(once)?;
    let aws = Aws::connect(&es.moto_url()).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let n = nodes.get(node).await.with_context(|| format!("node {node} of {env}"))?;
    let instance_id = n
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .and_then(|p| p.rsplit('/').next())
        .filter(|id| id.starts_with("i-"))
        .with_context(|| format!("node {node} has no EC2 instance in its providerID"))?
        .to_string();
    let described = aws.ec2.describe_instances().instance_ids(&instance_id).send().await?;
    let instance = described.reservations().iter().flat_map(|r| r.instances()).next().with_context(|| format!("{instance_id} in EC2"))?;
    if instance.instance_lifecycle().is_none_or(|l| l.as_str() != "spot") {
        bail!("node {node} runs on {instance_id}, an on-demand instance: only spot instances are interrupted");
    }
    let (itype, zone) = (
        instance.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        instance.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
    );
    let event_id = format!("{}-{}", if rebalance { "rebalance" } else { "spot-itn" }, chrono::Utc::now().timestamp_millis());
    let annotations =
        json!({"instance-id": instance_id, "instance-type": itype, "availability-zone": zone, "region": crate::platform::REGION});
    let event = |reason: &str, message: String| {
        json!({
            "metadata": {"generateName": format!("{node}."), "namespace": "default", "annotations": annotations},
            "involvedObject": {"kind": "Node", "name": node, "uid": n.metadata.uid, "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Normal", "source": {"component": SOURCE},
            "firstTimestamp": chrono::Utc::now(), "lastTimestamp": chrono::Utc::now(), "count": 1,
        })
    };
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let post = |e: serde_json::Value| {
        let events = events.clone();
        async move { events.create(&PostParams::default(), &serde_json::from_value(e)?).await.context("creating an event") }
    };
    let mut report = Report {
        node: node.to_string(),
        instance_id: instance_id.clone(),
        kind: if rebalance { "rebalance_recommendation" } else { "spot_interruption" },
        evicted: vec![],
        lost_undrained: vec![],
        replacement: None,
    };
    if rebalance {
        post(event("RebalanceRecommendation", format!("Rebalance recommendation received for {instance_id}"))).await?;
        taint(&nodes, &n, REBALANCE_TAINT, &event_id, "PreferNoSchedule", false).await?;
        return Ok(report);
    }
    post(event("SpotInterruption", format!("Spot interruption notice for {instance_id}: the instance is reclaimed in 2 minutes"))).await?;
    taint(&nodes, &n, SPOT_ITN_TAINT, &event_id, "NoSchedule", true).await?;
    post(event("CordonAndDrain", format!("Node {node} cordoned and draining"))).await?;
    (report.evicted, report.lost_undrained) = drain(&client, &once, node, notice).await?;
    report.replacement = terminate(&aws, &instance_id).await?;
    Ok(report)
}

/// Adds `key=value:effect` to the node's taints (and cordons it if `cordon`).
async fn taint(nodes: &Api<Node>, n: &Node, key: &str, value: &str, effect: &str, cordon: bool) -> Result<()> {
    let mut taints: Vec<serde_json::Value> = n
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
        .iter()
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .collect();
    taints.retain(|t| t["key"] != key);
    taints.push(json!({"key": key, "value": value, "effect": effect}));
    let mut spec = json!({"taints": taints});
    if cordon {
        spec["unschedulable"] = json!(true);
    }
    let name = n.metadata.name.as_deref().unwrap_or_default();
    nodes.patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": spec}))).await.with_context(|| format!("tainting {name}"))?;
    Ok(())
}

/// Evicts the node's pods (not DaemonSet or mirror pods) until `notice` runs
/// out: (evicted, still there when the instance went).
async fn drain(client: &kube::Client, once: &kube::Client, node: &str, notice: Duration) -> Result<(Vec<String>, Vec<String>)> {
    let deadline = Instant::now() + notice;
    let mut evicted = Vec::new();
    loop {
        let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await?;
        let left: Vec<&Pod> = pods.items.iter().filter(|p| drainable(p) && p.metadata.deletion_timestamp.is_none()).collect();
        if left.is_empty() {
            return Ok((evicted, vec![]));
        }
        if Instant::now() >= deadline {
            return Ok((evicted, left.iter().map(|p| key(p)).collect()));
        }
        for p in left {
            let api = Api::<Pod>::namespaced(once.clone(), p.metadata.namespace.as_deref().unwrap_or_default());
            match api.evict(p.metadata.name.as_deref().unwrap_or_default(), &EvictParams::default()).await {
                Ok(_) => evicted.push(key(p)),
                Err(kube::Error::Api(s)) if s.code == 429 || s.code == 404 => {}
                Err(e) => return Err(e).with_context(|| format!("evicting {}", key(p))),
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn drainable(p: &Pod) -> bool {
    let daemon = p.metadata.owner_references.as_ref().is_some_and(|o| o.iter().any(|o| o.kind == "DaemonSet"));
    let mirror = p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let done = matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
    !daemon && !mirror && !done
}

fn key(p: &Pod) -> String {
    format!("{}/{}", p.metadata.namespace.as_deref().unwrap_or_default(), p.metadata.name.as_deref().unwrap_or_default())
}

/// Terminates the instance in its Auto Scaling group, desired kept: the
/// group launches a replacement, whose id is answered.
async fn terminate(aws: &Aws, instance_id: &str) -> Result<Option<String>> {
    let groups = aws.asg.describe_auto_scaling_groups().send().await?;
    let group = groups
        .auto_scaling_groups()
        .iter()
        .find(|g| g.instances().iter().any(|i| i.instance_id() == Some(instance_id)))
        .with_context(|| format!("{instance_id} is in no Auto Scaling group"))?;
    let before: Vec<String> = group.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
    let name = group.auto_scaling_group_name().unwrap_or_default().to_string();
    aws.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(instance_id)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .with_context(|| format!("autoscaling:TerminateInstanceInAutoScalingGroup {instance_id}"))?;
    let after = aws.asg.describe_auto_scaling_groups().auto_scaling_group_names(&name).send().await?;
    Ok(after
        .auto_scaling_groups()
        .iter()
        .flat_map(|g| g.instances())
        .filter_map(|i| i.instance_id())
        .find(|id| !before.iter().any(|b| b == id))
        .map(str::to_string))
}
