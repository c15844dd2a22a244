//! The sandbox's public hostnames as its Route 53 zone (moto) holds them.

use mezame_sandbox::aws::{Aws, hosted_zone_id};
use mezame_sandbox::platform::EnvSpec;

/// Where `env`'s zone points its public hostname (a CNAME's value or an alias
/// record's target, lower case, without the final dot and `dualstack.`).
pub async fn answer(moto: &Aws, env: &EnvSpec) -> Option<String> {
    let zone = hosted_zone_id(moto, &env.dns_zone()).await.unwrap().expect("the env's hosted zone");
    let host = env.hostname();
    let sets = moto.route53.list_resource_record_sets().hosted_zone_id(zone).start_record_name(&host).send().await.unwrap();
    sets.resource_record_sets().iter().filter(|r| r.name().trim_end_matches('.') == host).find_map(|r| {
        let target = match r.alias_target() {
            Some(a) => a.dns_name().to_string(),
            None if r.r#type().as_str() == "CNAME" => r.resource_records().first()?.value().to_string(),
            None => return None,
        };
        let t = target.trim_end_matches('.').to_ascii_lowercase();
        Some(t.strip_prefix("dualstack.").map(str::to_string).unwrap_or(t))
    })
}
