//! Cordoning and uncordoning a node (`spec.unschedulable`, as `kubectl
//! cordon` does), audited: a change that cannot be audited is put back.

use mezame_shared::audit::AuditOutcome;
use mezame_shared::capacity::NodeCordon;
use serde_json::{Value, json};

use super::Capacities;
use crate::adapters::db::NewAuditEntry;
use crate::adapters::kube::resources::Kind;
use crate::config::is_dns_subdomain;
use crate::domain::envs::Environment;
use crate::domain::{DomainError, audit};

impl Capacities {
    /// Makes `node` unschedulable (`cordon`) or schedulable again; a node
    /// already as asked is left alone (`changed: false`, nothing audited).
    pub async fn cordon(
        &self,
        env: &Environment,
        node: &str,
        cordon: bool,
        actor: &str,
        confirm: Option<&str>,
    ) -> Result<NodeCordon, DomainError> {
        let env_name = env.config.name.as_str();
        if !is_dns_subdomain(node) {
            return Err(DomainError::Invalid(format!("{node:?} is not a node name (a DNS-1123 subdomain)")));
        }
        env.confirmed(confirm)?;
        let unavailable = |e| DomainError::Unavailable(format!("{env_name}'s API server: {e}"));
        let cluster = env.cluster().await.map_err(unavailable)?;
        let current = cluster
            .get(Kind::Node, None, node)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::NotFound(format!("no node {node} in {env_name}")))?;
        let was = current.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
        if was == cordon {
            return Ok(NodeCordon { node: node.to_string(), cordoned: cordon, changed: false });
        }
        let set = |on: bool| json!({ "spec": { "unschedulable": if on { Value::Bool(true) } else { Value::Null } } });
        let result = cluster.merge_patch(Kind::Node, None, node, &set(cordon)).await;
        let entry = NewAuditEntry {
            actor: actor.to_string(),
            action: if cordon { "node.cordon" } else { "node.uncordon" }.into(),
            env: Some(env_name.to_string()),
            target: Some(format!("node/{node}")),
            before: Some(json!({ "unschedulable": was })),
            after: Some(json!({ "unschedulable": if result.is_ok() { cordon } else { was } })),
            outcome: if result.is_ok() { AuditOutcome::Ok } else { AuditOutcome::Error },
            message: result.as_ref().err().map(|e| e.to_string()),
        };
        let put_back = set(was);
        audit::record_or_undo(&self.db, entry, result.is_ok(), || cluster.merge_patch(Kind::Node, None, node, &put_back)).await?;
        result.map_err(|e| DomainError::Unavailable(format!("{env_name}'s API server refused to change node {node}: {e}")))?;
        Ok(NodeCordon { node: node.to_string(), cordoned: cordon, changed: true })
    }
}
