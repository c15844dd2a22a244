//! The capacity view against the sandbox: node groups and Auto Scaling groups
//! as moto describes them, joined with the real API server's nodes and pods.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use mezame_e2e::capacity::{
    TABLE, asg_in_moto, capacity, close, described, group, group_reaches, planned_scale_in_of_one, spot_moves_are_priced,
    spot_risk_matches_the_cluster,
};
use mezame_e2e::cluster::{LOCK, MINUTE, aws, settled};
use mezame_e2e::manifests::send;
use mezame_e2e::sse::Sse;
use mezame_e2e::{OPERATOR, Server, VIEWER, anonymous, client, client_as, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::platform::env_spec;
use mezame_shared::capacity::{GroupChanged, SizesTarget};
use mezame_shared::power::GroupKind;
use serde_json::json;

fn names<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> BTreeSet<String> {
    nodes.into_iter().filter_map(|n| n.metadata.name.clone()).collect()
}

#[tokio::test]
async fn dev_shows_its_managed_group_and_its_spot_asg_each_with_its_own_nodes_and_ec2_lifecycle() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let (c, nodes) = described(&server, "dev").await;
    let spec = env_spec("dev").unwrap();
    assert_eq!(c.cluster, "platform-dev");
    assert_eq!(c.groups.len(), 2, "{:?}", c.groups.iter().map(|g| &g.name).collect::<Vec<_>>());

    // The managed group: as EKS (moto) describes it, with the nodes EKS labels as its own.
    let system = group(&c, GroupKind::Nodegroup, "system");
    let ng = &spec.nodegroups[0];
    assert_eq!((system.min, system.desired, system.max), (ng.min, ng.desired, ng.max));
    assert_eq!((system.capacity_type.as_str(), system.instance_types.as_slice()), ("ON_DEMAND", [ng.instance_type.to_string()].as_slice()));
    assert_eq!(system.status, "ACTIVE");
    let labelled = names(
        nodes
            .iter()
            .filter(|n| n.metadata.labels.as_ref().and_then(|l| l.get("eks.amazonaws.com/nodegroup")).is_some_and(|g| g == "system")),
    );
    assert_eq!(system.nodes.iter().map(|n| n.name.clone()).collect::<BTreeSet<_>>(), labelled);
    assert_eq!(labelled.len(), ng.desired as usize);
    assert!(
        system.nodes.iter().all(|n| n.ready && n.capacity_type.as_deref() == Some("on-demand") && n.cpu_allocatable_m > 0),
        "{:?}",
        system.nodes
    );

    // The spot ASG: its MixedInstancesPolicy as declared, its instances as EC2 says (spot), its nodes by providerID.
    let spot_name = spec.spot_asg_name().unwrap();
    let asg = group(&c, GroupKind::Asg, &spot_name);
    let spot = spec.spot.unwrap();
    assert_eq!((asg.min, asg.desired, asg.max), (spot.min, spot.desired, spot.max));
    let mix = asg.mix.as_ref().expect("a MixedInstancesPolicy");
    assert_eq!((mix.on_demand_base, mix.on_demand_percent_above_base), (0, 0));
    assert_eq!(mix.spot_allocation_strategy.as_deref(), Some("price-capacity-optimized"));
    assert_eq!(mix.instance_types, spot.instance_types.iter().map(|t| t.to_string()).collect::<Vec<_>>());
    // AWS (and moto) name the launch template by id once described; by name if only that is known.
    assert!(mix.launch_template.as_deref().is_some_and(|l| l.starts_with("lt-") || l.starts_with(&spot_name)), "{mix:?}");
    let moto = aws("dev").await;
    let described = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(&spot_name).send().await.unwrap();
    let ids: BTreeSet<String> =
        described.auto_scaling_groups()[0].instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
    assert_eq!(asg.instances.iter().map(|i| i.id.clone()).collect::<BTreeSet<_>>(), ids);
    assert_eq!(ids.len(), spot.desired as usize);
    let ec2 = moto.ec2.describe_instances().set_instance_ids(Some(ids.iter().cloned().collect())).send().await.unwrap();
    let lifecycles: Vec<_> =
        ec2.reservations().iter().flat_map(|r| r.instances()).map(|i| i.instance_lifecycle().map(|l| l.as_str().to_string())).collect();
    assert!(lifecycles.iter().all(|l| l.as_deref() == Some("spot")), "EC2 says {lifecycles:?}");
    assert!(asg.instances.iter().all(|i| i.lifecycle == "spot" && i.node.is_some()), "{:?}", asg.instances);
    assert_eq!((asg.actual.spot, asg.actual.on_demand), (spot.desired as u32, 0));
    let by_provider = names(nodes.iter().filter(|n| {
        n.spec.as_ref().and_then(|s| s.provider_id.as_deref()).and_then(|p| p.rsplit('/').next()).is_some_and(|id| ids.contains(id))
    }));
    assert_eq!(asg.nodes.iter().map(|n| n.name.clone()).collect::<BTreeSet<_>>(), by_provider);
    assert!(asg.nodes.iter().all(|n| n.capacity_type.as_deref() == Some("spot")), "{:?}", asg.nodes);
    assert!(asg.warnings.is_empty(), "{:?}", asg.warnings);
    // Awake sizes from the power settings (the configuration's).
    assert_eq!(asg.awake.as_ref().map(|a| (a.min, a.desired, a.max)), Some((spot.min, spot.desired, spot.max)));

    // Pods per node as the API server binds them (non-terminal ones).
    let pods = Api::<Pod>::all(kube("dev").await).list(&ListParams::default()).await.unwrap().items;
    let node = &system.nodes[0];
    let bound = pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.name.as_str()))
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
        .count();
    assert_eq!(node.pods as usize, bound, "{node:?}");

    let spot_nodes = asg.nodes.len() as f64;
    assert_eq!(c.totals.spot_share_pct, (spot_nodes * 1000.0 / nodes.len() as f64).round() / 10.0);
    assert_eq!(c.totals.ready as usize, nodes.len());

    // What it costs: the managed group's nodes at the shipped table's on-demand
    // price, the spot ASG's instances at EC2's (moto's) spot price in their zone.
    let od = |t: &str| TABLE["regions"]["eu-west-1"][t].as_f64().unwrap_or_else(|| panic!("{t} in the shipped table"));
    let want = system.nodes.iter().map(|n| od(n.instance_type.as_deref().unwrap())).sum::<f64>();
    assert!(close(system.cost.hourly, want) && !system.cost.estimated, "{:?} vs {want}", system.cost);
    assert!(close(system.cost.monthly, system.cost.hourly * 730.0), "{:?}", system.cost);
    assert!(system.nodes.iter().all(|n| n.hourly == Some(od(ng.instance_type))), "{:?}", system.nodes);
    let history = moto
        .ec2
        .describe_spot_price_history()
        .set_instance_types(Some(spot.instance_types.iter().map(|t| (*t).into()).collect()))
        .start_time(aws_sdk_ec2::primitives::DateTime::from(std::time::SystemTime::now()))
        .send()
        .await
        .unwrap();
    let spot_price = |t: &str, zone: &str| {
        history
            .spot_price_history()
            .iter()
            .find(|p| p.instance_type().map(|i| i.as_str()) == Some(t) && p.availability_zone() == Some(zone))
            .and_then(|p| p.spot_price()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("moto prices {t} in {zone}"))
    };
    assert!(c.cost.prices.spot_error.is_none() && c.cost.prices.spot_described_at.is_some(), "{:?}", c.cost.prices);
    let want = asg.instances.iter().map(|i| spot_price(&i.instance_type, &i.zone)).sum::<f64>();
    assert!(close(asg.cost.hourly, want) && !asg.cost.estimated, "{:?} vs {want}", asg.cost);
    assert!(asg.instances.iter().all(|i| i.hourly == Some(spot_price(&i.instance_type, &i.zone))), "{:?}", asg.instances);
    assert!(close(c.cost.total.hourly, system.cost.hourly + asg.cost.hourly), "{:?}", c.cost);
    let saving = asg.instances.iter().map(|i| od(&i.instance_type) - spot_price(&i.instance_type, &i.zone)).sum::<f64>() * 730.0;
    assert!(saving > 0.0 && close(c.cost.spot_saving_monthly, saving), "{:?} vs {saving}", c.cost);
    assert_eq!((c.cost.sleep_saving_monthly, c.cost.prices.region.as_str()), (None, "eu-west-1"), "no schedule in the sandbox's settings");

    // Spot risk: each microservice's ready replicas as the API server places them, on spot as EC2 says.
    let flagged = spot_risk_matches_the_cluster(&server, "dev").await;
    assert!(flagged > 0, "dev's workloads prefer spot: some are flagged");
}

#[tokio::test]
async fn prod_shows_its_on_demand_group_and_its_empty_spot_asg_and_an_unknown_env_is_a_404() {
    let _lock = LOCK.lock().await;
    let server = Server::start(&sandbox_env_toml("prod"));
    let (c, nodes) = described(&server, "prod").await;
    let spec = env_spec("prod").unwrap();
    let general = group(&c, GroupKind::Nodegroup, spec.nodegroups[0].name);
    assert_eq!(general.nodes.len(), nodes.len());
    assert_eq!(general.desired, spec.nodegroups[0].desired);
    assert!(general.nodes.iter().all(|n| n.capacity_type.as_deref() == Some("on-demand")));
    // A protected environment has no power settings: no awake sizes.
    assert_eq!(general.awake, None);
    assert_eq!(c.totals.spot_share_pct, 0.0);
    // The hybrid's spot half: an Auto Scaling group with a spot policy, empty.
    let spot = group(&c, GroupKind::Asg, &spec.spot_asg_name().unwrap());
    assert_eq!((spot.min, spot.desired, spot.nodes.len(), spot.instances.len()), (0, 0, 0, 0));
    assert_eq!(spot.mix.as_ref().map(|m| m.on_demand_percent_above_base), Some(0));
    assert!(spot.warnings.is_empty(), "{:?}", spot.warnings);
    assert_eq!(c.groups.len(), 2);
    // Production runs nothing on spot yet: no spot risk, whatever else is flagged.
    let pods = Api::<Pod>::all(kube("prod").await).list(&ListParams::default()).await.unwrap().items;
    spot_risk_matches_the_cluster(&server, "prod").await;
    assert!(c.spot_risk.iter().all(|r| r.on_spot == 0), "{:?}", c.spot_risk);
    // What moving each microservice to spot would save: ready ones first, priced from the pods' requests.
    let ready = spot_moves_are_priced(&c, &pods, &kube("prod").await, &aws("prod").await.ec2).await;
    assert!(ready > 0 && c.cost.spot_ready_saving_monthly > 0.0, "some of prod is ready for spot: {:?}", c.spot_moves);
    let (status, body) = get_json(&server.url("/api/envs/staging/capacity")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("prod"), "{body}");
}

/// (status, JSON body) of a request.
#[tokio::test]
async fn dev_scales_its_spot_asg_changes_its_mix_keeping_the_launch_template_and_refuses_what_it_cannot_do() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let spec = env_spec("dev").unwrap();
    let spot = spec.spot.unwrap();
    let name = spec.spot_asg_name().unwrap();
    let (c, _) = described(&server, "dev").await;
    let original_mix = group(&c, GroupKind::Asg, &name).mix.clone().unwrap();
    let moto = aws("dev").await;
    let before = asg_in_moto(&moto, &name).await;
    assert_eq!(before.0, (spot.min, spot.desired, spot.max));
    let url = server.url(&format!("/api/envs/dev/capacity/asg/{name}"));
    let operator = client_as(OPERATOR);
    let up = json!({"sizes": {"min": spot.min, "desired": spot.desired + 1, "max": spot.max}});

    // Refused, each with why, and nothing changes in moto or the audit log.
    let (s, _) = send(anonymous().patch(&url).json(&up)).await;
    assert_eq!(s, 401);
    let (s, body) = send(client_as(VIEWER).patch(&url).json(&up)).await;
    assert_eq!(s, 403, "a viewer: {body}");
    let (s, body) = send(client().patch(&url).header("sec-fetch-site", "cross-site").json(&up)).await;
    assert_eq!(s, 403, "a cross-site request, even an admin's: {body}");
    let refusals = [
        (json!({"sizes": {"min": 3, "desired": 2, "max": 5}}), 422, "min ≤ desired ≤ max"),
        (
            json!({"sizes": {"min": 0, "desired": spot.desired - 1, "max": spot.max}, "remove_nodes": ["nope"]}),
            422,
            "nope is not a node of this group",
        ),
        (json!({"sizes": up["sizes"], "remove_nodes": ["nope"]}), 422, "desired is not lowered"),
        (
            json!({"sizes": {"min": 0, "desired": spot.desired - 1, "max": spot.max}, "mix": {"on_demand_base": 0, "on_demand_percent_above_base": 0, "spot_allocation_strategy": "price-capacity-optimized", "instance_types": ["m5.large", "m5a.large"]}}),
            422,
            "send the mix in a change of its own",
        ),
        (
            json!({"mix": {"on_demand_base": 0, "on_demand_percent_above_base": 0, "spot_allocation_strategy": "price-capacity-optimized", "instance_types": ["m5.large"]}}),
            422,
            "at least 2",
        ),
        (json!({}), 422, "nothing to change"),
        (json!({"sizes": {"min": 0, "desired": 4}}), 422, "max"),
    ];
    for (body, want, says) in refusals {
        let (s, answer) = send(operator.patch(&url).json(&body)).await;
        assert_eq!(s, want, "{body} → {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(says), "{body} → {answer}");
    }
    let mix_on_managed = json!({"mix": {"on_demand_base": 0, "on_demand_percent_above_base": 0, "spot_allocation_strategy": "price-capacity-optimized", "instance_types": ["m5.large", "m5a.large"]}});
    let (s, answer) = send(operator.patch(server.url("/api/envs/dev/capacity/nodegroup/system")).json(&mix_on_managed)).await;
    assert_eq!(s, 422, "{answer}");
    let ng = &spec.nodegroups[0];
    let lower_managed = json!({"sizes": {"min": 0, "desired": ng.desired - 1, "max": ng.max}, "remove_nodes": ["nope"]});
    let (s, answer) = send(operator.patch(server.url("/api/envs/dev/capacity/nodegroup/system")).json(&lower_managed)).await;
    assert_eq!(s, 422, "a managed group's scale-in checks the nodes named (scale_in_managed.rs runs one): {answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("nope is not a node of this group"), "{answer}");
    let (s, answer) = send(operator.patch(server.url("/api/envs/dev/capacity/asg/platform-qa-spot")).json(&up)).await;
    assert_eq!(s, 404, "another account's group: {answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("platform-qa-spot"), "{answer}");
    let (s, _) = send(operator.patch(server.url("/api/envs/dev/capacity/fleet/x")).json(&up)).await;
    assert_eq!(s, 400, "an unknown kind");
    assert_eq!(asg_in_moto(&moto, &name).await, before, "moto unchanged by refusals");
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    assert_eq!(audit["entries"], json!([]), "nothing audited: {audit}");

    // A dry run says before → after and changes nothing.
    let (s, answer) = send(operator.patch(&url).json(&json!({"sizes": up["sizes"], "dry_run": true}))).await;
    assert_eq!(s, 200, "{answer}");
    let shown: GroupChanged = serde_json::from_value(answer).unwrap();
    assert!(shown.dry_run && shown.sizes_target == SizesTarget::Aws);
    assert_eq!((shown.before.sizes.desired, shown.after.sizes.desired), (spot.desired, spot.desired + 1));
    assert!(
        shown.message.contains(&format!("desired {} / max {} → min {} / desired {}", spot.desired, spot.max, spot.min, spot.desired + 1)),
        "{}",
        shown.message
    );
    assert_eq!(asg_in_moto(&moto, &name).await, before, "moto unchanged by a dry run");

    // Scale out: moto first, then a new node under the group.
    let (s, answer) = send(operator.patch(&url).json(&up)).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(asg_in_moto(&moto, &name).await.0, (spot.min, spot.desired + 1, spot.max));
    // The new spot node on the page.
    group_reaches(&server, "dev", GroupKind::Asg, &name, spot.desired + 1).await;
    // The Environments page's node count is the same live data.
    let c = capacity(&server, "dev").await;
    let (_, envs) = get_json(&server.url("/api/envs")).await;
    let dev = envs["envs"].as_array().unwrap().iter().find(|e| e["name"] == "dev").unwrap().clone();
    assert_eq!(dev["kubernetes"]["result"]["value"]["node_count"], json!(c.totals.nodes), "{dev}");
    assert_eq!(dev["kubernetes"]["result"]["value"]["ready_node_count"], json!(c.totals.ready), "{dev}");

    // The mix, with a higher max in the same change: the launch template and
    // the kept overrides stay; the rest as asked.
    let mix = json!({
        "sizes": {"min": spot.min, "desired": spot.desired + 1, "max": spot.max + 1},
        "mix": {"on_demand_base": 0, "on_demand_percent_above_base": 25, "spot_allocation_strategy": "capacity-optimized", "instance_types": ["m5.large", "t3.large", "m5a.large"]},
    });
    let (s, answer) = send(operator.patch(&url).json(&mix)).await;
    assert_eq!(s, 200, "{answer}");
    assert!(answer["warnings"].to_string().contains("recommended"), "{answer}");
    let described = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(&name).send().await.unwrap();
    let policy = described.auto_scaling_groups()[0].mixed_instances_policy().unwrap().clone();
    let before_policy = before.1.clone();
    let lt = policy.launch_template().unwrap().launch_template_specification().unwrap();
    let lt_id = lt.launch_template_id().or(lt.launch_template_name()).unwrap();
    assert!(before_policy.contains(lt_id), "the same launch template ({lt_id}) as before: {before_policy}");
    let types: Vec<_> = policy.launch_template().unwrap().overrides().iter().filter_map(|o| o.instance_type()).collect();
    assert_eq!(types, ["m5.large", "t3.large", "m5a.large"]);
    let d = policy.instances_distribution().unwrap();
    assert_eq!(
        (d.on_demand_base_capacity(), d.on_demand_percentage_above_base_capacity(), d.spot_allocation_strategy()),
        (Some(0), Some(25), Some("capacity-optimized"))
    );
    assert_eq!(asg_in_moto(&moto, &name).await.0, (spot.min, spot.desired + 1, spot.max + 1), "the sizes and the mix in one change");

    // Both audited, by the operator, with before and after.
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    let entries: Vec<_> = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "capacity.change").collect();
    assert_eq!(entries.len(), 2, "{audit}");
    assert!(entries.iter().all(|e| e["actor"] == "e2e-operator" && e["target"] == format!("asg/{name}")), "{audit}");
    assert_eq!(entries[1]["before"]["sizes"]["desired"], spot.desired);
    assert_eq!(entries[1]["after"]["sizes"]["desired"], spot.desired + 1);
    assert_eq!(entries[0]["after"]["mix"]["on_demand_percent_above_base"], 25);
    assert_eq!(entries[0]["after"]["sizes"]["max"], spot.max + 1);

    // Put dev back: the mix, then the sizes by a safe scale-in.
    let back = json!({"mix": {
        "on_demand_base": original_mix.on_demand_base,
        "on_demand_percent_above_base": original_mix.on_demand_percent_above_base,
        "spot_allocation_strategy": original_mix.spot_allocation_strategy,
        "instance_types": original_mix.instance_types,
    }});
    let (s, answer) = send(operator.patch(&url).json(&back)).await;
    assert_eq!(s, 200, "{answer}");
    scale_in_one(&server, &moto, &name, (spot.min, spot.desired, spot.max)).await;
    assert_eq!(asg_in_moto(&moto, &name).await.0, before.0);
    eventually("dev's spot group back to its nodes", MINUTE, || async {
        let c = capacity(&server, "dev").await;
        let g = group(&c, GroupKind::Asg, &name);
        (g.nodes.len() == spot.desired as usize && c.other_nodes.is_empty()).then_some(())
    })
    .await;
    settled("dev").await;
}

/// Lowers the Auto Scaling group `name` of dev by one node to `sizes` through
/// the panel: the dry run names the node (the youngest of the emptiest, none
/// being cordoned) and changes nothing; the run drains it, then terminates
/// exactly its instance with a decrement of desired; the node leaves the
/// cluster; audited with the node and the sizes.
async fn scale_in_one(server: &Server, moto: &mezame_sandbox::aws::Aws, name: &str, (min, desired, max): (i32, i32, i32)) {
    let url = server.url(&format!("/api/envs/dev/capacity/asg/{name}"));
    let operator = client_as(OPERATOR);
    let change = json!({"sizes": {"min": min, "desired": desired, "max": max}});
    let in_moto = asg_in_moto(moto, name).await;
    let shown = planned_scale_in_of_one(server, GroupKind::Asg, name, &change["sizes"]).await;
    let chosen = shown.scale_in[0].clone();
    assert_eq!(asg_in_moto(moto, name).await, in_moto, "a dry run changes nothing");

    let (s, answer) = send(operator.patch(&url).json(&change)).await;
    assert_eq!(s, 202, "{answer}");
    let started: GroupChanged = serde_json::from_value(answer).unwrap();
    assert_eq!(started.scale_in, shown.scale_in, "the nodes the dry run named");
    let run = started.run.expect("a run").id;
    let done = eventually("the scale-in run ends", 3 * MINUTE, || async {
        let (_, r) = get_json(&server.url(&format!("/api/runs/{run}"))).await;
        (r["state"] != "running").then_some(r)
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["target"], format!("asg/{name}"));
    let steps: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["cordon", "evict", "wait-gone", "terminate"]);
    assert!(done["steps"][3]["message"].as_str().unwrap().contains(&chosen.instance_id), "{done}");
    let out = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.unwrap();
    let g = &out.auto_scaling_groups()[0];
    assert_eq!((g.min_size().unwrap(), g.desired_capacity().unwrap(), g.max_size().unwrap()), (min, desired, max));
    assert!(!g.instances().iter().any(|i| i.instance_id() == Some(chosen.instance_id.as_str())), "exactly that instance left the group");
    assert!(g.mixed_instances_policy().is_some(), "the mix kept");
    // The run's end has AWS described again at once, not at the next 30 s tick.
    eventually("the page's sizes follow the run's end", std::time::Duration::from_secs(5), || async {
        let c = capacity(server, "dev").await;
        let g = group(&c, GroupKind::Asg, name);
        ((g.min, g.desired, g.max) == (min, desired, max) && !g.instances.iter().any(|i| i.id == chosen.instance_id)).then_some(())
    })
    .await;
    let client = kube("dev").await;
    eventually("the chosen node leaves the cluster", MINUTE, || async {
        Api::<Node>::all(client.clone()).get_opt(&chosen.node).await.ok()?.is_none().then_some(())
    })
    .await;
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "capacity.scale_in").cloned().expect("audited");
    assert_eq!(entry["actor"], "e2e-operator", "{entry}");
    assert_eq!(entry["after"]["removed_nodes"][0]["node"], chosen.node.as_str(), "{entry}");
    assert_eq!(entry["after"]["sizes"]["desired"], desired, "{entry}");
}

#[tokio::test]
async fn an_asleep_group_takes_new_awake_sizes_not_aws_and_a_protected_env_needs_an_admin_who_confirms() {
    let _lock = LOCK.lock().await;
    let spec = env_spec("prod").unwrap();
    let name = spec.spot_asg_name().unwrap();
    let moto = aws("prod").await;
    let before = asg_in_moto(&moto, &name).await;
    assert_eq!(before.0, (0, 0, 10));

    // prod as it is: protected.
    let server = Server::start(&sandbox_env_toml("prod"));
    let url = server.url(&format!("/api/envs/prod/capacity/asg/{name}"));
    let up = json!({"sizes": {"min": 0, "desired": 2, "max": 10}, "dry_run": true});
    let (s, body) = send(client_as(OPERATOR).patch(&url).json(&up)).await;
    assert_eq!(s, 403, "an operator in a protected environment: {body}");
    for unconfirmed in [json!({"sizes": up["sizes"]}), json!({"sizes": up["sizes"], "confirm": "dev"})] {
        let (s, body) = send(client().patch(&url).json(&unconfirmed)).await;
        assert_eq!(s, 400, "not confirmed: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("\"confirm\": \"prod\""), "{body}");
    }
    // Reviewing (a dry run) changes nothing and needs no confirmation.
    let (s, body) = send(client().patch(&url).json(&up)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["after"]["sizes"]["desired"], 2);
    assert_eq!(asg_in_moto(&moto, &name).await, before, "prod unchanged");
    let (s, body) =
        send(client_as(OPERATOR).post(server.url("/api/envs/prod/nodes/whatever/cordon")).json(&json!({"confirm": "prod"}))).await;
    assert_eq!(s, 403, "{body}");
    drop(server);

    // The same prod, unprotected, with power settings that wake its spot group to 2: at 0 now, that group is asleep.
    let config = sandbox_env_toml("prod").replace("protected = true", "protected = false")
        + &format!(
            "[env.power]\neks_cluster = \"platform-prod\"\nnamespaces = [\"platform\"]\ncapacity = [\n  \
             {{ kind = \"nodegroup\", name = \"general\", min = 5, desired = 10, max = 20 }},\n  \
             {{ kind = \"asg\", name = \"{name}\", min = 0, desired = 2, max = 10 }},\n]\n"
        );
    let server = Server::start(&config);
    let url = server.url(&format!("/api/envs/prod/capacity/asg/{name}"));
    let three = json!({"sizes": {"min": 0, "desired": 3, "max": 10}});
    let (s, body) = send(client_as(OPERATOR).patch(&url).json(&three)).await;
    assert_eq!(s, 403, "what a wake restores is a setting: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("asleep"), "{body}");
    let (s, body) = send(client().patch(&url).json(&three)).await;
    assert_eq!(s, 200, "{body}");
    let changed: GroupChanged = serde_json::from_value(body).unwrap();
    assert_eq!(changed.sizes_target, SizesTarget::AwakeSizes);
    assert_eq!((changed.before.sizes.desired, changed.after.sizes.desired), (2, 3));
    assert!(changed.message.contains("next wake"), "{}", changed.message);
    assert_eq!(asg_in_moto(&moto, &name).await, before, "AWS untouched");
    let (_, power) = get_json(&server.url("/api/envs/prod/power")).await;
    let awake = power["settings"]["capacity"].as_array().unwrap().iter().find(|g| g["name"] == name.as_str()).unwrap().clone();
    assert_eq!((awake["min"].clone(), awake["desired"].clone(), awake["max"].clone()), (json!(0), json!(3), json!(10)));
    let c = capacity(&server, "prod").await;
    assert_eq!(group(&c, GroupKind::Asg, &name).awake.map(|a| a.desired), Some(3));
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "power.settings" && e["actor"] == "e2e-admin"), "{audit}");
}

#[tokio::test]
async fn an_operator_cordons_and_uncordons_a_node_and_the_page_follows() {
    let _lock = LOCK.lock().await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let (c, _) = described(&server, "dev").await;
    let node = group(&c, GroupKind::Nodegroup, "system").nodes[0].name.clone();
    let nodes = Api::<Node>::all(kube("dev").await);
    let unschedulable = || async { nodes.get(&node).await.unwrap().spec.and_then(|s| s.unschedulable).unwrap_or(false) };
    let operator = client_as(OPERATOR);
    let at = |what: &str| server.url(&format!("/api/envs/dev/nodes/{node}/{what}"));
    let mut changes = Sse::open_with(&client_as(VIEWER), &server.url("/api/envs/dev/capacity/events")).await;
    let first = changes.next(Duration::from_secs(5)).await.expect("a cue as the stream opens");
    assert_eq!(first.event, "changed", "{first:?}");

    let (s, _) = send(client_as(VIEWER).post(at("cordon")).json(&json!({}))).await;
    assert_eq!(s, 403);
    assert!(!unschedulable().await);
    let (s, body) = send(operator.post(at("cordon")).json(&json!({}))).await;
    assert_eq!((s, body["changed"].clone(), body["cordoned"].clone()), (200, json!(true), json!(true)), "{body}");
    assert!(unschedulable().await, "the API server has it unschedulable");
    let (s, body) = send(operator.post(at("cordon")).json(&json!({}))).await;
    assert_eq!((s, body["changed"].clone()), (200, json!(false)), "already cordoned: {body}");
    // The page reads the view again on each cue of the stream: one comes, and the view then has it.
    let cordoned = async {
        while let Some(e) = changes.next(Duration::from_secs(10)).await {
            assert_eq!(e.event, "changed", "{e:?}");
            let c = capacity(&server, "dev").await;
            if group(&c, GroupKind::Nodegroup, "system").nodes.iter().any(|n| n.name == node && n.cordoned) {
                return true;
            }
        }
        false
    };
    assert!(cordoned.await, "a cue came, after which the view showed the node cordoned");
    let (s, body) = send(operator.post(at("uncordon")).json(&json!({}))).await;
    assert_eq!((s, body["changed"].clone(), body["cordoned"].clone()), (200, json!(true), json!(false)), "{body}");
    assert!(!unschedulable().await);

    let (s, body) = send(operator.post(server.url("/api/envs/dev/nodes/no-such-node/cordon")).json(&json!({}))).await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = send(operator.post(server.url("/api/envs/dev/nodes/Not_A_Node/cordon")).json(&json!({}))).await;
    assert_eq!(s, 400, "{body}");
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    let actions: Vec<_> = audit["entries"].as_array().unwrap().iter().map(|e| (e["action"].clone(), e["target"].clone())).collect();
    assert_eq!(
        actions,
        [(json!("node.uncordon"), json!(format!("node/{node}"))), (json!("node.cordon"), json!(format!("node/{node}")))],
        "one entry per change, none for a no-op or a refusal"
    );
}
