//! Recent Kubernetes events of a namespace (read on demand, not watched:
//! they are many, short-lived, and only the detail page shows them).

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use mezame_shared::topology::KubeEvent;

use super::{Cluster, convert, kube_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::timed;

impl Cluster {
    /// The events of `namespace` whose object is one of `names`, newest first.
    pub async fn events_for(&self, namespace: &str, names: &[String], limit: usize) -> Result<Vec<KubeEvent>, AdapterError> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let list = timed(api.list(&ListParams::default().limit(1000)))
            .await
            .map_err(|e| kube_error(&format!("listing events in {namespace}"), e))?;
        let mut events: Vec<KubeEvent> = list
            .items
            .iter()
            .filter(|e| e.involved_object.name.as_ref().is_some_and(|n| names.contains(n)))
            .map(|e| KubeEvent {
                at: when(e),
                kind: e.type_.clone().unwrap_or_else(|| "Normal".into()),
                reason: e.reason.clone().unwrap_or_default(),
                object: format!(
                    "{}/{}",
                    e.involved_object.kind.as_deref().unwrap_or("?"),
                    e.involved_object.name.as_deref().unwrap_or("?")
                ),
                message: e.message.clone().unwrap_or_default(),
                count: e.count.unwrap_or(1),
            })
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.at));
        events.truncate(limit);
        Ok(events)
    }
}

fn when(e: &Event) -> Option<DateTime<Utc>> {
    e.last_timestamp
        .as_ref()
        .and_then(convert::time)
        .or_else(|| e.event_time.as_ref().and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0)))
        .or_else(|| e.metadata.creation_timestamp.as_ref().and_then(convert::time))
}
