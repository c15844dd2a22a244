//! Reading and changing objects of a few known kinds as JSON ([`Cluster`]'s
//! methods), for the wake and sleep steps: they record objects whole (an Application's `syncPolicy`, an
//! Ingress manifest, Argo CD's settings) and put them back exactly.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::{Cluster, kube_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::timed;

/// The kinds the power steps touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Deployment,
    StatefulSet,
    HorizontalPodAutoscaler,
    CronJob,
    Ingress,
    Application,
    AppProject,
    ConfigMap,
    Secret,
    Node,
    Pod,
}

impl Kind {
    fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Kind::StatefulSet => ("apps", "v1", "StatefulSet", "statefulsets"),
            Kind::HorizontalPodAutoscaler => ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
            Kind::CronJob => ("batch", "v1", "CronJob", "cronjobs"),
            Kind::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Kind::Application => ("argoproj.io", "v1alpha1", "Application", "applications"),
            Kind::AppProject => ("argoproj.io", "v1alpha1", "AppProject", "appprojects"),
            Kind::ConfigMap => ("", "v1", "ConfigMap", "configmaps"),
            Kind::Secret => ("", "v1", "Secret", "secrets"),
            Kind::Node => ("", "v1", "Node", "nodes"),
            Kind::Pod => ("", "v1", "Pod", "pods"),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    fn api(self, client: &kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = self.resource();
        match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::HorizontalPodAutoscaler => "horizontalpodautoscaler",
            Kind::CronJob => "cronjob",
            Kind::Ingress => "ingress",
            Kind::Application => "application",
            Kind::AppProject => "appproject",
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
            Kind::Node => "node",
            Kind::Pod => "pod",
        }
    }
}

fn what(kind: Kind, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} {ns}/{name}", kind.name()),
        None => format!("{} {name}", kind.name()),
    }
}

fn to_value(o: DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

impl Cluster {
    /// Objects of `kind` in `namespace` (or everywhere), optionally by label selector.
    pub async fn list(&self, kind: Kind, namespace: Option<&str>, labels: Option<&str>) -> Result<Vec<Value>, AdapterError> {
        let mut lp = ListParams::default();
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        let items = timed(kind.api(&self.client, namespace).list(&lp))
            .await
            .map_err(|e| kube_error(&format!("listing {}s in {}", kind.name(), namespace.unwrap_or("all namespaces")), e))?;
        Ok(items.items.into_iter().map(to_value).collect())
    }

    /// The object, or `None` if it does not exist.
    pub async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, AdapterError> {
        match timed(kind.api(&self.client, namespace).get_opt(name)).await {
            Ok(o) => Ok(o.map(to_value)),
            Err(e) => Err(kube_error(&format!("reading {}", what(kind, namespace, name)), e)),
        }
    }

    /// Creates `object` (a manifest without server-set fields).
    pub async fn create(&self, kind: Kind, namespace: Option<&str>, object: &Value) -> Result<(), AdapterError> {
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        let obj: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| AdapterError::Corrupt(format!("{} is not a valid object: {e}", what(kind, namespace, &name))))?;
        timed(kind.api(&self.client, namespace).create(&PostParams::default(), &obj))
            .await
            .map_err(|e| kube_error(&format!("creating {}", what(kind, namespace, &name)), e))?;
        Ok(())
    }

    /// Applies a JSON merge patch (RFC 7386).
    pub async fn merge_patch(&self, kind: Kind, namespace: Option<&str>, name: &str, patch: &Value) -> Result<(), AdapterError> {
        timed(kind.api(&self.client, namespace).patch(name, &PatchParams::default(), &Patch::Merge(patch)))
            .await
            .map_err(|e| kube_error(&format!("changing {}", what(kind, namespace, name)), e))?;
        Ok(())
    }

    /// Deletes the object; an object already gone is fine.
    pub async fn delete(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<(), AdapterError> {
        match timed(kind.api(&self.client, namespace).delete(name, &DeleteParams::default())).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(kube_error(&format!("deleting {}", what(kind, namespace, name)), e)),
        }
    }
}

/// A manifest fit to be created again: without `status` and the fields the
/// API server sets (uid, resourceVersion, managedFields, …).
pub fn manifest(object: &Value) -> Value {
    let mut m = object.clone();
    if let Some(o) = m.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "resourceVersion",
            "managedFields",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    m
}

/// The merge patch (RFC 7386) that turns `current` into `target`: changed
/// keys set, keys absent from `target` set to null, objects recursed into.
pub fn merge_patch_between(current: &Value, target: &Value) -> Value {
    match (current, target) {
        (Value::Object(c), Value::Object(t)) => {
            let mut patch = serde_json::Map::new();
            for (k, tv) in t {
                match c.get(k) {
                    Some(cv) if cv == tv => {}
                    Some(cv) if cv.is_object() && tv.is_object() => {
                        patch.insert(k.clone(), merge_patch_between(cv, tv));
                    }
                    _ => {
                        patch.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in c.keys() {
                if !t.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        (_, t) => t.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7386 application, to check the generated patches.
    fn apply(target: &mut Value, patch: &Value) {
        if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if v.is_object() && t.get(k).is_some_and(Value::is_object) {
                    apply(t.get_mut(k).unwrap(), v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        } else {
            *target = patch.clone();
        }
    }

    #[test]
    fn merge_patch_restores_exactly() {
        let recorded = json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]});
        let now = json!({"syncOptions": ["CreateNamespace=true", "ServerSideApply=true"], "retry": {"limit": 2}});
        let patch = merge_patch_between(&now, &recorded);
        let mut applied = now.clone();
        apply(&mut applied, &patch);
        assert_eq!(applied, recorded);
        assert_eq!(merge_patch_between(&recorded, &recorded), json!({}));
    }

    #[test]
    fn manifests_drop_server_fields() {
        let o = json!({"metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "annotations": {"x": "y", "kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {}, "status": {"a": 1}});
        assert_eq!(manifest(&o), json!({"metadata": {"name": "a", "annotations": {"x": "y"}}, "spec": {}}));
    }
}
