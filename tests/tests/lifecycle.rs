//! Waking and sleeping `dev` against the sandbox's real API server, real Argo
//! CD and moto: one run at a time (10 concurrent requests → one run), prod
//! refuses to sleep, invalid settings change nothing, a load balancer the
//! controller cannot delete stops the sleep before any node goes, retry
//! finishes it, Argo CD settings deleted while asleep come back, and the wake
//! restores every replica count, sync policy, CronJob, Ingress, node and database.
//! A wake waits for nodes slow to become Ready; killed during that wait, it is
//! finished by one runner (a second replica leaves a leased run alone).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, ListParams};
use mezame_e2e::cluster::{LOCK, MINUTE, SlowNodes, apps, aws, scale_addon, settled};
use mezame_e2e::runs::{KEY, finished, post, send, server};
use mezame_e2e::{Server, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::platform::{APP_NAMESPACE, GATEWAY_NAMESPACE, env_spec};
use mezame_shared::power::{Power, PowerState, Run, RunState, StepState};
use serde_json::{Value, json};

async fn run_of(server: &Server, id: i64) -> Run {
    let (_, body) = get_json(&server.url(&format!("/api/runs/{id}"))).await;
    serde_json::from_value(body).expect("a Run")
}

/// Security groups the load balancer controller manages for dev's load balancers.
async fn managed_security_groups(moto: &mezame_sandbox::aws::Aws) -> Vec<String> {
    let out = moto
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:ingress.k8s.aws/resource").values("ManagedLBSecurityGroup").build())
        .send()
        .await
        .unwrap();
    out.security_groups().iter().filter_map(|g| g.group_name().map(str::to_string)).collect()
}

fn step<'r>(run: &'r Run, name: &str) -> &'r mezame_shared::power::RunStep {
    run.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("step {name} in {run:?}"))
}

/// What the wake must give back.
#[derive(Debug, PartialEq)]
struct Snapshot {
    replicas: BTreeMap<String, i32>,
    sync_policies: BTreeMap<String, Value>,
    suspended: BTreeMap<String, bool>,
}

async fn snapshot(client: &kube::Client) -> Snapshot {
    let mut replicas = BTreeMap::new();
    for ns in [APP_NAMESPACE, GATEWAY_NAMESPACE] {
        for d in Api::<Deployment>::namespaced(client.clone(), ns).list(&ListParams::default()).await.unwrap() {
            replicas.insert(format!("{ns}/{}", d.metadata.name.unwrap()), d.spec.unwrap().replicas.unwrap_or(1));
        }
    }
    let sync_policies = apps(client)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| (a.metadata.name.clone().unwrap(), a.data["spec"]["syncPolicy"].clone()))
        .collect();
    let suspended = Api::<CronJob>::namespaced(client.clone(), APP_NAMESPACE)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| (c.metadata.name.unwrap(), c.spec.suspend.unwrap_or(false)))
        .collect();
    Snapshot { replicas, sync_policies, suspended }
}

async fn ingress_hostname(client: &kube::Client) -> Option<String> {
    let list = Api::<Ingress>::namespaced(client.clone(), GATEWAY_NAMESPACE).list(&ListParams::default()).await.unwrap();
    list.items.first()?.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.hostname.clone()
}

/// A request to the server as if DNS had sent `api.dev.iot-inventory.example` there: (status, Location).
async fn as_public_host(url: &str, method: reqwest::Method) -> (u16, String) {
    let direct = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = direct.request(method, url).header("host", "api.dev.iot-inventory.example").send().await.unwrap();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status().as_u16(), location)
}

/// dev's public hostname on the Environments card.
async fn public_host(server: &Server) -> Value {
    let (_, envs) = get_json(&server.url("/api/envs")).await;
    let dev = envs["envs"].as_array().unwrap().iter().find(|e| e["name"] == "dev").unwrap().clone();
    assert_eq!(dev["public"]["status"], "ok", "{dev}");
    let hosts = dev["public"]["value"].as_array().unwrap().clone();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!(hosts[0]["host"], "api.dev.iot-inventory.example");
    hosts[0].clone()
}

async fn node_count(client: &kube::Client) -> usize {
    Api::<Node>::all(client.clone()).list(&ListParams::default()).await.unwrap().items.len()
}

#[tokio::test]
async fn sleep_and_wake_dev() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let client = kube("dev").await;
    let moto = aws("dev").await;
    let spec = env_spec("dev").unwrap();
    let before = snapshot(&client).await;
    assert!(before.sync_policies.values().all(|p| p["automated"]["selfHeal"] == json!(true)), "dev self-heals: {before:?}");
    let nodes_awake = node_count(&client).await;
    assert!(nodes_awake >= 5, "{nodes_awake} nodes");
    let alb_before = ingress_hostname(&client).await.expect("dev's ALB hostname");
    let pointed = || async { mezame_e2e::dns::answer(&moto, spec).await };
    eventually("dev's public hostname registered at its ALB", MINUTE, || async {
        (pointed().await.as_deref() == Some(alb_before.as_str())).then_some(())
    })
    .await;
    let server = server();
    let api = |p: &str| server.url(p);

    // prod never sleeps; bad settings are refused and change nothing.
    let (status, body) = post(&api("/api/envs/prod/sleep")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("protected"), "{body}");
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    let power: Power = serde_json::from_value(power).unwrap();
    assert_eq!(power.state, PowerState::Awake, "{power:?}");
    let settings = power.settings.clone().expect("dev has power settings from the configuration");
    let mut bad = serde_json::to_value(&settings).unwrap();
    bad["capacity"][0]["min"] = json!(5);
    bad["capacity"].as_array_mut().unwrap().push(json!({"kind": "nodegroup", "name": "nope", "min": 0, "desired": 0, "max": 1}));
    bad["schedule"] = json!({"days": ["mon"], "wake": "08:00", "sleep": "20:00", "time_zone": "Mars/Olympus"});
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(bad)).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("min ≤ desired ≤ max") && message.contains("Mars/Olympus"), "{message}");
    let (_, after) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(after["settings"], serde_json::to_value(&settings).unwrap(), "a refused PUT changes nothing");

    // Ten concurrent wakes: one run, nine 409s naming it.
    let wake_url = api("/api/envs/dev/wake");
    let answers = futures::future::join_all((0..10).map(|_| post(&wake_url))).await;
    let started: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, b)| b).collect();
    assert_eq!(started.len(), 1, "{answers:?}");
    let id = started[0]["id"].as_i64().unwrap();
    let conflicts: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 409).map(|(_, b)| b).collect();
    assert_eq!(conflicts.len(), 9, "{answers:?}");
    assert!(conflicts.iter().all(|b| b["error"]["run_id"] == json!(id)), "{conflicts:?}");
    let run = finished(&server, id, 3 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "a wake of an awake env changes nothing and succeeds: {run:#?}");

    // The load balancer controller cannot delete: the sleep stops at the
    // Ingress step, and no node group is touched.
    scale_addon(&client, "kube-system", "aws-load-balancer-controller", 0).await;
    let mut quick = serde_json::to_value(&settings).unwrap();
    quick["timeouts"]["load_balancers"] = json!(15);
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(quick)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&api("/api/envs/dev/sleep")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let run = finished(&server, id, 3 * MINUTE).await;
    assert_eq!(run.state, RunState::Failed, "{run:#?}");
    let failed = step(&run, "delete-ingresses");
    assert_eq!(failed.state, StepState::Failed);
    let why = failed.message.as_deref().unwrap();
    assert!(why.contains("still exists") && why.contains("node groups were left running"), "{why}");
    assert_eq!(step(&run, "scale-nodes").state, StepState::Pending);
    let ng = moto.eks.describe_nodegroup().cluster_name(spec.eks_cluster()).nodegroup_name("system").send().await.unwrap();
    assert_eq!(ng.nodegroup().unwrap().scaling_config().unwrap().desired_size(), Some(2), "system node group untouched");
    let asg = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(spec.spot_asg_name().unwrap()).send().await.unwrap();
    assert_eq!(asg.auto_scaling_groups()[0].desired_capacity(), Some(3), "spot ASG untouched");
    assert_eq!(node_count(&client).await, nodes_awake, "every node still there");
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["state"], json!("failed"), "{power}");

    // The controller is back: retry finishes the sleep from the failed step.
    scale_addon(&client, "kube-system", "aws-load-balancer-controller", 1).await;
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(serde_json::to_value(&settings).unwrap())).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&api(&format!("/api/runs/{id}/retry"))).await;
    assert_eq!(status, 200, "{body}");
    let run = finished(&server, id, 5 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    assert_eq!(step(&run, "record").attempts, 1, "steps done before the failure are not repeated");
    let lb_gone = step(&run, "delete-ingresses").finished_at.unwrap();
    let nodes_go = step(&run, "scale-nodes").started_at.unwrap();
    assert!(nodes_go >= lb_gone, "node groups were scaled ({nodes_go}) before the load balancer was gone ({lb_gone})");
    let lbs = moto.elb.describe_load_balancers().send().await.unwrap();
    assert!(lbs.load_balancers().is_empty(), "no load balancer left in AWS: {:?}", lbs.load_balancers());
    let groups = managed_security_groups(&moto).await;
    assert!(groups.is_empty(), "no load balancer security group left to keep the VPC: {groups:?}");

    // Asleep: nothing runs, Argo CD is paused, and stays so.
    let asleep = snapshot(&client).await;
    assert!(asleep.replicas.values().all(|r| *r == 0), "{asleep:?}");
    assert!(asleep.sync_policies.values().all(|p| p.get("automated").is_none_or(Value::is_null)), "{asleep:?}");
    assert!(asleep.suspended.values().all(|s| *s), "{asleep:?}");
    eventually("every node gone", MINUTE, || async { (node_count(&client).await == 0).then_some(()) }).await;
    let db = moto.rds.describe_db_instances().db_instance_identifier("platform-dev-db").send().await.unwrap();
    assert_eq!(db.db_instances()[0].db_instance_status(), Some("stopped"));
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["state"], json!("asleep"), "{power}");
    // The public hostname points at the asleep page, set before the load balancer went.
    assert_eq!(pointed().await.as_deref(), Some(mezame_sandbox::config::ASLEEP_TARGET), "Route 53 points at the asleep page");
    assert!(step(&run, "point-dns-asleep").finished_at.unwrap() <= step(&run, "delete-ingresses").started_at.unwrap());
    let card = public_host(&server).await;
    assert_eq!(
        (card["state"].as_str(), card["points_to"].as_str()),
        (Some("asleep_page"), Some(mezame_sandbox::config::ASLEEP_TARGET)),
        "{card}"
    );
    // What DNS now sends to mezame: a page goes to the asleep page, an API call is told where to wake dev.
    let (status, location) = as_public_host(&api("/orders?page=2"), reqwest::Method::GET).await;
    assert_eq!(status, 307);
    assert_eq!(location, server.url("/asleep/dev"));
    let (status, _) = as_public_host(&api("/api/orders"), reqwest::Method::POST).await;
    assert_eq!(status, 503, "a request meant for the sleeping app is not taken as one for mezame");

    // Argo CD settings lost while asleep.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "argocd");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "argocd");
    let repo = secrets
        .list(&ListParams::default().labels("argocd.argoproj.io/secret-type=repository"))
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("a repository Secret");
    let repo_name = repo.metadata.name.clone().unwrap();
    cms.delete("argocd-rbac-cm", &DeleteParams::default()).await.unwrap();
    secrets.delete(&repo_name, &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(snapshot(&client).await.replicas.values().all(|r| *r == 0), "Argo CD scaled nothing back up");

    // Wake: everything as before; its progress arrives over SSE until it ends.
    let (status, body) = post(&api("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let mut events = mezame_e2e::sse::Sse::open(&api(&format!("/api/runs/{id}/events"))).await;
    let mut seen: Vec<Run> = Vec::new();
    while let Some(e) = events.next(8 * MINUTE).await {
        assert_eq!(e.event, "run");
        seen.push(serde_json::from_str(&e.data).expect("a Run"));
    }
    let done_counts: Vec<usize> = seen.iter().map(|r| r.steps.iter().filter(|s| s.state == StepState::Done).count()).collect();
    assert!(seen.len() >= 3 && done_counts.windows(2).all(|w| w[0] <= w[1]), "steps turn done one after the other: {done_counts:?}");
    assert_eq!(seen.last().map(|r| r.state), Some(RunState::Succeeded), "the stream ends with the finished run");
    let run = finished(&server, id, 8 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let restored = step(&run, "restore-argocd").message.clone().unwrap();
    assert!(restored.contains("argocd-rbac-cm") && restored.contains(&repo_name), "{restored}");
    let back = secrets.get(&repo_name).await.unwrap();
    assert_eq!(back.data, repo.data, "the repository Secret comes back with its data");
    assert_eq!(snapshot(&client).await, before, "replicas, sync policies and CronJobs as before the sleep");
    let alb_after = ingress_hostname(&client).await.expect("an ALB hostname is published");
    assert!(alb_after.ends_with(".elb.amazonaws.com") && alb_after != alb_before, "a new load balancer: {alb_before} → {alb_after}");
    // Succeeded only once the zone answers the new load balancer.
    assert_eq!(pointed().await, Some(alb_after.clone()), "Route 53 points at the new ALB when the wake succeeds");
    let dns = step(&run, "point-dns");
    assert!(dns.message.as_deref().is_some_and(|m| m.contains(&alb_after) && m.contains("1 changed")), "{dns:?}");
    let card = public_host(&server).await;
    assert_eq!((card["state"].as_str(), card["points_to"].as_str()), (Some("live"), Some(alb_after.as_str())), "{card}");
    assert_eq!(as_public_host(&api("/orders"), reqwest::Method::GET).await.0, 200, "awake: no more redirect (the UI answers)");
    assert_eq!(managed_security_groups(&moto).await.len(), 1, "the new load balancer has its security group");
    assert_eq!(node_count(&client).await, nodes_awake);
    let spot = mezame_e2e::cluster::nodes_with(&client, "eks.amazonaws.com/capacityType=SPOT").await;
    assert_eq!(spot.len(), 3, "the spot ASG comes back as spot capacity");
    let db = moto.rds.describe_db_instances().db_instance_identifier("platform-dev-db").send().await.unwrap();
    assert_eq!(db.db_instances()[0].db_instance_status(), Some("available"));
    settled("dev").await;
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["state"], json!("awake"), "{power}");
    assert!(power["expected_wake_secs"].as_f64().is_some(), "{power}");
}

/// `POST …/update-config` lines in dev's moto request log: each is one
/// `eks:UpdateNodegroupConfig` call (moto keeps no call count of its own).
fn nodegroup_updates() -> usize {
    let log = mezame_e2e::sandbox().env_dir("dev").join("logs/moto.log");
    std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .lines()
        .filter(|l| l.contains("POST /clusters/platform-dev/node-groups/system/update-config"))
        .count()
}

async fn generations(client: &kube::Client) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for d in Api::<Deployment>::namespaced(client.clone(), APP_NAMESPACE).list(&ListParams::default()).await.unwrap() {
        out.insert(format!("deployment/{}", d.metadata.name.unwrap()), d.metadata.generation.unwrap_or(0));
    }
    for c in Api::<CronJob>::namespaced(client.clone(), APP_NAMESPACE).list(&ListParams::default()).await.unwrap() {
        out.insert(format!("cronjob/{}", c.metadata.name.unwrap()), c.metadata.generation.unwrap_or(0));
    }
    out
}

#[tokio::test]
async fn a_wake_killed_during_the_node_wait_is_finished_once_by_another_runner() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let client = kube("dev").await;
    let mut server = server();
    let (status, body) = post(&server.url("/api/envs/dev/sleep")).await;
    assert_eq!(status, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let updates_asleep = nodegroup_updates();
    let generations_asleep = generations(&client).await;

    let slow = SlowNodes::new("dev", 20);
    let (status, body) = post(&server.url("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let waiting = eventually("the wake waits for nodes", MINUTE, || async {
        let run = run_of(&server, id).await;
        (step(&run, "wait-nodes").state == StepState::Running).then_some(run)
    })
    .await;
    let driver = waiting.runner.clone().expect("the run names its runner");
    // A second replica on the same database leaves the leased run to its runner.
    let replica = server.replica();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let at_kill = run_of(&replica, id).await;
    assert_eq!(at_kill.runner.as_deref(), Some(driver.as_str()), "after two leases, still driven by its runner: {at_kill:#?}");
    assert_eq!(step(&at_kill, "wait-nodes").state, StepState::Running, "nodes are slow: still waiting");
    assert_eq!(step(&at_kill, "restore-nodes").state, StepState::Done);
    assert_ne!(step(&at_kill, "restore-workloads").state, StepState::Done);
    // kill -9 the runner while the run waits for the nodes, and start it again:
    // once the lease has expired, one of the two servers finishes the run.
    server.kill_and_restart();

    let run = finished(&replica, id, 5 * MINUTE).await;
    drop(slow);
    assert_eq!(run.state, RunState::Succeeded, "the run is finished after the kill: {run:#?}");
    assert!(run.runner.as_deref().is_some_and(|r| r != driver), "taken over by another runner: {:?}", run.runner);
    assert_eq!(step(&run, "restore-nodes").attempts, 1, "a step done before the kill is not run again");
    assert_eq!(step(&run, "wait-nodes").attempts, 2, "the step the kill interrupted runs again");
    assert_eq!(nodegroup_updates(), updates_asleep + 1, "eks:UpdateNodegroupConfig called once by the wake");
    let after = generations(&client).await;
    for (name, before) in &generations_asleep {
        assert_eq!(after[name], before + 1, "{name}: changed exactly once by the wake");
    }
    settled("dev").await;
}

/// A server stopped as a deploy stops it (SIGTERM) during a wake releases the
/// run at once: another replica takes it over long before the lease (30 s)
/// would have expired, and finishes it.
#[tokio::test]
async fn a_server_shutting_down_releases_its_run_to_another_replica() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let mut server = Server::start(&format!("backup_keys = [\"{KEY}\"]\nrun_lease_secs = 30\n{}", sandbox_env_toml("dev")));
    let (status, body) = post(&server.url("/api/envs/dev/sleep")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await.state, RunState::Succeeded);
    let replica = server.replica();
    let slow = SlowNodes::new("dev", 25);
    let (status, body) = post(&server.url("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let waiting = eventually("the wake waits for nodes", MINUTE, || async {
        let run = run_of(&replica, id).await;
        (step(&run, "wait-nodes").state == StepState::Running).then_some(run)
    })
    .await;
    let driver = waiting.runner.clone().expect("the run names its runner");
    let took = server.terminate();
    println!("SIGTERM → exited in {} ms", took.as_millis());
    assert!(took < Duration::from_secs(12), "a graceful shutdown has a deadline: {took:?}");
    let released = std::time::Instant::now();
    // The replica looks for runs nobody drives every half lease (15 s); an
    // unreleased lease, renewed at most 10 s before the exit, would hold ≥ 20 s.
    let taken = eventually("the replica takes the released run over", Duration::from_secs(17), || async {
        let run = run_of(&replica, id).await;
        run.runner.as_deref().is_some_and(|r| r != driver).then_some(run)
    })
    .await;
    println!("taken over {} ms after the exit (lease 30 s)", released.elapsed().as_millis());
    assert!(released.elapsed() < Duration::from_secs(18), "before the lease could have expired");
    assert_eq!(taken.state, RunState::Running);
    let run = finished(&replica, id, 5 * MINUTE).await;
    drop(slow);
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    settled("dev").await;
}

/// The seed's wake failure: nodes slow to become Ready. The wake waits for
/// them (a condition, not a fixed sleep), then for Argo CD on them, and every
/// microservice ends Running.
#[tokio::test]
async fn a_wake_waits_for_slow_nodes_and_every_microservice_ends_running() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let client = kube("dev").await;
    let server = server();
    let (status, body) = post(&server.url("/api/envs/dev/sleep")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await.state, RunState::Succeeded);
    assert_eq!(node_count(&client).await, 0);

    let slow = SlowNodes::new("dev", 30);
    let (status, body) = post(&server.url("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    eventually("the wake waits for nodes", MINUTE, || async {
        (step(&run_of(&server, id).await, "wait-nodes").state == StepState::Running).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(15)).await;
    let run = run_of(&server, id).await;
    assert_eq!((run.state, step(&run, "wait-nodes").state), (RunState::Running, StepState::Running), "still waiting: {run:#?}");
    assert_eq!(node_count(&client).await, 0, "no node has joined yet");
    assert_eq!(step(&run, "wait-addons").state, StepState::Pending, "nothing goes on before the nodes");

    let run = finished(&server, id, 5 * MINUTE).await;
    drop(slow);
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let wait = step(&run, "wait-nodes");
    let waited = (wait.finished_at.unwrap() - wait.started_at.unwrap()).num_seconds();
    assert!(waited >= 20, "wait-nodes waited {waited} s for nodes that take 30 s to boot");
    assert!(step(&run, "wait-addons").started_at.unwrap() >= wait.finished_at.unwrap());
    let argocd = Api::<Pod>::namespaced(client.clone(), "argocd").list(&ListParams::default()).await.unwrap();
    assert!(
        !argocd.items.is_empty() && argocd.items.iter().all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")),
        "Argo CD runs"
    );
    settled("dev").await;
    let pods = Api::<Pod>::namespaced(client.clone(), APP_NAMESPACE).list(&ListParams::default()).await.unwrap();
    let mut running = std::collections::BTreeSet::new();
    for p in &pods.items {
        let owner = p.metadata.owner_references.as_ref().and_then(|o| o.first()).map(|o| o.kind.as_str());
        if owner == Some("ReplicaSet") && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            running.insert(p.metadata.labels.as_ref().and_then(|l| l.get("app.kubernetes.io/name")).cloned().unwrap_or_default());
        }
    }
    let deployments = Api::<Deployment>::namespaced(client.clone(), APP_NAMESPACE).list(&ListParams::default()).await.unwrap();
    let microservices: std::collections::BTreeSet<String> = deployments.items.iter().filter_map(|d| d.metadata.name.clone()).collect();
    assert_eq!(microservices.len(), 17);
    assert_eq!(running, microservices, "every microservice has Running pods");
}
