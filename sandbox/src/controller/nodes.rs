//! Nodes follow capacity: every EC2 instance of an EKS managed node group or of
//! an Auto Scaling group of the cluster becomes a kwok `Node`, labelled as EKS
//! labels it, once its boot delay has passed; a node whose instance is gone is
//! removed with its pods.
//!
//! Nodes leave before others join, and a node that cannot join or leave holds
//! up no other: it is reported and tried again next tick (a failed create used to
//! end the tick, so no node joined or left while one could not).
//!
//! A managed node group's instances are those of its Auto Scaling group, which
//! moto does not create: [`nodegroups`](super::nodegroups) does, and keeps the
//! sizes of the two together as EKS does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Result;
use aws_sdk_ec2::types::Filter;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};

use super::nodegroups::{NODEGROUP_TAG, Synced, in_service};
use crate::aws::Aws;
use crate::platform::{EnvSpec, REGION, SPOT_LABEL, instance_resources};

/// Label of the nodes this controller owns, with the EC2 instance id.
pub const INSTANCE_LABEL: &str = "sandbox.mezame.dev/instance-id";

/// An instance that should be a node.
#[derive(Debug, Clone)]
struct Instance {
    id: String,
    node_name: String,
    ip: String,
    zone: String,
    instance_type: String,
    launched_secs: i64,
    labels: BTreeMap<String, String>,
    spot: bool,
}

pub struct Nodes {
    client: kube::Client,
    aws: Aws,
    cluster: String,
    image: Option<String>,
    /// Nodes removed recently, still swept for orphaned pods.
    departed: HashMap<String, Instant>,
    /// The sizes each managed node group and its Auto Scaling group agreed on.
    synced: Synced,
}

impl Nodes {
    pub fn new(client: kube::Client, aws: Aws, env: &EnvSpec) -> Nodes {
        Nodes { client, aws, cluster: env.eks_cluster(), image: None, departed: HashMap::new(), synced: Synced::default() }
    }

    /// `boot_delay`: how long an instance takes to become a node (read from
    /// the sandbox's state before each reconcile: it can change).
    pub async fn reconcile(&mut self, boot_delay: Duration) -> Result<()> {
        let mut wanted = self.managed_instances().await?;
        wanted.extend(self.asg_instances().await?);
        let nodes: Api<Node> = Api::all(self.client.clone());
        let existing = nodes.list(&ListParams::default().labels(INSTANCE_LABEL)).await?;
        let have: HashMap<String, String> = existing
            .items
            .iter()
            .filter_map(|n| Some((n.metadata.labels.as_ref()?.get(INSTANCE_LABEL)?.clone(), n.metadata.name.clone()?)))
            .collect();
        let wanted_ids: HashSet<&str> = wanted.iter().map(|i| i.id.as_str()).collect();
        let leaving: Vec<&String> = have.iter().filter(|(id, _)| !wanted_ids.contains(id.as_str())).map(|(_, n)| n).collect();
        // Cordon every leaving node first, so the pods evicted from one are not
        // rescheduled onto another that is about to go.
        for name in &leaving {
            let _ = nodes.patch(name, &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"unschedulable": true}}))).await;
        }
        let mut failed = Vec::new();
        for name in leaving {
            tracing::info!(node = name, "instance gone: node and its pods leave");
            match self.remove_node(name).await {
                Ok(()) => _ = self.departed.insert(name.clone(), Instant::now()),
                // Nor does one that cannot leave.
                Err(e) => failed.push(format!("removing node {name}: {e:#}")),
            }
        }
        let now = chrono::Utc::now().timestamp();
        for inst in wanted.iter().filter(|i| !have.contains_key(&i.id) && now >= i.launched_secs + boot_delay.as_secs() as i64) {
            tracing::info!(node = inst.node_name, instance = inst.id, "instance booted: node joins");
            match nodes.create(&PostParams::default(), &node(inst)).await {
                // Its pods are its own, not a departed namesake's to sweep.
                Ok(_) => _ = self.departed.remove(&inst.node_name),
                // One node that cannot join holds up no other.
                Err(e) => failed.push(format!("creating node {} (instance {}): {e}", inst.node_name, inst.id)),
            }
        }
        // A pod bound while its node was leaving would be orphaned: sweep for a minute.
        self.departed.retain(|_, at| at.elapsed() < Duration::from_secs(60));
        for name in self.departed.keys() {
            self.delete_pods_on(name).await?;
        }
        if failed.is_empty() { Ok(()) } else { anyhow::bail!("{}", failed.join("; ")) }
    }

    async fn delete_pods_on(&self, node: &str) -> Result<()> {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let on_node = pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await?;
        for pod in on_node.items {
            let (Some(ns), Some(pod_name)) = (pod.metadata.namespace.as_deref(), pod.metadata.name.as_deref()) else {
                continue;
            };
            let _ = Api::<Pod>::namespaced(self.client.clone(), ns)
                .delete(pod_name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() })
                .await;
        }
        Ok(())
    }

    async fn remove_node(&self, name: &str) -> Result<()> {
        self.delete_pods_on(name).await?;
        let nodes: Api<Node> = Api::all(self.client.clone());
        match nodes.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn image(&mut self) -> Result<String> {
        if self.image.is_none() {
            self.image = Some(crate::aws::any_image(&self.aws).await?);
        }
        Ok(self.image.clone().unwrap_or_default())
    }

    /// Instances of the managed node groups: those of each one's Auto Scaling
    /// group, whose sizes follow the node group's and the other way round
    /// ([`nodegroups`](super::nodegroups)).
    async fn managed_instances(&mut self) -> Result<Vec<Instance>> {
        let groups = self.aws.eks.list_nodegroups().cluster_name(&self.cluster).send().await?;
        let image = self.image().await?;
        let mut out = Vec::new();
        for name in groups.nodegroups() {
            let ng = self.aws.eks.describe_nodegroup().cluster_name(&self.cluster).nodegroup_name(name).send().await?;
            let Some(ng) = ng.nodegroup() else { continue };
            let ids = self.synced.reconcile(&self.aws, &self.cluster, ng, &image).await?;
            let spot = ng.capacity_type().is_some_and(|c| c.as_str() == "SPOT");
            for mut inst in self.running(ids).await? {
                inst.spot = spot;
                inst.labels.insert("eks.amazonaws.com/nodegroup".into(), name.clone());
                inst.labels.insert("eks.amazonaws.com/capacityType".into(), if spot { "SPOT" } else { "ON_DEMAND" }.into());
                if let Some(ami) = ng.release_version() {
                    inst.labels.insert("eks.amazonaws.com/nodegroup-image".into(), ami.to_string());
                }
                for (k, v) in ng.labels().into_iter().flatten() {
                    inst.labels.insert(k.clone(), v.clone());
                }
                out.push(inst);
            }
        }
        Ok(out)
    }

    /// In-service instances of the cluster's self-managed Auto Scaling groups
    /// (not those backing managed node groups).
    async fn asg_instances(&self) -> Result<Vec<Instance>> {
        let groups = self.aws.asg.describe_auto_scaling_groups().send().await?;
        let cluster_tag = format!("kubernetes.io/cluster/{}", self.cluster);
        let mut out = Vec::new();
        for group in groups.auto_scaling_groups() {
            let tagged = |key: &str| group.tags().iter().any(|t| t.key() == Some(key));
            if !tagged(&cluster_tag) || tagged(NODEGROUP_TAG) {
                continue;
            }
            // Spot or not as EC2 says (moto says so through moto/fidelity.py).
            for mut inst in self.running(in_service(group)).await? {
                if inst.spot {
                    inst.labels.insert("eks.amazonaws.com/capacityType".into(), "SPOT".into());
                    inst.labels.insert(SPOT_LABEL.into(), "spot".into());
                }
                inst.labels.insert("sandbox.mezame.dev/asg".into(), group.auto_scaling_group_name().unwrap_or_default().into());
                out.push(inst);
            }
        }
        Ok(out)
    }

    /// The instances of `ids` that are pending or running.
    async fn running(&self, ids: Vec<String>) -> Result<Vec<Instance>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::builder().name("instance-id").set_values(Some(ids)).build();
        let state = Filter::builder().name("instance-state-name").values("pending").values("running").build();
        self.describe(vec![filter, state]).await
    }

    async fn describe(&self, filters: Vec<Filter>) -> Result<Vec<Instance>> {
        let out = self.aws.ec2.describe_instances().set_filters(Some(filters)).send().await?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| {
                Some(Instance {
                    id: i.instance_id()?.to_string(),
                    node_name: i.private_dns_name().filter(|n| !n.is_empty())?.to_string(),
                    ip: i.private_ip_address().unwrap_or_default().to_string(),
                    zone: i.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
                    instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    launched_secs: i.launch_time().map(|t| t.secs()).unwrap_or(0),
                    labels: BTreeMap::new(),
                    spot: i.instance_lifecycle().is_some_and(|l| l.as_str() == "spot"),
                })
            })
            .collect())
    }
}

/// The `Node` a kubelet on this instance would register.
fn node(inst: &Instance) -> Node {
    let (cpu, mem_gib, pods) = instance_resources(&inst.instance_type);
    let mut labels = inst.labels.clone();
    labels.extend([
        ("kubernetes.io/hostname".to_string(), inst.node_name.clone()),
        ("kubernetes.io/os".into(), "linux".into()),
        ("kubernetes.io/arch".into(), "amd64".into()),
        ("node.kubernetes.io/instance-type".into(), inst.instance_type.clone()),
        ("topology.kubernetes.io/zone".into(), inst.zone.clone()),
        ("topology.kubernetes.io/region".into(), REGION.into()),
        (INSTANCE_LABEL.into(), inst.id.clone()),
    ]);
    let resources: BTreeMap<String, Quantity> = [
        ("cpu", format!("{}m", cpu * 1000 - 70)),
        ("memory", format!("{}Mi", mem_gib * 1024 - 600)),
        ("pods", pods.to_string()),
        ("ephemeral-storage", "18Gi".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v)))
    .collect();
    let taints = inst.spot.then(|| {
        vec![k8s_openapi::api::core::v1::Taint {
            key: SPOT_LABEL.into(),
            value: Some("spot".into()),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]
    });
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": inst.node_name,
            "labels": labels,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {
            "providerID": format!("aws:///{}/{}", inst.zone, inst.id),
            "taints": taints,
        },
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": inst.ip},
                {"type": "Hostname", "address": inst.node_name},
                {"type": "InternalDNS", "address": inst.node_name},
            ],
            "nodeInfo": {
                "kubeletVersion": format!("{}-eks-sandbox", crate::parts::KUBERNETES),
                "kubeProxyVersion": format!("{}-eks-sandbox", crate::parts::KUBERNETES),
                "osImage": "Amazon Linux 2023",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.0-amzn2023",
                "machineID": "", "systemUUID": "", "bootID": "",
            },
        },
    }))
    .expect("a valid Node")
}
