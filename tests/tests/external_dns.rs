//! prod's public records are the real external-dns's (v0.23.0, built from Go
//! modules, its AWS provider on prod's moto), run only while its kwok pod is
//! Running: the platform's hostname as alias A and AAAA records to its load
//! balancer with TXT ownership records; a new Ingress gets its records, a
//! deleted one loses them (`--policy=sync`); with its pod scaled away nothing
//! changes, and back it catches up. mezame's wake of an environment whose
//! records external-dns owns is done only once external-dns points them at
//! the new load balancer.

use std::time::Duration;

use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, PostParams};
use mezame_e2e::cluster::*;
use mezame_e2e::runs::{KEY, finished, post};
use mezame_e2e::{Server, eventually, kube, sandbox};
use mezame_sandbox::aws::{Aws, hosted_zone_id};
use mezame_sandbox::platform::env_spec;
use mezame_shared::power::{Run, RunState, StepState};
use serde_json::json;

/// The record sets named `name` in `zone`: (type, alias target or values), sorted.
async fn records(moto: &Aws, zone: &str, name: &str) -> Vec<(String, String)> {
    let sets = moto.route53.list_resource_record_sets().hosted_zone_id(zone).start_record_name(name).send().await.unwrap();
    let mut out: Vec<(String, String)> = sets
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.') == name)
        .map(|r| {
            let value = match r.alias_target() {
                Some(a) => format!("alias {}", a.dns_name().trim_end_matches('.')),
                None => r.resource_records().iter().map(|v| v.value()).collect::<Vec<_>>().join(" "),
            };
            (r.r#type().as_str().to_string(), value)
        })
        .collect();
    out.sort();
    out
}

/// The load balancer hostname an Ingress's status shows.
async fn hostname(ingresses: &Api<Ingress>, name: &str) -> Option<String> {
    let status = ingresses.get(name).await.ok()?.status?;
    status.load_balancer?.ingress?.first()?.hostname.clone()
}

/// What external-dns writes for a host at `lb`: alias A and AAAA records
/// (to the name as the Ingress shows it: `dualstack.` only for dual-stack ones).
fn aliases(lb: &str) -> Vec<(String, String)> {
    vec![("A".into(), format!("alias {lb}")), ("AAAA".into(), format!("alias {lb}"))]
}

/// Its TXT ownership record of `ingress` (owner `default`).
fn owner(ingress: &str) -> Vec<(String, String)> {
    vec![("TXT".into(), format!("\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/{ingress}\""))]
}

#[tokio::test]
async fn external_dns_owns_prods_records_and_follows_its_ingresses() {
    let _lock = LOCK.lock().await;
    let client = kube("prod").await;
    // (A run stopped half-way may have left it scaled away.)
    scale_addon(&client, "kube-system", "external-dns", 1).await;
    settled("prod").await;
    let spec = env_spec("prod").unwrap();
    let moto = aws("prod").await;
    let zone = hosted_zone_id(&moto, &spec.dns_zone()).await.unwrap().expect("prod's hosted zone");

    // The platform's hostname, at the load balancer of Ambassador's Ingress.
    let ambassador: Api<Ingress> = Api::namespaced(client.clone(), "ambassador");
    let lb = hostname(&ambassador, "ambassador").await.expect("prod's ALB hostname");
    let host = spec.hostname();
    eventually("external-dns's records of the platform's hostname", MINUTE, || async {
        let ok = records(&moto, &zone, &host).await == aliases(&lb)
            && records(&moto, &zone, &format!("a-{host}")).await == owner("ambassador/ambassador")
            && records(&moto, &zone, &format!("aaaa-{host}")).await == owner("ambassador/ambassador");
        ok.then_some(())
    })
    .await;

    // Its pod scaled away: a new Ingress gets its load balancer, but no record.
    scale_addon(&client, "kube-system", "external-dns", 0).await;
    eventually("the external-dns pod is gone", MINUTE, || async {
        (running_pods(&client, "kube-system", "app.kubernetes.io/name=external-dns").await == 0).then_some(())
    })
    .await;
    let status_host = format!("status.{}", spec.dns_zone());
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let ing: Ingress = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "status-page", "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
        "spec": {"ingressClassName": "alb", "rules": [{"host": status_host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "status", "port": {"number": 80}}}}]}}]}
    }))
    .unwrap();
    let _ = ingresses.delete("status-page", &DeleteParams::default()).await;
    ingresses.create(&PostParams::default(), &ing).await.unwrap();
    let new_lb = eventually("the new Ingress's load balancer", MINUTE, || async { hostname(&ingresses, "status-page").await }).await;
    // external-dns reacts to an Ingress change within seconds (`--events`): 10 s of nothing is its absence.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(records(&moto, &zone, &status_host).await, vec![], "no external-dns, no record");

    // Back: it catches up; the Ingress deleted, its records go (`--policy=sync`).
    scale_addon(&client, "kube-system", "external-dns", 1).await;
    eventually("the new hostname's records", 2 * MINUTE, || async {
        let ok = records(&moto, &zone, &status_host).await == aliases(&new_lb)
            && records(&moto, &zone, &format!("a-{status_host}")).await == owner("default/status-page");
        ok.then_some(())
    })
    .await;
    ingresses.delete("status-page", &DeleteParams::default()).await.unwrap();
    eventually("the deleted Ingress's records removed", 2 * MINUTE, || async {
        let gone =
            records(&moto, &zone, &status_host).await.is_empty() && records(&moto, &zone, &format!("a-{status_host}")).await.is_empty();
        gone.then_some(())
    })
    .await;
    assert_eq!(records(&moto, &zone, &host).await, aliases(&lb), "the platform's records untouched");
}

fn step<'a>(run: &'a Run, name: &str) -> &'a mezame_shared::power::RunStep {
    run.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name} in {run:#?}"))
}

/// The sandbox's prod is protected (mezame never sleeps it); this test's
/// mezame is told it is not, so that a sleep and a wake go through the
/// records the real external-dns owns.
#[tokio::test]
async fn a_wake_is_done_once_external_dns_points_at_the_new_load_balancer() {
    let _lock = LOCK.lock().await;
    let client = kube("prod").await;
    scale_addon(&client, "kube-system", "external-dns", 1).await;
    settled("prod").await;
    let spec = mezame_sandbox::platform::EnvSpec { protected: false, ..*env_spec("prod").unwrap() };
    assert!(spec.external_dns);
    let toml = mezame_sandbox::config::env_toml(&sandbox(), &spec);
    assert!(toml.contains("provider = \"external-dns\"") && toml.contains("[env.power]"), "{toml}");
    let server = Server::start(&format!("backup_keys = [\"{KEY}\"]\n{toml}"));
    let moto = aws("prod").await;
    let zone = hosted_zone_id(&moto, &spec.dns_zone()).await.unwrap().expect("prod's hosted zone");
    let ambassador: Api<Ingress> = Api::namespaced(client.clone(), "ambassador");
    let before = hostname(&ambassador, "ambassador").await.expect("prod's ALB hostname");
    let host = spec.hostname();

    let (status, body) = post(&server.url("/api/envs/prod/sleep")).await;
    assert_eq!(status, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let asleep = step(&run, "point-dns-asleep");
    assert_eq!(asleep.state, StepState::Done);
    assert_eq!(asleep.message.as_deref(), Some("external-dns owns the records: left to it"));
    // With the Ingress gone, external-dns (`--policy=sync`) removed its records before its pod went with the nodes.
    println!("asleep, the zone holds for {host}: {:?}", records(&moto, &zone, &host).await);

    let (status, body) = post(&server.url("/api/envs/prod/wake")).await;
    assert_eq!(status, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 8 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let after = hostname(&ambassador, "ambassador").await.expect("prod's new ALB hostname");
    assert_ne!(after, before, "a wake makes a new load balancer");
    let dns = step(&run, "point-dns");
    let message = dns.message.as_deref().unwrap_or_default();
    println!("point-dns waited {:?}: {message}", dns.finished_at.zip(dns.started_at).map(|(f, s)| f - s));
    assert!(message.contains(&format!("{host} → {after}")) && message.contains("(0 changed by mezame)"), "{message}");
    // What the step waited for was there when it ended: external-dns's alias records at the new load balancer.
    assert_eq!(records(&moto, &zone, &host).await, aliases(&after));
    assert_eq!(records(&moto, &zone, &format!("a-{host}")).await, owner("ambassador/ambassador"));
    // The Environments card reads external-dns's alias record as the live load balancer.
    let (_, envs) = mezame_e2e::get_json(&server.url("/api/envs")).await;
    let prod = envs["envs"].as_array().unwrap().iter().find(|e| e["name"] == "prod").unwrap().clone();
    let card = &prod["public"]["value"][0];
    assert_eq!(
        (card["host"].as_str(), card["state"].as_str(), card["points_to"].as_str()),
        (Some(&*host), Some("live"), Some(&*after)),
        "{prod}"
    );
    drop(server);
    settled("prod").await;
}
