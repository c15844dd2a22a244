//! The zero-downtime audit of a Deployment: the recipe of PLATFORM.md, each
//! missing ingredient reported with a one-line reason and the field to change.

use mezame_shared::topology::{Check, Finding};

use crate::adapters::kube::objects::{Deployment, PreStop};

/// Minimum `preStop` delay, in seconds, for load balancers to stop sending traffic.
pub const MIN_PRE_STOP_SECS: i64 = 5;

/// What the audit needs to know beyond the Deployment itself.
pub struct Context {
    /// A Service selects the pods (so they serve traffic).
    pub behind_service: bool,
    /// The replica count the platform keeps: the HPA's minimum, else `spec.replicas`.
    pub min_replicas: i32,
    pub has_hpa: bool,
    /// A PodDisruptionBudget selects the pods.
    pub has_pdb: bool,
    /// Distinct nodes of the scheduled, non-terminating pods, and how many pods.
    pub nodes: usize,
    pub scheduled_pods: usize,
}

pub fn audit(d: &Deployment, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let any_ports = d.containers.iter().any(|c| !c.ports.is_empty());
    // Serving containers: those that declare ports; all of them when none
    // declares ports but a Service sends traffic anyway.
    let serving: Vec<(usize, &_)> =
        d.containers.iter().enumerate().filter(|(_, c)| !c.ports.is_empty() || (!any_ports && ctx.behind_service)).collect();
    for (i, c) in &serving {
        if !c.readiness_probe {
            out.push(Finding {
                check: Check::ReadinessProbe,
                reason: format!("container {} has no readiness probe: new pods get traffic before they can serve", c.name),
                field: format!("spec.template.spec.containers[{i}].readinessProbe"),
            });
        }
    }
    if d.strategy == "Recreate" {
        out.push(Finding {
            check: Check::MaxUnavailable,
            reason: "strategy Recreate stops every pod before starting new ones".into(),
            field: "spec.strategy.type (RollingUpdate with rollingUpdate.maxUnavailable: 0)".into(),
        });
    } else {
        let value = d.max_unavailable.clone().unwrap_or_else(|| "25%".into());
        if value != "0" && value != "0%" {
            out.push(Finding {
                check: Check::MaxUnavailable,
                reason: format!("maxUnavailable is {value}: a rollout removes serving pods before new ones are ready"),
                field: "spec.strategy.rollingUpdate.maxUnavailable".into(),
            });
        }
    }
    for (i, c) in &serving {
        let problem = match &c.pre_stop {
            PreStop::Sleep(n) if *n >= MIN_PRE_STOP_SECS => None,
            PreStop::Sleep(n) => Some(format!("preStop sleeps {n} s, less than {MIN_PRE_STOP_SECS} s")),
            PreStop::None => Some("no preStop delay".to_string()),
            PreStop::Exec(cmd) => Some(format!("preStop runs `{cmd}` with no readable sleep")),
            PreStop::Http => Some("preStop is an HTTP/TCP call whose delay cannot be read".to_string()),
        };
        if let Some(p) = problem {
            out.push(Finding {
                check: Check::PreStop,
                reason: format!("container {}: {p}; the pod stops while the load balancer still sends it requests", c.name),
                field: format!("spec.template.spec.containers[{i}].lifecycle.preStop (sleep ≥ {MIN_PRE_STOP_SECS} s)"),
            });
        }
    }
    if ctx.min_replicas < 2 {
        out.push(Finding {
            check: Check::Replicas,
            reason: format!("{} replica: every restart or node drain is an outage", ctx.min_replicas),
            field: if ctx.has_hpa { "HorizontalPodAutoscaler spec.minReplicas".into() } else { "spec.replicas".into() },
        });
    }
    if !ctx.has_pdb {
        out.push(Finding {
            check: Check::DisruptionBudget,
            reason: "no PodDisruptionBudget: a node drain may evict every replica at once".into(),
            field: "a PodDisruptionBudget selecting spec.template.metadata.labels".into(),
        });
    }
    if ctx.scheduled_pods >= 2 && ctx.nodes < 2 {
        out.push(Finding {
            check: Check::Spread,
            reason: format!("all {} pods run on one node: losing it is an outage", ctx.scheduled_pods),
            field: "spec.template.spec.topologySpreadConstraints (topologyKey kubernetes.io/hostname)".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::kube::objects::{Container, Meta, Selector};

    fn deployment(containers: Vec<Container>, max_unavailable: Option<&str>) -> Deployment {
        Deployment {
            meta: Meta::default(),
            replicas: 2,
            selector: Selector::default(),
            template_labels: Default::default(),
            strategy: "RollingUpdate".into(),
            max_unavailable: max_unavailable.map(str::to_string),
            containers,
            generation: 1,
            observed_generation: 1,
            status_replicas: 2,
            ready: 2,
            updated: 2,
            available: 2,
            conditions: vec![],
        }
    }

    fn container(ports: bool, probe: bool, pre_stop: PreStop) -> Container {
        Container {
            name: "app".into(),
            image: "img:1".into(),
            ports: if ports { vec!["http".into()] } else { vec![] },
            readiness_probe: probe,
            pre_stop,
        }
    }

    fn good() -> Context {
        Context { behind_service: true, min_replicas: 2, has_hpa: false, has_pdb: true, nodes: 2, scheduled_pods: 2 }
    }

    fn checks(f: &[Finding]) -> Vec<Check> {
        f.iter().map(|f| f.check).collect()
    }

    #[test]
    fn the_recipe_followed_gives_no_finding() {
        let d = deployment(vec![container(true, true, PreStop::Sleep(5))], Some("0"));
        assert!(audit(&d, &good()).is_empty());
    }

    #[test]
    fn each_missing_ingredient_is_one_finding() {
        let d = deployment(vec![container(true, false, PreStop::Sleep(5))], Some("0"));
        assert_eq!(checks(&audit(&d, &good())), [Check::ReadinessProbe]);
        let d = deployment(vec![container(true, true, PreStop::Sleep(5))], None);
        assert_eq!(checks(&audit(&d, &good())), [Check::MaxUnavailable], "default 25%");
        let d = deployment(vec![container(true, true, PreStop::Sleep(2))], Some("0"));
        assert_eq!(checks(&audit(&d, &good())), [Check::PreStop]);
        let d = deployment(vec![container(true, true, PreStop::Sleep(5))], Some("0"));
        let ctx = Context { min_replicas: 1, has_pdb: false, nodes: 1, ..good() };
        assert_eq!(checks(&audit(&d, &ctx)), [Check::Replicas, Check::DisruptionBudget, Check::Spread]);
    }

    #[test]
    fn a_worker_without_ports_or_service_needs_no_probe() {
        let d = deployment(vec![container(false, false, PreStop::None)], Some("0"));
        let ctx = Context { behind_service: false, ..good() };
        assert!(audit(&d, &ctx).is_empty());
    }
}
