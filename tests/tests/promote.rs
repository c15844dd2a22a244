//! Promote and roll back against the sandbox's real manifest repository and
//! real Argo CD: a promotion into prod is exactly one commit on a new branch,
//! changing only that microservice's prod image lines, master untouched; every
//! refused request (another role, a forged cross-site request, no confirmation,
//! bad input) leaves the repository as it was; a rollback in dev sticks under
//! auto-sync with self-heal, shows in the chain with its reason and freezes
//! promotions until lifted; moving a microservice to spot in prod is a commit
//! on a branch that Argo CD applies once merged, and back restores the file
//! byte for byte. One at a time (they move dev's and prod's Applications).

use std::collections::BTreeSet;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use mezame_e2e::cluster::*;
use mezame_e2e::manifests::{audit_actions, git, indexed, page, repo_state, running_tag, send, synced_at_head};
use mezame_e2e::{ADMIN, OPERATOR, Server, VIEWER, client_as, eventually, get_json, kube, sandbox, sandbox_env_toml, sandbox_git_toml};
use mezame_shared::deploys::{ChangeKind, Deploy, DeployChange};
use mezame_shared::dora::Dora;
use serde_json::json;

fn server() -> Server {
    Server::start(&format!("{}{}{}", sandbox_git_toml(&["dev", "prod"]), sandbox_env_toml("dev"), sandbox_env_toml("prod")))
}

#[tokio::test]
async fn a_promotion_to_prod_is_one_commit_on_a_new_branch_and_refusals_change_nothing() {
    let _lock = LOCK.lock().await;
    let server = server();
    let ms = "pricing-service";
    indexed(&server, ms).await;
    let (dev, prod) = (running_tag("dev", ms).await, running_tag("prod", ms).await);
    assert_ne!(dev, prod, "dev runs a newer {ms} than prod in the seeded sandbox");
    let before = repo_state();
    assert_eq!(before.1, "", "the manifest repository's work tree is clean to begin with");
    let url = server.url(&format!("/api/envs/prod/deploys/{ms}/promote"));
    let body = json!({"from": "dev", "confirm": "prod"});

    // Refused: the wrong people, a forged request, no confirmation, bad input.
    let refusals: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("anonymous", mezame_e2e::anonymous().post(&url).json(&body), 401),
        ("a viewer", client_as(VIEWER).post(&url).json(&body), 403),
        ("an operator in protected prod", client_as(OPERATOR).post(&url).json(&body), 403),
        ("a forged bearer", client_as("mzm_forged_0000000000000000000000").post(&url).json(&body), 401),
        ("a cross-site page", client_as(ADMIN).post(&url).header("origin", "https://evil.example").json(&body), 403),
        (
            "a cross-site form",
            client_as(ADMIN).post(&url).header("content-type", "application/x-www-form-urlencoded").body("from=dev&confirm=prod"),
            415,
        ),
        ("prod not confirmed", client_as(ADMIN).post(&url).json(&json!({"from": "dev"})), 400),
        ("from = to", client_as(ADMIN).post(&url).json(&json!({"from": "prod", "confirm": "prod"})), 400),
        ("an unknown source", client_as(ADMIN).post(&url).json(&json!({"from": "staging", "confirm": "prod"})), 404),
        ("an unknown field", client_as(ADMIN).post(&url).json(&json!({"from": "dev", "confirm": "prod", "force": true})), 422),
        ("an unknown microservice", client_as(ADMIN).post(server.url("/api/envs/prod/deploys/no-such-service/promote")).json(&body), 404),
        ("an unknown environment", client_as(ADMIN).post(server.url(&format!("/api/envs/staging/deploys/{ms}/promote"))).json(&body), 404),
    ];
    for (who, req, want) in refusals {
        let (s, answer) = send(req).await;
        assert_eq!(s, want, "{who}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{who} is told why: {answer}");
        assert_eq!(repo_state(), before, "{who}: the repository is unchanged");
    }
    assert!(audit_actions(&server).await.is_empty(), "nothing was done, nothing audited");

    // A dry run says what would change and writes nothing.
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&json!({"from": "dev", "dry_run": true}))).await;
    assert_eq!(s, 200, "{answer}");
    let dry: DeployChange = serde_json::from_value(answer).unwrap();
    assert_eq!((dry.tag.as_str(), dry.previous_tag.as_deref(), dry.commit.as_ref()), (dev.as_str(), Some(prod.as_str()), None));
    assert!(!dry.lines.is_empty() && dry.lines.iter().all(|l| l.path.starts_with(&format!("prod/manifests/{ms}/"))), "{:?}", dry.lines);
    let app_repo = sandbox().repos().app(ms);
    let truth: BTreeSet<String> = String::from_utf8(
        Command::new("git").arg("-C").arg(&app_repo).args(["rev-list", &format!("{prod}..{dev}")]).output().unwrap().stdout,
    )
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(dry.commits.iter().map(|c| c.sha.clone()).collect::<BTreeSet<_>>(), truth, "the release notes: git's prod..dev");
    assert_eq!(repo_state(), before, "a dry run writes nothing");

    // The promotion: one commit on a new branch; master untouched.
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&body)).await;
    assert_eq!(s, 200, "{answer}");
    let done: DeployChange = serde_json::from_value(answer).unwrap();
    let (commit, branch) = (done.commit.clone().unwrap(), done.branch.clone().unwrap());
    assert!(done.needs_merge && branch.starts_with(&format!("mezame/promote/prod/{ms}-")), "{done:?}");
    let master = git(&["rev-parse", "master"]);
    assert_eq!(before.0.lines().find(|l| l.starts_with("refs/heads/master ")), Some(format!("refs/heads/master {master}").as_str()));
    assert_eq!(git(&["rev-list", &format!("master..{branch}")]), commit, "exactly one commit on the branch");
    assert_eq!(git(&["rev-parse", &format!("{commit}^")]), master, "made on master's tip");
    let files = git(&["diff", "--name-only", &master, &commit]);
    assert!(files.lines().all(|f| f.starts_with(&format!("prod/manifests/{ms}/"))), "only {ms}'s prod manifests: {files}");
    let diff = git(&["diff", "-U0", &master, &commit]);
    let changed: Vec<&str> =
        diff.lines().filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---")).collect();
    assert!(!changed.is_empty());
    for l in &changed {
        let want = if l.starts_with('-') { &prod } else { &dev };
        assert!(l.contains("image:") && l.ends_with(&format!("/{ms}-prod:{want}")), "only image tags change: {l}");
    }
    assert_eq!(git(&["show", "-s", "--format=%(trailers:key=Argocd-reference-commit-sha,valueonly)", &commit]), dev);
    assert_eq!(git(&["show", "-s", "--format=%(trailers:key=Mezame-By,valueonly)", &commit]), "e2e-admin");
    assert_eq!(repo_state().1, "", "the work tree stays clean");
    assert!(audit_actions(&server).await.contains(&("deploy.promote".into(), "e2e-admin".into(), "prod".into())));
    // The deploys page shows it waiting for a person's merge; deleting the branch ends the wait.
    let waiting = page(&server, "prod", ms).await;
    assert_eq!(waiting.pending.iter().map(|p| p.commit.clone().unwrap()).collect::<Vec<_>>(), vec![commit.clone()]);
    git(&["branch", "-D", &branch]);
    eventually("the deleted branch no longer waits", MINUTE, || async { page(&server, "prod", ms).await.pending.is_empty().then_some(()) })
        .await;
    assert_eq!(repo_state(), before);
}

/// A promotion refused with a clear 4xx, nothing written: of a tag no commit
/// of the app repository built (prod made to run one by hand — prod does not
/// self-heal), and into dev while it sleeps (say it is asleep).
#[tokio::test]
async fn promotions_of_an_unbuilt_tag_or_into_a_sleeping_env_are_refused() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    // A sleep backs up Argo CD's Secrets: encrypted, with a key.
    let key = format!("backup_keys = [\"{}\"]\n", mezame_e2e::runs::KEY);
    let server =
        Server::start(&format!("{key}{}{}{}", sandbox_git_toml(&["dev", "prod"]), sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    let ms = "pricing-service";
    indexed(&server, ms).await;
    let url = server.url(&format!("/api/envs/dev/deploys/{ms}/promote"));
    let before = repo_state();

    // Synced at the head first, or Argo CD would sync the hand-made change away.
    synced_at_head("prod", ms).await;
    let prod: kube::Api<Deployment> = kube::Api::namespaced(kube("prod").await, mezame_sandbox::platform::APP_NAMESPACE);
    let container = prod.get(ms).await.unwrap().spec.unwrap().template.spec.unwrap().containers.remove(0);
    let image = container.image.clone().unwrap();
    let unbuilt = format!("{}:{}", image.rsplit_once(':').unwrap().0, "0123456789abcdef0123456789abcdef01234567");
    let set_image = |to: String| {
        let (prod, name) = (prod.clone(), container.name.clone());
        async move {
            let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": name, "image": to}]}}}});
            prod.patch(ms, &kube::api::PatchParams::default(), &kube::api::Patch::Strategic(patch)).await.unwrap();
        }
    };
    set_image(unbuilt.clone()).await;
    // A dry run checks the tag as the promotion does, and writes nothing either way.
    let dry = json!({"from": "prod", "dry_run": true});
    let refused = eventually("mezame sees prod run the unbuilt tag", MINUTE, || async {
        let (s, answer) = send(client_as(OPERATOR).post(&url).json(&dry)).await;
        (s != 200).then_some((s, answer))
    })
    .await;
    let (s, answer) = send(client_as(OPERATOR).post(&url).json(&json!({"from": "prod"}))).await;
    set_image(image.clone()).await;
    for (s, answer) in [refused, (s, answer)] {
        assert_eq!(s, 422, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("0123456789ab") && message.contains("not a commit of its app repository"), "{answer}");
    }
    assert_eq!(repo_state(), before, "the repository is unchanged");

    // dev asleep: a promotion into it is refused until it is woken.
    let run = |action: &'static str| {
        let server = &server;
        async move {
            let (s, body) = send(client_as(OPERATOR).post(server.url(&format!("/api/envs/dev/{action}"))).json(&json!({}))).await;
            assert_eq!(s, 202, "{action}: {body}");
            let run = mezame_e2e::runs::finished(server, body["id"].as_i64().unwrap(), 5 * MINUTE).await;
            assert_eq!(run.state, mezame_shared::power::RunState::Succeeded, "{action}: {run:?}");
        }
    };
    run("sleep").await;
    let (s, answer) = send(client_as(OPERATOR).post(&url).json(&json!({"from": "prod"}))).await;
    run("wake").await;
    assert_eq!(s, 409, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("dev is asleep") && m.contains("wake it first")), "{answer}");
    assert_eq!(repo_state(), before, "the repository is unchanged");
    assert!(audit_actions(&server).await.iter().all(|(action, _, _)| !action.starts_with("deploy.")), "no deploy change audited");
    eventually("prod runs its own tag again", 2 * MINUTE, || async {
        (running_tag("prod", ms).await != "0123456789abcdef0123456789abcdef01234567").then_some(())
    })
    .await;
    settled("dev").await;
}

#[tokio::test]
async fn a_rollback_in_dev_sticks_under_self_heal_shows_why_and_freezes_promotions() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = server();
    let ms = "billing-service";
    let history = indexed(&server, ms).await;
    let (current, earlier) = (&history.deploys[0], &history.deploys[1]);
    assert_eq!(running_tag("dev", ms).await, current.tag, "dev runs its newest deploy");
    let url = server.url(&format!("/api/envs/dev/deploys/{ms}/rollback"));
    let before = repo_state();
    for (why, body, want) in [
        ("no reason", json!({"to_deploy": earlier.manifest.sha, "reason": "  "}), 400),
        ("not a sha", json!({"to_deploy": "HEAD~1", "reason": "x"}), 400),
        ("no such deploy", json!({"to_deploy": "0000000", "reason": "x"}), 404),
        ("the tag it runs", json!({"to_deploy": current.manifest.sha, "reason": "x"}), 409),
    ] {
        let (s, answer) = send(client_as(OPERATOR).post(&url).json(&body)).await;
        assert_eq!(s, want, "{why}: {answer}");
        assert_eq!(repo_state(), before, "{why}: the repository is unchanged");
    }
    let (s, _) = send(client_as(VIEWER).post(&url).json(&json!({"to_deploy": earlier.manifest.sha, "reason": "x"}))).await;
    assert_eq!(s, 403);

    // An operator rolls dev back: a commit on master, which Argo CD deploys and self-heal keeps.
    let reason = "checkout 500s since the last deploy";
    let (s, answer) = send(client_as(OPERATOR).post(&url).json(&json!({"to_deploy": earlier.manifest.sha, "reason": reason}))).await;
    assert_eq!(s, 200, "{answer}");
    let rb: DeployChange = serde_json::from_value(answer).unwrap();
    let commit = rb.commit.clone().unwrap();
    assert_eq!((rb.branch.as_deref(), rb.needs_merge, rb.tag.as_str()), (Some("master"), false, earlier.tag.as_str()));
    assert_eq!(git(&["rev-parse", "master"]), commit, "committed straight to dev's branch");
    assert_eq!(repo_state().1, "", "the work tree follows master, clean");
    eventually("dev runs the earlier tag", 3 * MINUTE, || async { (running_tag("dev", ms).await == earlier.tag).then_some(()) }).await;
    // Self-heal and a refresh re-apply git: the rollback stays.
    let apps = apps(&kube("dev").await);
    let refresh = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}});
    apps.patch(ms, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(refresh)).await.unwrap();
    eventually("Argo CD synced the rollback commit", 2 * MINUTE, || async {
        let a = apps.get(ms).await.unwrap();
        (a.data["status"]["sync"]["revision"] == commit.as_str() && a.data["status"]["sync"]["status"] == "Synced").then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(running_tag("dev", ms).await, earlier.tag, "the rollback survives auto-sync and self-heal");

    // The chain shows it as a rollback, with the reason typed; promotions are frozen.
    let chain = eventually("the rollback's chain rolled out", 3 * MINUTE, || async {
        let p = page(&server, "dev", ms).await;
        p.deploys.into_iter().find(|d| d.manifest.sha == commit && d.rollout.as_ref().is_some_and(|r| r.complete))
    })
    .await;
    let action = chain.manifest.action.expect("marked as made through mezame");
    assert_eq!((action.kind, action.by.as_str(), action.reason.as_deref()), (ChangeKind::Rollback, "e2e-operator", Some(reason)));
    dora_is_what_git_and_argo_cd_say(&server, ms, &commit).await;
    let frozen = page(&server, "dev", ms).await.freezes;
    assert_eq!(frozen.iter().map(|f| (f.ms.as_str(), f.reason.as_str())).collect::<Vec<_>>(), vec![(ms, reason)]);
    let promote = server.url(&format!("/api/envs/dev/deploys/{ms}/promote"));
    let head = repo_state();
    let (s, answer) = send(client_as(OPERATOR).post(&promote).json(&json!({"from": "prod"}))).await;
    assert_eq!(s, 409, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("frozen"), "{answer}");
    assert_eq!(repo_state(), head);
    let freeze = server.url(&format!("/api/envs/dev/deploys/{ms}/freeze"));
    assert_eq!(send(client_as(VIEWER).delete(&freeze).json(&json!({}))).await.0, 403);
    let (s, answer) = send(client_as(OPERATOR).delete(&freeze).json(&json!({}))).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(send(client_as(OPERATOR).delete(&freeze).json(&json!({}))).await.0, 404, "lifted once");
    let actions = audit_actions(&server).await;
    for action in ["deploy.rollback", "deploy.unfreeze"] {
        assert!(actions.contains(&(action.into(), "e2e-operator".into(), "dev".into())), "{action}: {actions:?}");
    }

    // Back to where it was: roll forward to the newest deploy, and lift that freeze too.
    let (s, answer) =
        send(client_as(OPERATOR).post(&url).json(&json!({"to_deploy": current.manifest.sha, "reason": "fixed: back to the newest"}))).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(send(client_as(OPERATOR).delete(&freeze).json(&json!({}))).await.0, 200);
    eventually("dev runs the newest tag again", 3 * MINUTE, || async { (running_tag("dev", ms).await == current.tag).then_some(()) }).await;
    settled("dev").await;
}

/// `ms`'s DORA figures in dev over 7 days, recomputed here: which commits are
/// deploys, their tags and which were rolled back or reverted from git; the
/// app commits each shipped from its app repository; when each ran from the
/// chains, whose syncs are checked against Argo CD's own history.
async fn dora_is_what_git_and_argo_cd_say(server: &Server, ms: &str, rollback: &str) {
    let (s, body) = get_json(&server.url(&format!("/api/envs/dev/deploys/{ms}/dora?window=7d"))).await;
    assert_eq!(s, 200, "{body}");
    let dora: Dora = serde_json::from_value(body).unwrap();
    let (s, _) = get_json(&server.url(&format!("/api/envs/dev/deploys/{ms}/dora?window=8d"))).await;
    assert_eq!(s, 400, "only 7d, 30d, 90d");
    // The deploys, oldest first, from git: (manifest commit, time, previous tag, tag, Mezame-Action).
    let dir = format!("dev/manifests/{ms}");
    let mut line: Vec<(String, i64, Option<String>, String, String)> = git(&["log", "--first-parent", "--format=%H", "master", "--", &dir])
        .lines()
        .filter_map(|sha| {
            let diff = git(&["show", "--format=", "-U0", sha, "--", &dir]);
            let tag_of = |sign: char| {
                diff.lines()
                    .find(|l| {
                        l.starts_with(sign) && !l.starts_with("+++") && !l.starts_with("---") && l.contains("image:") && l.contains(ms)
                    })
                    .map(|l| l.trim_end().rsplit_once(':').unwrap().1.to_string())
            };
            let tag = tag_of('+')?;
            let at: i64 = git(&["show", "-s", "--format=%ct", sha]).parse().unwrap();
            let action = git(&["show", "-s", "--format=%(trailers:key=Mezame-Action,valueonly)", sha]);
            Some((sha.to_string(), at, tag_of('-'), tag, action))
        })
        .collect();
    line.reverse();
    let since = dora.since.timestamp();
    let in_window: Vec<usize> = (0..line.len()).filter(|&k| line[k].1 >= since).collect();
    assert_eq!(
        dora.points.iter().map(|p| p.manifest.as_str()).collect::<Vec<_>>(),
        in_window.iter().map(|&k| line[k].0.as_str()).collect::<Vec<_>>(),
        "the window's deploys, oldest first"
    );
    assert_eq!(dora.points.last().map(|p| p.manifest.as_str()), Some(rollback));
    let failed_by_git: Vec<bool> =
        in_window.iter().map(|&k| line.get(k + 1).is_some_and(|n| n.4 == "rollback" || Some(&n.3) == line[k].2.as_ref())).collect();
    assert_eq!(dora.points.iter().map(|p| p.failure.is_some()).collect::<Vec<_>>(), failed_by_git);
    let failed = failed_by_git.iter().filter(|f| **f).count() as u32;
    assert!(failed >= 1, "the deploy the rollback undid failed");
    assert_eq!(dora.points[dora.points.len() - 2].failure.as_deref(), Some("rolled back"));
    assert_eq!((dora.deploys, dora.failed), (in_window.len() as u32, failed));
    assert_eq!(dora.change_failure_rate, Some(f64::from(failed) / in_window.len() as f64));
    // When each ran: the chain's rollout or sync; every sync as Argo CD's history has it.
    let (_, list) = get_json(&server.url(&format!("/api/envs/dev/deploys?ms={ms}&limit=500"))).await;
    let chains: Vec<Deploy> = serde_json::from_value(list["deploys"].clone()).unwrap();
    let app = apps(&kube("dev").await).get(ms).await.unwrap();
    let history = app.data["status"]["history"].as_array().unwrap();
    for c in chains.iter().filter(|c| c.sync.is_some()) {
        let s = c.sync.as_ref().unwrap();
        if let Some(h) = history.iter().find(|h| h["id"].as_i64() == Some(s.id)) {
            assert_eq!(h["deployedAt"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), s.finished_at);
        }
    }
    let reached = |sha: &str| {
        let c = chains.iter().find(|c| c.manifest.sha == sha).unwrap();
        c.rollout.as_ref().and_then(|r| r.completed_at).or(c.sync.as_ref().map(|s| s.finished_at)).map(|t| t.timestamp())
    };
    // The lead times: every app commit each deploy shipped (git rev-list previous..tag).
    let repo = sandbox().repos().app(ms);
    let mut leads = Vec::new();
    for &k in &in_window {
        let (sha, _, prev, tag, _) = &line[k];
        let Some(ran) = reached(sha) else { continue };
        let range = prev.as_ref().map_or_else(|| format!("{tag}^!"), |p| format!("{p}..{tag}"));
        let out = Command::new("git").arg("-C").arg(&repo).args(["log", "--format=%at", &range]).output().unwrap();
        leads.extend(String::from_utf8(out.stdout).unwrap().lines().map(|at| ran - at.parse::<i64>().unwrap()));
    }
    leads.sort_unstable();
    let median = match leads.len() {
        0 => None,
        n if n % 2 == 1 => Some(leads[n / 2]),
        n => Some((leads[n / 2 - 1] + leads[n / 2]) / 2),
    };
    assert_eq!((dora.lead_time.commits as usize, dora.lead_time.median_secs), (leads.len(), median));
    eprintln!(
        "dora of {ms} in dev, 7d: {} deploys, {} failed, {} app commits timed (median {:?} s), {} not timed",
        dora.deploys,
        dora.failed,
        leads.len(),
        median,
        dora.lead_time.unmeasured
    );
    // The failed deploy recovered when the rollback ran.
    let before = &dora.points[dora.points.len() - 2];
    assert_eq!(before.recovered_secs, reached(rollback).zip(reached(&before.manifest)).map(|(r, b)| r - b));
}

/// The pod template's tolerations of `ms`'s Deployment in `env`, as the API server has them.
async fn tolerations(env: &str, ms: &str) -> Vec<String> {
    let d: k8s_openapi::api::apps::v1::Deployment =
        kube::Api::namespaced(kube(env).await, mezame_sandbox::platform::APP_NAMESPACE).get(ms).await.unwrap();
    d.spec.unwrap().template.spec.unwrap().tolerations.unwrap_or_default().into_iter().filter_map(|t| t.key).collect()
}

/// Merges `branch` into master in the repository's work tree, as a person
/// would, and has Argo CD in `env` sync `ms`'s Application to it.
async fn merge_and_sync(env: &str, ms: &str, branch: &str) {
    git(&["-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "merge", "--no-ff", "-q", "-m", &format!("merge {branch}"), branch]);
    let head = git(&["rev-parse", "master"]);
    let apps = apps(&kube(env).await);
    let refresh = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}});
    apps.patch(ms, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(refresh)).await.unwrap();
    eventually(&format!("Argo CD in {env} synced {branch}"), 3 * MINUTE, || async {
        let a = apps.get(ms).await.unwrap();
        (a.data["status"]["sync"]["revision"] == head.as_str() && a.data["status"]["sync"]["status"] == "Synced").then_some(())
    })
    .await;
}

#[tokio::test]
async fn prod_moves_a_microservice_to_spot_on_a_branch_argo_cd_applies_and_back_byte_for_byte() {
    let _lock = LOCK.lock().await;
    settled("prod").await;
    let server = server();
    let ms = "inventory-service";
    indexed(&server, ms).await;
    let url = server.url(&format!("/api/envs/prod/capacity/placement/{ms}"));
    let spot_key = "node.kubernetes.io/lifecycle";
    assert!(!tolerations("prod", ms).await.contains(&spot_key.to_string()), "prod does not tolerate spot in the seeded sandbox");
    let before = repo_state();
    let to_spot = json!({"spot": true, "confirm": "prod"});
    let refusals: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("a viewer", client_as(VIEWER).post(&url).json(&to_spot), 403),
        ("an operator in protected prod", client_as(OPERATOR).post(&url).json(&to_spot), 403),
        ("a cross-site page", client_as(ADMIN).post(&url).header("origin", "https://evil.example").json(&to_spot), 403),
        ("prod not confirmed", client_as(ADMIN).post(&url).json(&json!({"spot": true})), 400),
        ("an unknown field", client_as(ADMIN).post(&url).json(&json!({"spot": true, "confirm": "prod", "now": true})), 422),
        ("already on-demand", client_as(ADMIN).post(&url).json(&json!({"spot": false, "confirm": "prod"})), 409),
        ("an unknown microservice", client_as(ADMIN).post(server.url("/api/envs/prod/capacity/placement/nope")).json(&to_spot), 404),
        // dev's seeded manifests tolerate spot already, written by hand.
        (
            "dev already on spot",
            client_as(OPERATOR).post(server.url(&format!("/api/envs/dev/capacity/placement/{ms}"))).json(&json!({"spot": true})),
            409,
        ),
        (
            "dev's own toleration",
            client_as(OPERATOR).post(server.url(&format!("/api/envs/dev/capacity/placement/{ms}"))).json(&json!({"spot": false})),
            422,
        ),
    ];
    for (who, req, want) in refusals {
        let (s, answer) = send(req).await;
        assert_eq!(s, want, "{who}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{who} is told why: {answer}");
        assert_eq!(repo_state(), before, "{who}: the repository is unchanged");
    }

    // The dry run shows the block; applying it is one commit on a new branch, master untouched.
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&json!({"spot": true, "dry_run": true}))).await;
    assert_eq!(s, 200, "{answer}");
    let dry: DeployChange = serde_json::from_value(answer).unwrap();
    assert_eq!((dry.kind, dry.commit.as_ref()), (ChangeKind::Spot, None));
    assert!(
        dry.lines.iter().all(|l| l.after.contains(&format!("key: {spot_key}")) && l.path.starts_with(&format!("prod/manifests/{ms}/")))
    );
    assert_eq!(repo_state(), before, "a dry run writes nothing");
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&to_spot)).await;
    assert_eq!(s, 200, "{answer}");
    let moved: DeployChange = serde_json::from_value(answer).unwrap();
    let branch = moved.branch.clone().unwrap();
    assert!(moved.needs_merge && branch.starts_with(&format!("mezame/spot/prod/{ms}-")), "{moved:?}");
    assert_eq!(
        git(&["rev-parse", "master"]),
        before.0.lines().find(|l| l.starts_with("refs/heads/master ")).unwrap()[18..],
        "master untouched"
    );
    let files = git(&["diff", "--numstat", "master", &branch]);
    let (added, removed, path) = {
        let v: Vec<&str> = files.split('\t').collect();
        assert_eq!(files.lines().count(), 1, "one file: {files}");
        (v[0].parse::<u32>().unwrap(), v[1].parse::<u32>().unwrap(), v[2].to_string())
    };
    assert!(path.starts_with(&format!("prod/manifests/{ms}/")) && path.contains("deployment") && added > 10 && removed == 0, "{files}");
    let original = git(&["show", &format!("master:{path}")]);
    assert!(audit_actions(&server).await.contains(&("capacity.spot".into(), "e2e-admin".into(), "prod".into())));

    // A person merges it; Argo CD applies it to the Deployment.
    merge_and_sync("prod", ms, &branch).await;
    eventually("prod's Deployment tolerates spot", 2 * MINUTE, || async {
        tolerations("prod", ms).await.contains(&spot_key.to_string()).then_some(())
    })
    .await;
    eventually("the merged change no longer waits", MINUTE, || async { page(&server, "prod", ms).await.pending.is_empty().then_some(()) })
        .await;

    // Back to on-demand: the file as it was, byte for byte, and Argo CD takes the toleration away.
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&json!({"spot": false, "confirm": "prod"}))).await;
    assert_eq!(s, 200, "{answer}");
    let back: DeployChange = serde_json::from_value(answer).unwrap();
    let back_branch = back.branch.unwrap();
    assert_eq!(git(&["show", &format!("{back_branch}:{path}")]), original);
    merge_and_sync("prod", ms, &back_branch).await;
    eventually("prod's Deployment no longer tolerates spot", 2 * MINUTE, || async {
        (!tolerations("prod", ms).await.contains(&spot_key.to_string())).then_some(())
    })
    .await;
    git(&["branch", "-D", &branch, &back_branch]);
    assert_eq!(repo_state().1, "", "the work tree is clean");
    settled("prod").await;
}
