//! Databases that sleep: RDS instances, and EC2 instances found by their
//! `Name` tag (e.g. a Redis on EC2).

use aws_sdk_ec2::types::Filter;

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

/// An EC2 instance and its state (`running`, `stopped`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub state: String,
    pub tags: Vec<(String, String)>,
}

impl Account {
    /// The RDS instance, described; `NotFound` if there is none.
    async fn describe_rds(&self, id: &str) -> Result<aws_sdk_rds::types::DbInstance, AdapterError> {
        let out =
            aws_sdk_rds::Client::new(&self.ops()).describe_db_instances().db_instance_identifier(id).send().timed().await.map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) {
                    AdapterError::NotFound(format!("no RDS instance {id}"))
                } else {
                    sdk_error("rds:DescribeDBInstances", id, e)
                }
            })?;
        out.db_instances().first().cloned().ok_or_else(|| AdapterError::NotFound(format!("no RDS instance {id}")))
    }

    /// The RDS instance's status (`available`, `stopped`, `starting`, …).
    pub async fn rds_status(&self, id: &str) -> Result<String, AdapterError> {
        Ok(self.describe_rds(id).await?.db_instance_status().unwrap_or("unknown").to_string())
    }

    /// The RDS instance's tags.
    pub async fn rds_tags(&self, id: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let d = self.describe_rds(id).await?;
        Ok(d.tag_list().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect())
    }

    pub async fn rds_stop(&self, id: &str) -> Result<(), AdapterError> {
        aws_sdk_rds::Client::new(&self.ops())
            .stop_db_instance()
            .db_instance_identifier(id)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("rds:StopDBInstance", id, e))?;
        Ok(())
    }

    pub async fn rds_start(&self, id: &str) -> Result<(), AdapterError> {
        aws_sdk_rds::Client::new(&self.ops())
            .start_db_instance()
            .db_instance_identifier(id)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("rds:StartDBInstance", id, e))?;
        Ok(())
    }

    /// Instances tagged `Name=<name>` that are not terminated.
    pub async fn instances_named(&self, name: &str) -> Result<Vec<Instance>, AdapterError> {
        let out = aws_sdk_ec2::Client::new(&self.ops())
            .describe_instances()
            .filters(Filter::builder().name("tag:Name").values(name).build())
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .values("stopping")
                    .values("stopped")
                    .build(),
            )
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("ec2:DescribeInstances", name, e))?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| {
                Some(Instance {
                    id: i.instance_id()?.to_string(),
                    state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
                    tags: i.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect(),
                })
            })
            .collect())
    }

    pub async fn ec2_stop(&self, ids: &[String]) -> Result<(), AdapterError> {
        aws_sdk_ec2::Client::new(&self.ops())
            .stop_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("ec2:StopInstances", &ids.join(","), e))?;
        Ok(())
    }

    pub async fn ec2_start(&self, ids: &[String]) -> Result<(), AdapterError> {
        aws_sdk_ec2::Client::new(&self.ops())
            .start_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("ec2:StartInstances", &ids.join(","), e))?;
        Ok(())
    }
}
