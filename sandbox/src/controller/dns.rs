//! The public hostnames of dev and qa in their Route 53 hosted zone (moto):
//! the registration done once by hand when the environment was set up (a
//! CNAME to the load balancer), made only when the name has no record at all
//! — after that it is mezame's (`[env.dns] provider = "route53"`). prod's
//! records are the real external-dns's (a gated process, see `gate.rs`).

use anyhow::{Context, Result};
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};

use crate::aws::Aws;
use crate::platform::EnvSpec;

pub struct Dns {
    client: kube::Client,
    aws: Aws,
    zone_name: String,
    external_dns: bool,
    zone_id: Option<String>,
}

impl Dns {
    pub fn new(client: kube::Client, aws: Aws, env: &EnvSpec) -> Dns {
        Dns { client, aws, zone_name: env.dns_zone(), external_dns: env.external_dns, zone_id: None }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
        if self.external_dns {
            return Ok(());
        }
        let zone = match &self.zone_id {
            Some(z) => z.clone(),
            None => {
                let z = crate::aws::hosted_zone_id(&self.aws, &self.zone_name).await?.context("no hosted zone yet")?;
                self.zone_id = Some(z.clone());
                z
            }
        };
        let ingresses: Api<Ingress> = Api::all(self.client.clone());
        for ing in ingresses.list(&ListParams::default()).await?.items {
            if ing.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(lb) = ing
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .and_then(|i| i.first())
                .and_then(|i| i.hostname.clone())
            else {
                continue;
            };
            let hosts = ing.spec.as_ref().and_then(|s| s.rules.as_ref()).into_iter().flatten().filter_map(|r| r.host.clone());
            for host in hosts.filter(|h| h.ends_with(&format!(".{}", self.zone_name))) {
                self.register(&zone, &host, &lb).await?;
            }
        }
        Ok(())
    }

    /// The registration done once by hand: a CNAME, only where the name has no record.
    async fn register(&self, zone: &str, host: &str, lb: &str) -> Result<()> {
        let records = self.aws.route53.list_resource_record_sets().hosted_zone_id(zone).start_record_name(host).max_items(5).send().await?;
        if records.resource_record_sets().iter().any(|r| r.name().trim_end_matches('.').eq_ignore_ascii_case(host)) {
            return Ok(());
        }
        let cname = ResourceRecordSet::builder()
            .name(host)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(lb).build()?)
            .build()?;
        let change = Change::builder().action(ChangeAction::Upsert).resource_record_set(cname).build()?;
        self.aws
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().changes(change).build()?)
            .send()
            .await
            .with_context(|| format!("route53:ChangeResourceRecordSets {host}"))?;
        tracing::info!(host, lb, "DNS record registered");
        Ok(())
    }
}
