//! Safe scale-in of an Auto Scaling group or an EKS managed node group.
//! Lowering desired lets AWS (or EKS) choose the instances and terminate them
//! without draining (PodDisruptionBudgets are not honoured); instead mezame
//! chooses the nodes ([`choose`], pure), drains them — a run like a drain
//! ([`RunAction::ScaleIn`]: cordon, evict, wait gone) — and then terminates
//! exactly their instances with a decrement of desired
//! (`TerminateInstanceInAutoScalingGroup`; a managed node group's instances
//! are in the Auto Scaling group EKS made for it, and the node group's desired
//! follows it, as with cluster-autoscaler), ending at the sizes asked for
//! ([`terminate`]). What the run needs to resume is its [`ScaleInPlan`]
//! (stored with the run).
//!
//! [`RunAction::ScaleIn`]: mezame_shared::power::RunAction::ScaleIn

use std::time::Duration;

use mezame_shared::capacity::{NodeRow, ScaleInNode, Sizes};
use mezame_shared::power::GroupKind;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::adapters::aws::Account;
use crate::domain::lifecycle::ctx::{Outcome, StepError, StepResult};

/// How long a lowered min of a node group may take to reach its Auto Scaling
/// group (EKS applies UpdateNodegroupConfig asynchronously).
const MIN_FOLLOWS: Duration = Duration::from_secs(120);

/// What a scale-in run does: drain `nodes`, terminate their instances (each
/// with a decrement of desired), end at `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleInPlan {
    /// What `group` is (plans stored before managed node groups could be
    /// scaled in name an Auto Scaling group).
    #[serde(default = "asg")]
    pub kind: GroupKind,
    /// The EKS cluster (a managed node group is named within it).
    #[serde(default)]
    pub cluster: String,
    pub group: String,
    pub nodes: Vec<ScaleInNode>,
    pub before: Sizes,
    pub after: Sizes,
}

impl ScaleInPlan {
    /// What the run is shown to act on.
    pub fn target(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.group)
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.node.clone()).collect()
    }
}

/// The `count` nodes of `nodes` (a group's) to remove, or the ones a person
/// named (`named`, exactly `count` of them); an error says why not. Chosen:
/// cordoned nodes first (already on their way out), then not Ready ones, then
/// the fewest pods to move, then the youngest. Only nodes whose instance is
/// known can be terminated exactly. Pure.
pub fn choose(nodes: &[NodeRow], count: usize, named: Option<&[String]>) -> Result<Vec<ScaleInNode>, String> {
    let known: Vec<&NodeRow> = nodes.iter().filter(|n| n.instance_id.is_some()).collect();
    let picked: Vec<&NodeRow> = match named {
        Some(names) => {
            if names.len() != count {
                return Err(format!("remove_nodes names {} node(s) but desired goes down by {count}: name exactly {count}", names.len()));
            }
            let mut out = Vec::new();
            for name in names {
                let Some(n) = known.iter().find(|n| &n.name == name) else {
                    return Err(format!("{name} is not a node of this group with a known instance"));
                };
                if out.iter().any(|o: &&NodeRow| &o.name == name) {
                    return Err(format!("{name} is named twice in remove_nodes"));
                }
                out.push(*n);
            }
            out
        }
        None => {
            if known.len() < count {
                return Err(format!(
                    "desired goes down by {count} but only {} node(s) of this group are in the cluster with a known instance \
                     (instances still booting?): wait for them, or lower desired by less",
                    known.len()
                ));
            }
            let mut sorted = known;
            sorted.sort_by(|a, b| {
                (!a.cordoned, a.ready, a.pods, std::cmp::Reverse(a.created), &a.name).cmp(&(
                    !b.cordoned,
                    b.ready,
                    b.pods,
                    std::cmp::Reverse(b.created),
                    &b.name,
                ))
            });
            sorted.truncate(count);
            sorted
        }
    };
    Ok(picked
        .into_iter()
        .map(|n| ScaleInNode {
            node: n.name.clone(),
            instance_id: n.instance_id.clone().unwrap_or_default(),
            pods: n.pods,
            cordoned: n.cordoned,
        })
        .collect())
}

fn asg() -> GroupKind {
    GroupKind::Asg
}

/// The last step of a scale-in: lowers min first if the end sizes need it (a
/// decrement may not go below min), terminates each planned instance still in
/// the group with a decrement of desired, then sets the end sizes. Safe to
/// run again: an instance already gone from the group is skipped. For a
/// managed node group, min is lowered on the node group (and waited for on
/// its Auto Scaling group), the instances are terminated in its Auto Scaling
/// group, and the end sizes are set on the node group with the desired that
/// Auto Scaling group has then (never the node group's, which may not have
/// followed yet: setting it back would launch replacements).
pub async fn terminate(aws: &Account, plan: &ScaleInPlan) -> StepResult<Outcome> {
    let (kind, cluster, group) = (plan.kind, plan.cluster.as_str(), plan.group.as_str());
    let (now, ids) = aws.group_sizes(cluster, kind, group).await?;
    let asg = match kind {
        GroupKind::Asg => group.to_string(),
        GroupKind::Nodegroup => aws.nodegroup_asg(cluster, group).await?,
    };
    if plan.after.min < now.min {
        aws.set_group_sizes(cluster, kind, group, Sizes { min: plan.after.min, ..now }).await?;
    }
    let ids = match kind {
        GroupKind::Asg => ids,
        // Also when resumed: the node group's min may be lowered and its Auto Scaling group's not yet.
        GroupKind::Nodegroup => wait_min(aws, &asg, plan.after.min).await?,
    };
    let mut terminated = Vec::new();
    for n in plan.nodes.iter().filter(|n| ids.contains(&n.instance_id)) {
        aws.terminate_in_asg(&n.instance_id).await?;
        terminated.push(format!("{} ({})", n.instance_id, n.node));
    }
    let (left, _) = aws.asg_sizes(&asg).await?;
    let now = match kind {
        GroupKind::Asg => left,
        GroupKind::Nodegroup => aws.nodegroup_sizes(cluster, group).await?,
    };
    let end = Sizes { desired: left.desired, ..plan.after };
    if end != now {
        aws.set_group_sizes(cluster, kind, group, end).await?;
    }
    let mut message = format!(
        "{} instance(s) terminated with a decrement of desired{}; {} {group} is now min {} / desired {} / max {}",
        terminated.len(),
        if terminated.is_empty() { String::new() } else { format!(": {}", terminated.join(", ")) },
        kind.noun(),
        end.min,
        end.desired,
        end.max
    );
    if end.desired != plan.after.desired {
        message
            .push_str(&format!(" (desired {} was asked: the group changed meanwhile — a scaling policy or a person)", plan.after.desired));
    }
    Ok(Outcome::new(message, json!({ "terminated": terminated, "sizes": end })))
}

/// Waits until the Auto Scaling group `asg` has a min of at most `min`;
/// answers its instances' ids then.
async fn wait_min(aws: &Account, asg: &str, min: i32) -> StepResult<Vec<String>> {
    let started = tokio::time::Instant::now();
    loop {
        let (sizes, ids) = aws.asg_sizes(asg).await?;
        if sizes.min <= min {
            return Ok(ids);
        }
        if started.elapsed() > MIN_FOLLOWS {
            return Err(StepError::fatal(format!(
                "the node group's min was lowered to {min} but its Auto Scaling group {asg} still has min {} after {} s: \
                 retry the run once EKS has applied the update",
                sizes.min,
                MIN_FOLLOWS.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::capacity::fixtures::node_row;

    fn node(name: &str, cordoned: bool, ready: bool, pods: u32, age_secs: i64) -> NodeRow {
        let created = Some(chrono::DateTime::from_timestamp(1_800_000_000 - age_secs, 0).unwrap());
        NodeRow { ready, cordoned, created, pods, ..node_row(name) }
    }

    fn names(c: Vec<ScaleInNode>) -> Vec<String> {
        c.into_iter().map(|n| n.node).collect()
    }

    #[test]
    fn cordoned_then_unready_then_fewest_pods_then_youngest() {
        let nodes = [
            node("busy", false, true, 9, 100),
            node("idle-old", false, true, 1, 500),
            node("idle-young", false, true, 1, 50),
            node("sick", false, false, 5, 100),
            node("leaving", true, true, 7, 100),
        ];
        assert_eq!(names(choose(&nodes, 1, None).unwrap()), ["leaving"]);
        assert_eq!(names(choose(&nodes, 3, None).unwrap()), ["leaving", "sick", "idle-young"]);
        assert_eq!(names(choose(&nodes, 4, None).unwrap())[3], "idle-old");
    }

    #[test]
    fn a_plan_stored_before_node_groups_could_be_scaled_in_is_an_auto_scaling_groups() {
        let sizes = r#"{"min": 0, "desired": 2, "max": 3}"#;
        let old = format!(r#"{{"group": "spot", "nodes": [], "before": {sizes}, "after": {sizes}}}"#);
        let plan: ScaleInPlan = serde_json::from_str(&old).unwrap();
        assert_eq!((plan.kind, plan.target()), (GroupKind::Asg, "asg/spot".to_string()));
        let managed = ScaleInPlan { kind: GroupKind::Nodegroup, cluster: "c".into(), ..plan };
        let again: ScaleInPlan = serde_json::from_str(&serde_json::to_string(&managed).unwrap()).unwrap();
        assert_eq!((again.target(), again.cluster.as_str()), ("nodegroup/spot".to_string(), "c"));
    }

    #[test]
    fn named_nodes_must_be_the_groups_and_as_many_as_removed() {
        let mut nodes = vec![node("a", false, true, 1, 10), node("b", false, true, 1, 10)];
        nodes.push(NodeRow { instance_id: None, ..node("booting", false, false, 0, 1) });
        assert_eq!(names(choose(&nodes, 1, Some(&["b".into()])).unwrap()), ["b"]);
        assert!(choose(&nodes, 2, Some(&["b".into()])).unwrap_err().contains("name exactly 2"));
        assert!(choose(&nodes, 1, Some(&["zz".into()])).unwrap_err().contains("zz is not a node of this group"));
        assert!(choose(&nodes, 1, Some(&["booting".into()])).is_err(), "no instance: cannot be terminated exactly");
        assert!(choose(&nodes, 2, Some(&["a".into(), "a".into()])).unwrap_err().contains("twice"));
        assert!(choose(&nodes, 3, None).unwrap_err().contains("only 2 node(s)"));
    }
}
