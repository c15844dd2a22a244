//! The sandbox itself: the platform is really there (bring-up), nodes follow
//! AWS capacity, the load balancer leaks without its controller, CronJob runs
//! end as seeded. Destructive tests use `qa`; the tests run one at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use mezame_e2e::cluster::*;
use mezame_e2e::{eventually, kube};
use mezame_sandbox::aws::Aws;
use mezame_sandbox::platform::{APP_NAMESPACE, MICROSERVICES, ZONES, env_spec};
use mezame_sandbox::up::app_ready;
use serde_json::json;

/// Checks the labels and provider ID EKS would give a node, against moto.
async fn assert_eks_node(aws: &Aws, n: &Node, capacity: &str) {
    let labels = n.metadata.labels.as_ref().unwrap();
    let name = n.metadata.name.as_deref().unwrap();
    assert_eq!(labels.get("eks.amazonaws.com/capacityType").map(String::as_str), Some(capacity), "{name}");
    let zone = labels.get("topology.kubernetes.io/zone").expect("a zone label");
    assert!(ZONES.contains(&zone.as_str()), "{name}: zone {zone}");
    assert!(labels.contains_key("node.kubernetes.io/instance-type"), "{name}");
    let provider = n.spec.as_ref().and_then(|s| s.provider_id.clone()).expect("a provider ID");
    let rest = provider.strip_prefix("aws:///").unwrap_or_else(|| panic!("{name}: provider ID {provider}"));
    let (pzone, instance) = rest.split_once('/').unwrap();
    assert_eq!(pzone, zone, "{name}");
    assert!(instance.starts_with("i-"), "{provider}");
    let found = aws.ec2.describe_instances().instance_ids(instance).send().await.unwrap();
    let inst = found.reservations()[0].instances()[0].clone();
    assert_eq!(inst.placement().unwrap().availability_zone(), Some(zone.as_str()));
    assert_eq!(inst.private_dns_name(), Some(name), "the node is named after the instance's private DNS name");
    assert_eq!(labels.get("node.kubernetes.io/instance-type").map(String::as_str), inst.instance_type().map(|t| t.as_str()));
}

#[tokio::test]
async fn bring_up_the_platform_is_there() {
    let _lock = LOCK.lock().await;
    for env in ["dev", "prod"] {
        let client = kube(env).await;
        assert_eq!(client.apiserver_version().await.unwrap().git_version, "v1.36.3");
        settled(env).await;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), APP_NAMESPACE);
        let names: BTreeSet<String> = deployments
            .list(&ListParams::default().labels("app.kubernetes.io/part-of=iot-platform"))
            .await
            .unwrap()
            .items
            .iter()
            .filter_map(|d| d.metadata.name.clone())
            .collect();
        let expected: BTreeSet<String> = MICROSERVICES.iter().map(|m| m.name.to_string()).collect();
        assert_eq!(names, expected, "{env}: the 17 microservices");
        let mappings: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            APP_NAMESPACE,
            &kube::discovery::ApiResource {
                group: "getambassador.io".into(),
                version: "v3alpha1".into(),
                api_version: "getambassador.io/v3alpha1".into(),
                kind: "Mapping".into(),
                plural: "mappings".into(),
            },
        );
        let mappings = mappings.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(mappings.len(), 16, "{env}: a Mapping per microservice but the worker");
        for m in &mappings {
            let ms = MICROSERVICES.iter().find(|s| Some(s.name) == m.metadata.name.as_deref()).unwrap();
            assert_eq!(m.data["spec"]["prefix"].as_str(), ms.prefix);
            assert!(m.data["spec"]["service"].as_str().unwrap().contains(ms.name));
        }
        let list = apps(&client).list(&ListParams::default()).await.unwrap().items;
        assert_eq!(list.len(), 18, "{env}: an Application per microservice and Ambassador");
        for a in &list {
            assert!(app_ready(a), "{env}: {:?} {}", a.metadata.name, a.data["status"]["sync"]);
            let deployed = &a.data["status"]["history"][0];
            assert!(deployed["revision"].as_str().is_some_and(|r| r.len() == 40), "{deployed}");
        }
        // The ALB in front of Ambassador: created in moto, published on the Ingress.
        let ing = Api::<Ingress>::namespaced(client.clone(), "ambassador").get("ambassador").await.unwrap();
        let host = ing.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0].hostname.clone().unwrap();
        let lbs = aws(env).await.elb.describe_load_balancers().send().await.unwrap();
        let lb = lbs.load_balancers().iter().find(|lb| lb.dns_name().map(str::to_lowercase).as_deref() == Some(host.as_str()));
        let lb = lb.unwrap_or_else(|| panic!("{env}: no load balancer with DNS name {host}"));
        assert!(lb.load_balancer_name().unwrap().starts_with("k8s-ambassad-ambassad-"));
    }
    // Node groups as PLATFORM.md describes them.
    let prod = kube("prod").await;
    let general = nodes_with(&prod, "eks.amazonaws.com/nodegroup=general").await;
    assert_eq!(general.len(), 10, "prod: managed node group, desired 10");
    let prod_aws = aws("prod").await;
    for n in &general {
        assert!(ready(n));
        assert_eq!(n.metadata.labels.as_ref().unwrap()["node.kubernetes.io/instance-type"], "t3.large");
        assert_eq!(n.metadata.labels.as_ref().unwrap()["eks.amazonaws.com/capacityType"], "ON_DEMAND");
        assert_eq!(n.metadata.labels.as_ref().unwrap()["eks.amazonaws.com/nodegroup"], "general");
    }
    assert_eks_node(&prod_aws, &general[0], "ON_DEMAND").await;
    let dev = kube("dev").await;
    assert_eq!(nodes_with(&dev, "eks.amazonaws.com/nodegroup=system").await.len(), 2);
    let spot = nodes_with(&dev, "sandbox.mezame.dev/asg=platform-dev-spot").await;
    assert_eq!(spot.len(), 3, "dev: the spot ASG, desired 3");
    let taints = spot[0].spec.as_ref().unwrap().taints.clone().unwrap();
    assert_eq!(taints[0].key, "node.kubernetes.io/lifecycle");
    assert_eq!(taints[0].effect, "NoSchedule");
}

#[tokio::test]
async fn capacity_managed_node_group_and_spot_asg_become_nodes() {
    let _lock = LOCK.lock().await;
    let client = kube("qa").await;
    let aws = aws("qa").await;
    let cluster = env_spec("qa").unwrap().eks_cluster();
    let subnets: Vec<String> = aws
        .ec2
        .describe_subnets()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("kubernetes.io/role/internal-elb").build())
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    let scaling = |desired| aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(0).max_size(5).desired_size(desired).build();
    let _ = aws.eks.delete_nodegroup().cluster_name(&cluster).nodegroup_name("capacity-test").send().await;
    aws.eks
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("capacity-test")
        .scaling_config(scaling(0))
        .set_subnets(Some(subnets))
        .instance_types("t3.large")
        .capacity_type(aws_sdk_eks::types::CapacityTypes::OnDemand)
        .node_role("arn:aws:iam::222222222222:role/test")
        .send()
        .await
        .unwrap();
    let selector = "eks.amazonaws.com/nodegroup=capacity-test";
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(nodes_with(&client, selector).await.is_empty(), "desired 0: no node");
    aws.eks
        .update_nodegroup_config()
        .cluster_name(&cluster)
        .nodegroup_name("capacity-test")
        .scaling_config(scaling(3))
        .send()
        .await
        .unwrap();
    let nodes = eventually("3 Ready nodes of capacity-test", MINUTE, || async {
        let n = nodes_with(&client, selector).await;
        (n.len() == 3 && n.iter().all(ready)).then_some(n)
    })
    .await;
    for n in &nodes {
        assert_eks_node(&aws, n, "ON_DEMAND").await;
    }
    // Pods on those nodes, then the node group goes back to 0.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let probe: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "capacity-probe"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "capacity-probe"}},
            "template": {"metadata": {"labels": {"app": "capacity-probe"}},
                "spec": {"nodeSelector": {"eks.amazonaws.com/nodegroup": "capacity-test"},
                    "containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap();
    let _ = deployments.delete("capacity-probe", &DeleteParams::default()).await;
    deployments.create(&PostParams::default(), &probe).await.unwrap();
    let names = node_names(&nodes);
    eventually("3 probe pods Running on capacity-test nodes", MINUTE, || async {
        let pods =
            Api::<Pod>::namespaced(client.clone(), "default").list(&ListParams::default().labels("app=capacity-probe")).await.ok()?;
        let running = pods
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some_and(|n| names.contains(n)))
            .count();
        (running == 3).then_some(())
    })
    .await;
    aws.eks
        .update_nodegroup_config()
        .cluster_name(&cluster)
        .nodegroup_name("capacity-test")
        .scaling_config(scaling(0))
        .send()
        .await
        .unwrap();
    eventually("capacity-test nodes and their pods gone", MINUTE, || async {
        (nodes_with(&client, selector).await.is_empty() && pods_on(&client, &names).await.is_empty()).then_some(())
    })
    .await;
    deployments.delete("capacity-probe", &DeleteParams::default()).await.unwrap();
    aws.eks.delete_nodegroup().cluster_name(&cluster).nodegroup_name("capacity-test").send().await.unwrap();

    // The self-managed spot ASG: 3 → 0 → 3.
    let asg = env_spec("qa").unwrap().spot_asg_name().unwrap();
    let selector = format!("sandbox.mezame.dev/asg={asg}");
    let before = eventually("3 Ready spot nodes", MINUTE, || async {
        let n = nodes_with(&client, &selector).await;
        (n.len() == 3 && n.iter().all(ready)).then_some(n)
    })
    .await;
    let before = node_names(&before);
    assert!(!pods_on(&client, &before).await.is_empty(), "microservices run on the spot nodes");
    aws.asg.set_desired_capacity().auto_scaling_group_name(&asg).desired_capacity(0).send().await.unwrap();
    eventually("spot nodes and their pods gone", MINUTE, || async {
        (nodes_with(&client, &selector).await.is_empty() && pods_on(&client, &before).await.is_empty()).then_some(())
    })
    .await;
    aws.asg.set_desired_capacity().auto_scaling_group_name(&asg).desired_capacity(3).send().await.unwrap();
    let after = eventually("3 new Ready spot nodes", MINUTE, || async {
        let n = nodes_with(&client, &selector).await;
        (n.len() == 3 && n.iter().all(ready)).then_some(n)
    })
    .await;
    for n in &after {
        assert_eks_node(&aws, n, "SPOT").await;
        assert_eq!(n.metadata.labels.as_ref().unwrap()["node.kubernetes.io/lifecycle"], "spot");
    }
    settled("qa").await;
}

async fn load_balancer_of(aws: &Aws, stack: &str) -> Option<String> {
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let arns: Vec<String> = lbs.load_balancers().iter().filter_map(|l| l.load_balancer_arn().map(str::to_string)).collect();
    if arns.is_empty() {
        return None;
    }
    let tags = aws.elb.describe_tags().set_resource_arns(Some(arns)).send().await.unwrap();
    tags.tag_descriptions()
        .iter()
        .find(|d| d.tags().iter().any(|t| t.key() == Some("ingress.k8s.aws/stack") && t.value() == Some(stack)))
        .and_then(|d| d.resource_arn().map(str::to_string))
}

#[tokio::test]
async fn leak_an_ingress_deleted_without_its_controller_hangs_and_leaks_the_alb() {
    let _lock = LOCK.lock().await;
    let client = kube("qa").await;
    let aws = aws("qa").await;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let ing: Ingress = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "leak-test", "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
        "spec": {"ingressClassName": "alb", "defaultBackend": {"service": {"name": "nothing", "port": {"number": 80}}}}
    }))
    .unwrap();
    scale_addon(&client, "kube-system", "aws-load-balancer-controller", 1).await;
    ingresses.create(&PostParams::default(), &ing).await.unwrap();
    let lb = eventually("the ALB is created and published", MINUTE, || async {
        let i = ingresses.get("leak-test").await.ok()?;
        let host = i.status?.load_balancer?.ingress?.first()?.hostname.clone()?;
        let arn = load_balancer_of(&aws, "default/leak-test").await?;
        let finalized = i.metadata.finalizers.unwrap_or_default().contains(&"ingress.k8s.aws/resources".to_string());
        (finalized && !host.is_empty()).then_some(arn)
    })
    .await;
    // The controller's pod stops running (no node for it, or scaled away).
    scale_addon(&client, "kube-system", "aws-load-balancer-controller", 0).await;
    eventually("the load balancer controller pod is gone", MINUTE, || async {
        (running_pods(&client, "kube-system", "app.kubernetes.io/name=aws-load-balancer-controller").await == 0).then_some(())
    })
    .await;
    ingresses.delete("leak-test", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stuck = ingresses.get("leak-test").await.expect("the Ingress is still there");
    assert!(stuck.metadata.deletion_timestamp.is_some(), "it hangs in deletion");
    assert_eq!(load_balancer_of(&aws, "default/leak-test").await, Some(lb.clone()), "the ALB leaked");
    // With the controller back, both go.
    scale_addon(&client, "kube-system", "aws-load-balancer-controller", 1).await;
    eventually("the Ingress and its ALB are gone", MINUTE, || async {
        let gone = matches!(ingresses.get("leak-test").await, Err(kube::Error::Api(e)) if e.code == 404);
        (gone && load_balancer_of(&aws, "default/leak-test").await.is_none()).then_some(())
    })
    .await;
    let sgs = aws
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:ingress.k8s.aws/stack").values("default/leak-test").build())
        .send()
        .await
        .unwrap();
    assert!(sgs.security_groups().is_empty(), "its security group is deleted too");
}

/// Starts a Job from a CronJob's template (as `kubectl create job --from=cronjob/…`).
async fn run_cronjob(client: &kube::Client, cronjob: &str, job: &str) -> k8s_openapi::api::batch::v1::Job {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    let cron = Api::<CronJob>::namespaced(client.clone(), APP_NAMESPACE).get(cronjob).await.unwrap();
    let template = cron.spec.job_template;
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": job,
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob, "uid": cron.metadata.uid, "controller": true}],
        },
        "spec": template.spec,
    }))
    .unwrap();
    let jobs: Api<Job> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let _ = jobs.delete(job.metadata.name.as_deref().unwrap(), &DeleteParams::background()).await;
    jobs.create(&PostParams::default(), &job).await.unwrap()
}

#[tokio::test]
async fn cronjob_runs_complete_except_the_stock_report_which_fails() {
    use k8s_openapi::api::batch::v1::Job;
    let _lock = LOCK.lock().await;
    let client = kube("dev").await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), APP_NAMESPACE);
    run_cronjob(&client, "mail-notification", "mail-notification-e2e").await;
    run_cronjob(&client, "stock-report", "stock-report-e2e").await;
    let outcome = |name: &'static str| {
        let jobs = jobs.clone();
        async move {
            let status = jobs.get(name).await.ok()?.status?;
            status
                .conditions?
                .iter()
                .find(|c| c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"))
                .map(|c| c.type_.clone())
        }
    };
    assert_eq!(eventually("mail-notification's Job finishes", MINUTE, || outcome("mail-notification-e2e")).await, "Complete");
    assert_eq!(eventually("stock-report's Job finishes", MINUTE, || outcome("stock-report-e2e")).await, "Failed");
    let pods = Api::<Pod>::namespaced(client.clone(), APP_NAMESPACE)
        .list(&ListParams::default().labels("job-name=stock-report-e2e"))
        .await
        .unwrap();
    let terminated =
        pods.items[0].status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0].state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!(terminated.exit_code, 1, "the report's pod failed with exit code 1");
    for name in ["mail-notification-e2e", "stock-report-e2e"] {
        jobs.delete(name, &DeleteParams::background()).await.unwrap();
    }
}
