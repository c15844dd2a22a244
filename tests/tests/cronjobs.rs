//! CronJobs through the panel against the sandbox: "Run now" creates the Job
//! `kubectl create job --from=cronjob/` would, the run is listed with its
//! outcome, and the audit log records it.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, ListParams};
use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::{Server, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::platform::APP_NAMESPACE;
use mezame_shared::cronjobs::{CronJobList, JobCreated, JobOutcome};

#[tokio::test]
async fn run_now_creates_a_manual_job_owned_by_the_cronjob_and_audits_it() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let client = kube("dev").await;
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let jobs: Api<Job> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let name = "mail-notification";
    eventually("the CronJobs in the panel's cache", MINUTE, || async {
        let (_, body) = get_json(&server.url("/api/envs/dev/cronjobs")).await;
        let list: CronJobList = serde_json::from_value(body).ok()?;
        (list.cronjobs.len() == 3).then_some(())
    })
    .await;

    // Bad targets change nothing.
    let before = jobs.list(&ListParams::default()).await.unwrap().items.len();
    // An operator acts; a viewer may not.
    let http = mezame_e2e::client_as(mezame_e2e::OPERATOR);
    let viewer = mezame_e2e::client_as(mezame_e2e::VIEWER);
    let r = viewer
        .post(server.url(&format!("/api/envs/dev/cronjobs/{APP_NAMESPACE}/{name}/run")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a viewer");
    let r = http.post(server.url("/api/envs/dev/cronjobs/platform/no-such-cron/run")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("no-such-cron"), "{body}");
    let r =
        http.post(server.url("/api/envs/nope/cronjobs/platform/mail-notification/run")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(jobs.list(&ListParams::default()).await.unwrap().items.len(), before);

    let r = http
        .post(server.url(&format!("/api/envs/dev/cronjobs/{APP_NAMESPACE}/{name}/run")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let created: JobCreated = r.json().await.unwrap();
    assert!(created.job.starts_with("mail-notification-manual-"), "{created:?}");

    // Exactly what kubectl create job --from=cronjob/ makes.
    let cj = cronjobs.get(name).await.unwrap();
    let job = jobs.get(&created.job).await.unwrap();
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.api_version.as_str()), ("CronJob", name, "batch/v1"));
    assert_eq!(Some(&owner.uid), cj.metadata.uid.as_ref());
    assert_eq!(owner.controller, Some(true));
    let annotations = job.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("cronjob.kubernetes.io/instantiate").map(String::as_str), Some("manual"));
    let template = cj.spec.job_template;
    // The template's labels (the API server adds the job-name/controller-uid ones).
    let labels = job.metadata.labels.clone().unwrap_or_default();
    for (k, v) in template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default() {
        assert_eq!(labels.get(&k), Some(&v), "label {k}");
    }
    let image = |t: &k8s_openapi::api::batch::v1::JobSpec| t.template.spec.as_ref().unwrap().containers[0].image.clone();
    assert_eq!(image(job.spec.as_ref().unwrap()), image(template.spec.as_ref().unwrap()));

    // Listed as a manual run, then finished.
    let run = eventually("the manual run listed as succeeded", 2 * MINUTE, || async {
        let (_, body) = get_json(&server.url("/api/envs/dev/cronjobs")).await;
        let list: CronJobList = serde_json::from_value(body).ok()?;
        let cron = list.cronjobs.into_iter().find(|c| c.name == name)?;
        let run = cron.jobs.into_iter().find(|j| j.name == created.job)?;
        (run.outcome == JobOutcome::Succeeded).then_some(run)
    })
    .await;
    assert!(run.manual && run.duration_secs.is_some_and(|d| d >= 0), "{run:?}");

    let (_, audit) = get_json(&server.url("/api/audit?env=dev")).await;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "cronjob.run").expect("an audit entry");
    assert_eq!(entry["target"], format!("cronjob/{APP_NAMESPACE}/{name}"));
    assert_eq!(entry["actor"], "e2e-operator");
    assert_eq!(entry["outcome"], "ok");
    assert_eq!(entry["after"]["job"], created.job.as_str());
    // The template (inline env values) is not in the audit log: only its hash.
    let hash = entry["after"]["template_sha256"].as_str().unwrap_or_default();
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{entry}");
    assert!(entry["after"].get("jobTemplate").is_none(), "{entry}");
    let audit_text = audit.to_string();
    let env_values: Vec<String> = template
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| p.containers.iter().flat_map(|c| c.env.clone().unwrap_or_default()).filter_map(|e| e.value).collect())
        .unwrap_or_default();
    assert!(!env_values.is_empty(), "the sandbox's mail-notification has inline env values to hide");
    for v in env_values.iter().filter(|v| v.len() > 3) {
        assert!(!audit_text.contains(v.as_str()), "the audit log shows the env value {v:?}");
    }
    let failed = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "cronjob.run").count();
    assert_eq!(failed, 1, "the refused runs (404) are not actions");
}
