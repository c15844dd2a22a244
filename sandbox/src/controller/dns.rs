//! The public hostnames in each environment's Route 53 hosted zone (moto):
//! - prod: external-dns as its AWS provider does it (`policy=upsert-only`):
//!   an alias A record of each ALB Ingress host to its load balancer, and the
//!   `TXT` ownership record beside it, kept in step with the Ingress;
//! - dev, qa: the registration done once by hand when the environment was
//!   set up (a CNAME to the load balancer), made only when the name has no
//!   record at all — after that it is mezame's (`[env.dns] provider = "route53"`).

use anyhow::{Context, Result};
use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
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
        Dns { client, aws, zone_name: env.dns_zone(), external_dns: env.external_dns(), zone_id: None }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
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

    async fn register(&self, zone: &str, host: &str, lb: &str) -> Result<()> {
        let records = self.aws.route53.list_resource_record_sets().hosted_zone_id(zone).start_record_name(host).max_items(5).send().await?;
        let mine: Vec<&ResourceRecordSet> =
            records.resource_record_sets().iter().filter(|r| r.name().trim_end_matches('.').eq_ignore_ascii_case(host)).collect();
        let change = if self.external_dns {
            let current = mine.iter().find(|r| *r.r#type() == RrType::A).and_then(|r| r.alias_target()).map(|a| a.dns_name());
            if current.is_some_and(|c| c.trim_end_matches('.').eq_ignore_ascii_case(&format!("dualstack.{lb}"))) {
                return Ok(());
            }
            let lb_zone = self.load_balancer_zone(lb).await?;
            let alias =
                AliasTarget::builder().dns_name(format!("dualstack.{lb}")).hosted_zone_id(lb_zone).evaluate_target_health(true).build()?;
            let owner = format!("\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/{host}\"");
            vec![
                upsert(ResourceRecordSet::builder().name(host).r#type(RrType::A).alias_target(alias).build()?)?,
                upsert(
                    ResourceRecordSet::builder()
                        .name(format!("a-{host}"))
                        .r#type(RrType::Txt)
                        .ttl(300)
                        .resource_records(ResourceRecord::builder().value(owner).build()?)
                        .build()?,
                )?,
            ]
        } else {
            if !mine.is_empty() {
                return Ok(());
            }
            vec![upsert(
                ResourceRecordSet::builder()
                    .name(host)
                    .r#type(RrType::Cname)
                    .ttl(300)
                    .resource_records(ResourceRecord::builder().value(lb).build()?)
                    .build()?,
            )?]
        };
        self.aws
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().set_changes(Some(change)).build()?)
            .send()
            .await
            .with_context(|| format!("route53:ChangeResourceRecordSets {host}"))?;
        tracing::info!(host, lb, external_dns = self.external_dns, "DNS record registered");
        Ok(())
    }

    /// The load balancer's canonical hosted zone (what an alias record names).
    async fn load_balancer_zone(&self, dns_name: &str) -> Result<String> {
        let lbs = self.aws.elb.describe_load_balancers().send().await?;
        Ok(lbs
            .load_balancers()
            .iter()
            .find(|l| l.dns_name() == Some(dns_name))
            .and_then(|l| l.canonical_hosted_zone_id())
            .unwrap_or("Z32O12XQLNTSW2")
            .to_string())
    }
}

fn upsert(set: ResourceRecordSet) -> Result<Change> {
    Ok(Change::builder().action(ChangeAction::Upsert).resource_record_set(set).build()?)
}
