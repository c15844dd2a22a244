//! Power settings: from the database once edited, else from the configuration;
//! validated against the world (time zones, node groups that exist) before
//! anything is stored.
//!
//! Settings written through the API may only *narrow* what the configuration
//! allows: the environment's own EKS cluster and its capacity groups, RDS and
//! EC2 instances tagged for the environment (or listed in its configuration),
//! namespaces that are DNS-1123 labels. A protected environment takes no
//! settings at all.

use mezame_shared::power::{GroupKind, PowerSettings};

use super::Lifecycle;
use crate::adapters::AdapterError;
use crate::adapters::aws::NODEGROUP_TAG;
use crate::config::is_dns_label;
use crate::domain::DomainError;
use crate::domain::envs::Environment;

impl Lifecycle {
    /// The environment's settings, or `None` if it has none.
    pub async fn settings(&self, env: &Environment) -> Result<Option<PowerSettings>, DomainError> {
        if let Some(s) = self.db.power_settings(&env.config.name).await? {
            return Ok(Some(s));
        }
        Ok(env.config.power.clone())
    }

    /// Validates and stores new settings; nothing is stored if any rule fails:
    /// 400 for settings that are wrong in themselves, 422 for settings outside
    /// what the configuration allows this environment.
    pub async fn put_settings(&self, env: &Environment, settings: PowerSettings, actor: &str) -> Result<PowerSettings, DomainError> {
        let name = env.config.name.as_str();
        super::refuse_protected(env, "takes no power settings: it is never woken or put to sleep by mezame")?;
        let mut problems = settings.problems();
        if let Some(s) = &settings.schedule
            && s.time_zone.parse::<chrono_tz::Tz>().is_err()
        {
            problems.push(format!("schedule: unknown time zone {:?} (use an IANA name such as Europe/Paris)", s.time_zone));
        }
        if !problems.is_empty() {
            return Err(DomainError::Invalid(format!("power settings of {name} not saved: {}", problems.join("; "))));
        }
        let outside = outside_of_config(env, &settings).await?;
        if !outside.is_empty() {
            return Err(DomainError::Unprocessable(format!("power settings of {name} not saved: {}", outside.join("; "))));
        }
        let before = self.settings(env).await?;
        self.db.put_power_settings(name, &settings, actor).await?;
        if let Err(e) = self
            .audit(actor, "power.settings", name, None, serde_json::to_value(&before).ok(), serde_json::to_value(&settings).ok(), None)
            .await
        {
            // Not audited, not done: put the old settings back.
            match &before {
                Some(b) if self.db.power_settings(name).await.ok().flatten().is_some() => {
                    self.db.put_power_settings(name, b, actor).await?
                }
                _ => self.db.delete_power_settings(name).await?,
            }
            return Err(e);
        }
        Ok(settings)
    }
}

/// The EKS cluster the environment's settings must name.
pub fn own_cluster(env: &Environment) -> Option<&str> {
    env.config.aws.eks_cluster.as_deref().or(env.config.power.as_ref().map(|p| p.eks_cluster.as_str()))
}

/// What the settings name that the configuration does not give this environment.
async fn outside_of_config(env: &Environment, s: &PowerSettings) -> Result<Vec<String>, DomainError> {
    let mut out = Vec::new();
    let name = &env.config.name;
    match own_cluster(env) {
        None => out
            .push(format!("{name} has no EKS cluster in its configuration ([env.aws] eks_cluster): settings cannot be checked against it")),
        Some(c) if c != s.eks_cluster => out.push(format!("eks_cluster {:?} is not {name}'s cluster ({c})", s.eks_cluster)),
        Some(_) => {}
    }
    for ns in s.namespaces.iter().chain(std::iter::once(&s.argocd_namespace)) {
        if !is_dns_label(ns) {
            out.push(format!("namespace {ns:?} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)"));
        }
    }
    if !s.capacity.iter().any(|g| g.desired >= 1) {
        out.push("no capacity group is awake with desired ≥ 1: a wake would leave the workloads without a node".into());
    }
    if !out.is_empty() {
        return Ok(out);
    }
    let configured = env.config.power.as_ref();
    let tag = &env.config.aws.environment_tag;
    let tagged = |tags: &[(String, String)]| tags.iter().any(|(k, v)| k == tag && v == name);
    let unavailable = |e: AdapterError| DomainError::Unavailable(format!("cannot check the settings against AWS: {e}"));
    for g in &s.capacity {
        match g.kind {
            GroupKind::Nodegroup => match env.aws().nodegroup_sizes(&s.eks_cluster, &g.name).await {
                Ok(_) => {}
                Err(AdapterError::NotFound(m)) => out.push(m),
                Err(e) => return Err(unavailable(e)),
            },
            GroupKind::Asg => match env.aws().asg_tags(&g.name).await {
                Ok(tags) => {
                    let key = format!("kubernetes.io/cluster/{}", s.eks_cluster);
                    if !tags.iter().any(|(k, v)| *k == key && (v == "owned" || v == "shared")) {
                        out.push(format!(
                            "Auto Scaling group {} is not tagged {key}=owned|shared: not a group of {name}'s cluster",
                            g.name
                        ));
                    }
                    if let Some((_, ng)) = tags.iter().find(|(k, _)| k == NODEGROUP_TAG) {
                        out.push(format!(
                            "Auto Scaling group {} is EKS's for managed node group {ng}: list the node group (kind nodegroup) instead",
                            g.name
                        ));
                    }
                }
                Err(AdapterError::NotFound(m)) => out.push(m),
                Err(e) => return Err(unavailable(e)),
            },
        }
    }
    for id in &s.rds {
        if configured.is_some_and(|c| c.rds.contains(id)) {
            continue;
        }
        match env.aws().rds_tags(id).await {
            Ok(tags) if tagged(&tags) => {}
            Ok(_) => out.push(format!("RDS instance {id} is neither listed in {name}'s configuration nor tagged {tag}={name}")),
            Err(AdapterError::NotFound(m)) => out.push(m),
            Err(e) => return Err(unavailable(e)),
        }
    }
    for n in &s.ec2 {
        if configured.is_some_and(|c| c.ec2.contains(n)) {
            continue;
        }
        let instances = env.aws().instances_named(n).await.map_err(unavailable)?;
        if instances.is_empty() {
            out.push(format!("no EC2 instance named {n}"));
        } else if !instances.iter().all(|i| tagged(&i.tags)) {
            out.push(format!("EC2 instance {n} is neither listed in {name}'s configuration nor tagged {tag}={name}"));
        }
    }
    Ok(out)
}
