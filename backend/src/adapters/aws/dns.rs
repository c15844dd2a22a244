//! Route 53: a hosted zone's records of a name, and pointing a name somewhere
//! (a CNAME, replacing whatever address records the name had, in one atomic
//! change batch), then whether Route 53 has the change on all its servers.

use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType};

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

/// One record set of a name, as the zone holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Without the final dot, lower case.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `TXT`, …
    pub kind: String,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    /// The target of an alias record (a load balancer's DNS name).
    pub alias: Option<String>,
    /// The alias target's hosted zone (needed to delete an alias record).
    alias_zone: Option<String>,
    alias_health: bool,
}

impl DnsRecord {
    /// Where a CNAME or an alias record points, normalised.
    pub fn target(&self) -> Option<String> {
        match (&self.alias, self.kind.as_str()) {
            (Some(a), _) => Some(normalise(a)),
            (None, "CNAME") => self.values.first().map(|v| normalise(v)),
            _ => None,
        }
    }

    /// A record a CNAME cannot live beside (Route 53 refuses a CNAME next to
    /// any other record of the name but its own kind; TXT ownership records of
    /// external-dns live at another name).
    pub fn is_address(&self) -> bool {
        matches!(self.kind.as_str(), "A" | "AAAA" | "CNAME")
    }
}

/// A DNS name as compared here: lower case, no final dot, no `dualstack.`
/// prefix (what external-dns writes in front of a load balancer's name).
pub fn normalise(name: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    n.strip_prefix("dualstack.").map(str::to_string).unwrap_or(n)
}

impl Account {
    /// The id of the hosted zone `zone` names: a zone's name (`dev.example.com`)
    /// or its id (`Z0123…`, no dot).
    pub async fn hosted_zone(&self, zone: &str) -> Result<String, AdapterError> {
        if !zone.contains('.') {
            return Ok(zone.to_string());
        }
        let client = aws_sdk_route53::Client::new(&self.ops());
        let out = client
            .list_hosted_zones_by_name()
            .dns_name(zone)
            .max_items(10)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("route53:ListHostedZonesByName", zone, e))?;
        let wanted = normalise(zone);
        out.hosted_zones()
            .iter()
            .find(|z| normalise(z.name()) == wanted)
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
            .ok_or_else(|| AdapterError::Aws(format!("route53: no hosted zone named {zone} in this account")))
    }

    /// The record sets of `name` in the zone.
    pub async fn dns_records(&self, zone_id: &str, name: &str) -> Result<Vec<DnsRecord>, AdapterError> {
        let client = aws_sdk_route53::Client::new(&self.ops());
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(name)
            .max_items(20)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("route53:ListResourceRecordSets", name, e))?;
        let wanted = normalise(name);
        Ok(out
            .resource_record_sets()
            .iter()
            .filter(|r| normalise(r.name()) == wanted)
            .map(|r| DnsRecord {
                name: wanted.clone(),
                kind: r.r#type().as_str().to_string(),
                ttl: r.ttl(),
                values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
                alias: r.alias_target().map(|a| a.dns_name().to_string()),
                alias_zone: r.alias_target().map(|a| a.hosted_zone_id().to_string()),
                alias_health: r.alias_target().is_some_and(|a| a.evaluate_target_health()),
            })
            .collect())
    }

    /// Points `name` at `target` with a CNAME of `ttl` seconds: the name's
    /// other address records (`current`, as [`Account::dns_records`] read them)
    /// are deleted in the same change batch. Answers the change's id.
    pub async fn point_cname(
        &self,
        zone_id: &str,
        name: &str,
        target: &str,
        ttl: i64,
        current: &[DnsRecord],
    ) -> Result<String, AdapterError> {
        let built = |e: aws_sdk_route53::error::BuildError| AdapterError::Aws(format!("route53 change of {name}: {e}"));
        let mut changes = Vec::new();
        for old in current.iter().filter(|r| r.is_address() && r.kind != "CNAME") {
            changes.push(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(record_set(old).map_err(built)?)
                    .build()
                    .map_err(built)?,
            );
        }
        let cname = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(ttl)
            .resource_records(ResourceRecord::builder().value(target).build().map_err(built)?)
            .build()
            .map_err(built)?;
        changes.push(Change::builder().action(ChangeAction::Upsert).resource_record_set(cname).build().map_err(built)?);
        let batch =
            ChangeBatch::builder().comment(format!("mezame: {name} → {target}")).set_changes(Some(changes)).build().map_err(built)?;
        let client = aws_sdk_route53::Client::new(&self.ops());
        let out = client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("route53:ChangeResourceRecordSets", name, e))?;
        Ok(out.change_info().map(|c| c.id().trim_start_matches("/change/").to_string()).unwrap_or_default())
    }

    /// Whether Route 53 has a change on all its authoritative servers (`INSYNC`).
    pub async fn dns_change_done(&self, change_id: &str) -> Result<bool, AdapterError> {
        let client = aws_sdk_route53::Client::new(&self.ops());
        let out = client.get_change().id(change_id).send().timed().await.map_err(|e| sdk_error("route53:GetChange", change_id, e))?;
        Ok(out.change_info().is_some_and(|c| *c.status() == ChangeStatus::Insync))
    }
}

/// A record set exactly as read (Route 53 deletes only an exact match).
fn record_set(r: &DnsRecord) -> Result<ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    let mut b = ResourceRecordSet::builder().name(&r.name).r#type(RrType::from(r.kind.as_str()));
    if let (Some(alias), Some(zone)) = (&r.alias, &r.alias_zone) {
        b = b.alias_target(AliasTarget::builder().dns_name(alias).hosted_zone_id(zone).evaluate_target_health(r.alias_health).build()?);
    } else {
        b = b.set_ttl(r.ttl);
        for v in &r.values {
            b = b.resource_records(ResourceRecord::builder().value(v).build()?);
        }
    }
    b.build()
}
