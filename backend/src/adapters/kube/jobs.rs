//! Running a CronJob by hand, exactly as `kubectl create job --from=cronjob/NAME` does.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};

use super::{Cluster, kube_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::timed;

/// What [`Cluster::create_job_from_cronjob`] created.
#[derive(Debug, Clone)]
pub struct CreatedJob {
    pub name: String,
    /// The CronJob's `jobTemplate`, as the Job was made from it (may hold
    /// inline `env` values: never audited or served as is).
    pub template: serde_json::Value,
}

impl Cluster {
    /// Deletes a Job (and its pods): undoes a Run now that could not be audited.
    pub async fn delete_job(&self, namespace: &str, name: &str) -> Result<(), AdapterError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let dp = kube::api::DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Background), ..Default::default() };
        timed(jobs.delete(name, &dp)).await.map_err(|e| kube_error(&format!("deleting job {namespace}/{name}"), e))?;
        Ok(())
    }

    /// Reads the CronJob and creates a Job from its `jobTemplate`: the
    /// template's labels, its annotations plus `cronjob.kubernetes.io/instantiate:
    /// manual`, and a controller owner reference to the CronJob (so the CronJob's
    /// history limits and `kubectl get jobs` treat it like a scheduled run).
    pub async fn create_job_from_cronjob(&self, namespace: &str, cronjob: &str, job_name: &str) -> Result<CreatedJob, AdapterError> {
        let cronjobs: Api<CronJob> = Api::namespaced(self.client.clone(), namespace);
        let cj = timed(cronjobs.get(cronjob)).await.map_err(|e| kube_error(&format!("reading cronjob {namespace}/{cronjob}"), e))?;
        let template = cj.spec.job_template.clone();
        let template_meta = template.metadata.clone().unwrap_or_default();
        let mut annotations: BTreeMap<String, String> = BTreeMap::new();
        annotations.insert("cronjob.kubernetes.io/instantiate".into(), "manual".into());
        annotations.extend(template_meta.annotations.unwrap_or_default());
        let job = Job {
            metadata: ObjectMeta {
                name: Some(job_name.to_string()),
                namespace: Some(namespace.to_string()),
                annotations: Some(annotations),
                labels: template_meta.labels,
                owner_references: Some(vec![OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "CronJob".into(),
                    name: cronjob.to_string(),
                    uid: cj.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: None,
                }]),
                ..Default::default()
            },
            spec: template.spec.clone(),
            status: None,
        };
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let created = timed(jobs.create(&PostParams::default(), &job))
            .await
            .map_err(|e| kube_error(&format!("creating job {namespace}/{job_name}"), e))?;
        Ok(CreatedJob {
            name: created.metadata.name.unwrap_or_else(|| job_name.to_string()),
            template: serde_json::to_value(&template).unwrap_or_default(),
        })
    }
}
