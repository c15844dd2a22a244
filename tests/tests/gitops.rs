//! GitOps through the real Argo CD: CI's changes roll out, self-heal reverts
//! manual changes (and does not without auto-sync), and Argo CD only works
//! while its pods have a node. The tests run one at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use mezame_e2e::cluster::*;
use mezame_e2e::{eventually, kube, sandbox};
use mezame_sandbox::platform::{APP_NAMESPACE, env_spec};
use serde_json::json;

#[tokio::test]
async fn gitops_ci_rolls_out_and_self_heal_reverts_manual_changes() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let state = sandbox();
    let client = kube("dev").await;
    let apps = apps(&client);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), APP_NAMESPACE);
    // CI on one microservice → Argo CD deploys the new manifest commit.
    let ms = "pricing-service";
    let old_pods: BTreeSet<String> = pod_images(&client, ms).await.into_iter().map(|(n, _, _)| n).collect();
    let run = mezame_sandbox::ci::run(&state, ms, "dev", Some("feat: volume discounts")).await.unwrap();
    assert!(run.image.ends_with(&format!("/pricing-service-dev:{}", run.app_commit)));
    eventually("the new manifest commit in the Application's history", 2 * MINUTE, || async {
        let app = apps.get(ms).await.ok()?;
        (last_revision(&app).as_deref() == Some(run.manifest_commit.as_str())).then_some(())
    })
    .await;
    let d = deployments.get(ms).await.unwrap();
    assert_eq!(d.spec.unwrap().template.spec.unwrap().containers[0].image.as_deref(), Some(run.image.as_str()));
    eventually("pods rolled to the new image", 2 * MINUTE, || async {
        let pods = pod_images(&client, ms).await;
        (pods.len() == 2 && pods.iter().all(|(n, image, running)| *running && *image == run.image && !old_pods.contains(n))).then_some(())
    })
    .await;

    // Self-heal on: a manual scale to 0 is reverted.
    let scale = |name: &'static str, replicas: i32| {
        let deployments = deployments.clone();
        async move {
            deployments.patch_scale(name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": replicas}}))).await.unwrap();
        }
    };
    scale("auth-service", 0).await;
    eventually("self-heal scales auth-service back to 2", MINUTE, || async {
        let d = deployments.get("auth-service").await.ok()?;
        (d.spec?.replicas == Some(2)).then_some(())
    })
    .await;

    // Auto-sync removed: the manual scale sticks, and the app shows OutOfSync.
    let app = "tenant-service";
    apps.patch(app, &PatchParams::default(), &Patch::Merge(json!({"spec": {"syncPolicy": {"automated": null}}}))).await.unwrap();
    scale(app, 0).await;
    eventually("tenant-service OutOfSync", MINUTE, || async {
        let a = apps.get(app).await.ok()?;
        (a.data["status"]["sync"]["status"] == "OutOfSync").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(deployments.get(app).await.unwrap().spec.unwrap().replicas, Some(0), "without auto-sync the scale to 0 stays");
    apps.patch(
        app,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}})),
    )
    .await
    .unwrap();
    settled("dev").await;
}

fn controller_running(env: &str) -> bool {
    let state = sandbox();
    let status = mezame_sandbox::up::status(&state.dir).unwrap().unwrap();
    status.envs[env].components.iter().any(|c| c.name == "argocd-application-controller" && c.running)
}

#[tokio::test]
async fn argocd_gating_no_node_for_argocd_means_no_sync() {
    let _lock = LOCK.lock().await;
    settled("qa").await;
    let state = sandbox();
    let client = kube("qa").await;
    let aws = aws("qa").await;
    let cluster = env_spec("qa").unwrap().eks_cluster();
    let system =
        |min, desired| aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(min).max_size(3).desired_size(desired).build();
    assert!(controller_running("qa"), "Argo CD runs while its pods do");
    aws.eks.update_nodegroup_config().cluster_name(&cluster).nodegroup_name("system").scaling_config(system(0, 0)).send().await.unwrap();
    eventually("Argo CD's pods unschedulable and its processes stopped", MINUTE, || async {
        let running = running_pods(&client, "argocd", "app.kubernetes.io/name=argocd-application-controller").await;
        (running == 0 && !controller_running("qa")).then_some(())
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let ms = "stock-level";
    let before = deployments.get(ms).await.unwrap().spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    let run = mezame_sandbox::ci::run(&state, ms, "qa", Some("fix: rounding of stock levels")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let during = deployments.get(ms).await.unwrap().spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    assert_eq!(during, before, "with no node for Argo CD, the new commit is not applied");
    aws.eks.update_nodegroup_config().cluster_name(&cluster).nodegroup_name("system").scaling_config(system(1, 2)).send().await.unwrap();
    eventually("once nodes return, Argo CD applies the commit", 3 * MINUTE, || async {
        let d = deployments.get(ms).await.ok()?;
        (d.spec?.template.spec?.containers[0].image.as_deref() == Some(run.image.as_str())).then_some(())
    })
    .await;
    assert!(controller_running("qa"));
    settled("qa").await;
}
