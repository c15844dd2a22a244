//! Safe scale-in of an Auto Scaling group. Lowering desired lets AWS choose
//! the instances and terminate them without draining (PodDisruptionBudgets are
//! not honoured); instead mezame chooses the nodes ([`choose`], pure), drains
//! them — a run like a drain ([`RunAction::ScaleIn`]: cordon, evict, wait
//! gone) — and then terminates exactly their instances with a decrement of
//! desired (`TerminateInstanceInAutoScalingGroup`), ending at the sizes asked
//! for ([`terminate`]). What the run needs to resume is its [`ScaleInPlan`]
//! (stored with the run).
//!
//! [`RunAction::ScaleIn`]: mezame_shared::power::RunAction::ScaleIn

use mezame_shared::capacity::{NodeRow, ScaleInNode, Sizes};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::adapters::aws::Account;
use crate::domain::lifecycle::ctx::{Outcome, StepResult};

/// What a scale-in run does: drain `nodes`, terminate their instances (each
/// with a decrement of desired), end at `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleInPlan {
    /// The Auto Scaling group.
    pub group: String,
    pub nodes: Vec<ScaleInNode>,
    pub before: Sizes,
    pub after: Sizes,
}

impl ScaleInPlan {
    /// What the run is shown to act on.
    pub fn target(&self) -> String {
        format!("asg/{}", self.group)
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

/// The last step of a scale-in: lowers min first if the end sizes need it (a
/// decrement may not go below min), terminates each planned instance still in
/// the group with a decrement of desired, then sets the end sizes. Safe to
/// run again: an instance already gone from the group is skipped.
pub async fn terminate(aws: &Account, plan: &ScaleInPlan) -> StepResult<Outcome> {
    let group = plan.group.as_str();
    let (now, ids) = aws.asg_sizes(group).await?;
    if plan.after.min < now.min {
        aws.set_asg_sizes(group, Sizes { min: plan.after.min, ..now }).await?;
    }
    let mut terminated = Vec::new();
    for n in plan.nodes.iter().filter(|n| ids.contains(&n.instance_id)) {
        aws.terminate_in_asg(&n.instance_id).await?;
        terminated.push(format!("{} ({})", n.instance_id, n.node));
    }
    let (now, _) = aws.asg_sizes(group).await?;
    let end = Sizes { desired: now.desired, ..plan.after };
    if end != now {
        aws.set_asg_sizes(group, end).await?;
    }
    let mut message = format!(
        "{} instance(s) terminated with a decrement of desired{}; {group} is now min {} / desired {} / max {}",
        terminated.len(),
        if terminated.is_empty() { String::new() } else { format!(": {}", terminated.join(", ")) },
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
