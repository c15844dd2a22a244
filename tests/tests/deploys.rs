//! Deploys against the sandbox's real repositories and real Argo CD: the
//! seeded weeks of history appear with their links, more than Argo CD's 10
//! per microservice; a `ci` run becomes a chain that completes once rolled
//! out; without auto-sync the chain stops at the manifest commit and says why.
//! The tests run one at a time (they move dev's Applications).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mezame_e2e::cluster::*;
use mezame_e2e::sse::Sse;
use mezame_e2e::{Server, eventually, get_json, kube, sandbox, sandbox_env_toml, sandbox_git_toml};
use mezame_shared::deploys::{Deploy, DeployDiff, DeployList, LinkSource, VersionMatrix};
use serde_json::{Value, json};

fn server() -> Server {
    Server::start(&format!("{}{}", sandbox_git_toml(&["dev"]), sandbox_env_toml("dev")))
}

async fn deploys(server: &Server, query: &str) -> DeployList {
    let (status, body) = get_json(&server.url(&format!("/api/envs/dev/deploys?{query}"))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a DeployList")
}

/// `git` in one of the sandbox's repositories.
fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(repo).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The page once a first pass indexed the repositories (as they were when it began).
async fn indexed(server: &Server, query: &str) -> DeployList {
    eventually("the repositories indexed", 2 * MINUTE, || async {
        let page = deploys(server, query).await;
        page.index.indexed_at.is_some().then_some(page)
    })
    .await
}

#[tokio::test]
async fn the_seeded_history_shows_every_deploy_with_its_links() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = server();
    let ms = "pricing-service";
    let page = indexed(&server, &format!("ms={ms}&limit=500")).await;
    assert!(page.index.errors.is_empty(), "{:?}", page.index.errors);
    let state = sandbox();
    let k8s = state.repos().manifests();
    // The truth: every first-parent commit of master that rewrote the microservice's dev image.
    let truth: Vec<String> = git(&k8s, &["log", "--first-parent", "--format=%H", "master", "--", &format!("dev/manifests/{ms}")])
        .lines()
        .filter(|sha| {
            let diff = git(&k8s, &["show", "--format=", "-U0", sha, "--", &format!("dev/manifests/{ms}")]);
            diff.lines().any(|l| l.starts_with('+') && !l.starts_with("+++") && l.contains("image:"))
        })
        .map(str::to_string)
        .collect();
    let shown: Vec<String> = page.deploys.iter().map(|d| d.manifest.sha.clone()).collect();
    assert_eq!(shown, truth, "every deploy of {ms} to dev, newest first");
    assert!(shown.len() > 10, "more than Argo CD's 10 history entries: {}", shown.len());
    let app_repo = state.repos().app(ms);
    for d in &page.deploys {
        assert_eq!((d.env.as_str(), d.ms.as_str()), ("dev", ms));
        let app = d.app.as_ref().unwrap_or_else(|| panic!("{} has its app commit", d.manifest.sha));
        // CI's commits carry the trailers; the first manifests, written by hand, do not.
        let first = d.previous_tag.is_none();
        assert_eq!(app.source, if first { LinkSource::AppRepo } else { LinkSource::Trailers }, "{}", d.manifest.sha);
        assert_eq!(app.sha, d.tag, "the tag is the app commit");
        let (subject, author, at) = {
            let f = git(&app_repo, &["show", "-s", "--format=%s%x1f%an%x1f%at", &app.sha]);
            let v: Vec<&str> = f.split('\u{1f}').collect();
            (v[0].to_string(), v[1].to_string(), v[2].parse::<i64>().unwrap())
        };
        assert_eq!(
            (app.subject.as_str(), app.author.as_str(), app.at.timestamp()),
            (subject.as_str(), author.as_str(), at),
            "{}",
            d.manifest.sha
        );
        let committed: i64 = git(&k8s, &["show", "-s", "--format=%ct", &d.manifest.sha]).parse().unwrap();
        assert_eq!(d.manifest.at.timestamp(), committed);
        assert!(d.manifest.files.iter().all(|f| f.starts_with(&format!("dev/manifests/{ms}/"))), "{:?}", d.manifest.files);
        assert!(app.at <= d.manifest.at, "{}: built before deployed", d.manifest.sha);
    }
    // What runs now: its chain is complete — synced by Argo CD, rolled out.
    let now = &page.deploys[0];
    let sync = now.sync.as_ref().expect("the running deploy's sync");
    assert_eq!(git(&k8s, &["merge-base", "--is-ancestor", &now.manifest.sha, &sync.revision]), "");
    let rollout = now.rollout.as_ref().expect("the running deploy's rollout");
    assert!(rollout.current && rollout.complete, "{rollout:?}");
    assert_eq!(now.waiting, None);
    assert!(now.lead_time_secs.is_some_and(|s| s > 0));
    // Each older one was either synced in the history Argo CD still holds, or
    // before it — and says so; none waits. Argo CD keeps at most 10.
    for d in &page.deploys[1..] {
        assert!(d.waiting.is_none() && (d.sync.is_some() != d.before_observed), "{d:#?}");
    }
    let observed = page.deploys.iter().filter(|d| d.sync.is_some()).count();
    assert!((1..=10).contains(&observed), "{observed} deploys with a sync");
    // Every microservice of dev has its deploys.
    let all = deploys(&server, "limit=500").await;
    let per: BTreeMap<&str, usize> = all.deploys.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d.ms.as_str()).or_default() += 1;
        m
    });
    for m in &mezame_sandbox::platform::MICROSERVICES {
        assert!(per.get(m.name).is_some_and(|n| *n > 10), "{}: {per:?}", m.name);
    }
    assert_eq!(per.get("ambassador"), Some(&1), "the gateway's first manifests, without an app commit");
    assert!(all.deploys.iter().filter(|d| d.ms == "ambassador").all(|d| d.app.is_none()));
    assert!(all.index.commits > 17 * 11, "app and manifest commits indexed: {}", all.index.commits);
}

/// The chain of `ms`'s deploy of `manifest` once it satisfies `done`.
async fn chain_of(server: &Server, ms: &str, manifest: &str, what: &str, done: impl Fn(&Deploy) -> bool) -> Deploy {
    eventually(what, 3 * MINUTE, || async {
        let page = deploys(server, &format!("ms={ms}&limit=5")).await;
        page.deploys.into_iter().find(|d| d.manifest.sha == manifest).filter(|d| done(d))
    })
    .await
}

/// Sets `ms`'s Application's `syncPolicy.automated` (null: auto-sync off);
/// answers the one it had, to put back.
async fn set_auto_sync(apps: &Api<DynamicObject>, ms: &str, policy: Value) -> Value {
    let before = apps.get(ms).await.unwrap().data["spec"]["syncPolicy"]["automated"].clone();
    apps.patch(ms, &PatchParams::default(), &Patch::Merge(json!({"spec": {"syncPolicy": {"automated": policy}}}))).await.unwrap();
    before
}

#[tokio::test]
async fn a_ci_run_becomes_a_chain_that_completes_and_one_without_auto_sync_says_why() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = server();
    indexed(&server, "limit=1").await;
    let state = sandbox();
    let ms = "stock-level";
    // Followed as the page follows it: re-read on each cue of the deploys' stream.
    let mut cues = Sse::open(&server.url("/api/envs/dev/deploys/events")).await;
    let run = mezame_sandbox::ci::run(&state, ms, "dev", Some("feat: stock levels per warehouse")).await.unwrap();
    let rolled_out = async {
        while let Some(cue) = cues.next(Duration::from_secs(30)).await {
            assert_eq!(cue.event, "changed", "{cue:?}");
            let page = deploys(&server, &format!("ms={ms}&limit=5")).await;
            if let Some(d) =
                page.deploys.into_iter().find(|d| d.manifest.sha == run.manifest_commit && d.rollout.as_ref().is_some_and(|r| r.complete))
            {
                return d;
            }
        }
        panic!("no cue for 30 s before the ci run's chain rolled out");
    };
    let d = tokio::time::timeout(3 * MINUTE, rolled_out).await.expect("the ci run's chain rolled out, re-read on cues");
    let app = d.app.as_ref().unwrap();
    assert_eq!((app.sha.as_str(), app.subject.as_str()), (run.app_commit.as_str(), "feat: stock levels per warehouse"));
    assert_eq!(d.tag, run.app_commit);
    let sync = d.sync.as_ref().expect("synced");
    assert!(sync.finished_at >= d.manifest.at, "{sync:?} after {:?}", d.manifest.at);
    let rollout = d.rollout.as_ref().unwrap();
    assert!(rollout.current && rollout.completed_at.is_some_and(|t| t >= sync.finished_at - chrono::Duration::seconds(1)), "{rollout:?}");
    assert_eq!(d.waiting, None);
    assert!(d.lead_time_secs.is_some_and(|s| (0..600).contains(&s)), "{:?}", d.lead_time_secs);

    // Without auto-sync, the next change stops at the manifest commit, and says why.
    let client = kube("dev").await;
    let apps = apps(&client);
    let policy = set_auto_sync(&apps, ms, Value::Null).await;
    let run = mezame_sandbox::ci::run(&state, ms, "dev", Some("fix: release reserved stock")).await.unwrap();
    let d = chain_of(&server, ms, &run.manifest_commit, "the chain stopped at the manifest commit", |d| d.waiting.is_some()).await;
    assert_eq!(d.waiting.as_deref(), Some("manifest changed, not synced: auto-sync is off"));
    assert!(d.sync.is_none() && d.rollout.is_none() && !d.before_observed);
    // Auto-sync back: the same chain completes.
    set_auto_sync(&apps, ms, policy).await;
    chain_of(&server, ms, &run.manifest_commit, "the chain completes once auto-sync is back", |d| {
        d.rollout.as_ref().is_some_and(|r| r.complete) && d.waiting.is_none()
    })
    .await;
    settled("dev").await;
}

#[tokio::test]
async fn bad_queries_are_refused() {
    let server = server();
    for (q, status) in [("limit=0", 400), ("limit=501", 400), ("nope=1", 400)] {
        let (s, body) = get_json(&server.url(&format!("/api/envs/dev/deploys?{q}"))).await;
        assert_eq!(s, status, "{q}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    let (s, body) = get_json(&server.url("/api/envs/nowhere/deploys")).await;
    assert_eq!(s, 404, "{body}");
    // Without [git], the page says what to configure.
    let bare = Server::start(&sandbox_env_toml("dev"));
    for path in ["/api/envs/dev/deploys", "/api/envs/dev/deploys/events"] {
        let (s, body) = get_json(&bare.url(path)).await;
        assert_eq!(s, 404, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("[git] manifests"), "{path}: {body}");
    }
}

/// The tag `ms`'s Deployment runs in `env`, as the cluster says.
async fn running_tag(env: &str, ms: &str) -> String {
    let client = kube(env).await;
    let d: k8s_openapi::api::apps::v1::Deployment =
        kube::Api::namespaced(client, mezame_sandbox::platform::APP_NAMESPACE).get(ms).await.unwrap();
    let image = d.spec.unwrap().template.spec.unwrap().containers[0].image.clone().unwrap();
    image.rsplit_once(':').unwrap().1.to_string()
}

#[tokio::test]
async fn what_runs_where_and_what_a_promotion_would_ship() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&format!("{}{}{}", sandbox_git_toml(&["dev", "prod"]), sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    indexed(&server, "limit=1").await;
    let (status, body) = get_json(&server.url("/api/versions")).await;
    assert_eq!(status, 200, "{body}");
    let m: VersionMatrix = serde_json::from_value(body).unwrap();
    assert_eq!(
        (m.envs.clone(), m.from.as_str(), m.to.as_str()),
        (vec!["dev".to_string(), "prod".to_string()], "dev", "prod"),
        "prod, protected, is the default target"
    );
    let state = sandbox();
    let k8s = state.repos().manifests();
    let mut checked = 0;
    for row in m.rows.iter().filter(|r| r.ms != "ambassador") {
        let (dev, prod) = (running_tag("dev", &row.ms).await, running_tag("prod", &row.ms).await);
        let cell = |env: &str| row.cells.iter().find(|c| c.env == env).unwrap();
        assert_eq!(cell("dev").tag.as_deref(), Some(dev.as_str()), "{}", row.ms);
        assert_eq!(cell("prod").tag.as_deref(), Some(prod.as_str()), "{}", row.ms);
        let app = state.repos().app(&row.ms);
        let subject = git(&app, &["show", "-s", "--format=%s", &dev]);
        assert_eq!(cell("dev").commit.as_ref().map(|c| c.subject.as_str()), Some(subject.as_str()));
        // The release notes: git's own `prod..dev`.
        let truth: BTreeSet<String> = git(&app, &["rev-list", &format!("{prod}..{dev}")]).lines().map(str::to_string).collect();
        let shown: BTreeSet<String> = row.pending.iter().map(|c| c.sha.clone()).collect();
        assert_eq!(shown, truth, "{}: {prod}..{dev}", row.ms);
        // prod runs a release merge commit, which dev never deployed (dev deploys `development`).
        let in_dev = !git(
            &k8s,
            &["log", "--first-parent", "--format=%H", &format!("-S:{prod}"), "master", "--", &format!("dev/manifests/{}", row.ms)],
        )
        .is_empty();
        assert_eq!(row.to_never_ran_in_from, !in_dev, "{}", row.ms);
        checked += 1;
    }
    assert_eq!(checked, 17);
    for (q, want) in [("from=nowhere", 404), ("from=dev&to=dev", 400), ("to=qa", 404)] {
        let (s, body) = get_json(&server.url(&format!("/api/versions?{q}"))).await;
        assert_eq!(s, want, "{q}: {body}");
    }
}

#[tokio::test]
async fn a_signed_push_webhook_indexes_at_once_and_an_unsigned_one_changes_nothing() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    const SECRET: &str = "e2e-webhook-secret";
    // Fetched once an hour: only the webhook can bring the new commit in (Argo CD does not sync it).
    let git = sandbox_git_toml(&["dev"])
        .replace("fetch_interval_secs = 3\n", "fetch_interval_secs = 3600\nwebhook_secret_env = \"MEZAME_E2E_HOOK_SECRET\"\n");
    assert!(git.contains("3600"), "{git}");
    let server = Server::start_with_env(&format!("{git}{}", sandbox_env_toml("dev")), &[("MEZAME_E2E_HOOK_SECRET", SECRET)]);
    indexed(&server, "limit=1").await;
    let ms = "auth-service";
    // A sync Argo CD made would bring the commit in too (mezame fetches what it saw synced): none here.
    let apps = apps(&kube("dev").await);
    let policy = set_auto_sync(&apps, ms, Value::Null).await;
    let run = mezame_sandbox::ci::run(&sandbox(), ms, "dev", Some("feat: sessions per device")).await.unwrap();
    let hook = server.url("/api/hooks/git");
    let body = json!({"ref": "refs/heads/master", "after": run.manifest_commit}).to_string();
    let send = |signature: Option<String>, event: &str| {
        let mut r = mezame_e2e::anonymous()
            .post(&hook)
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .body(body.clone());
        if let Some(s) = signature {
            r = r.header("x-hub-signature-256", s);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let signed = mezame::adapters::secrets::webhook_signature(SECRET.as_bytes(), body.as_bytes());
    let forged = mezame::adapters::secrets::webhook_signature(b"a guess", body.as_bytes());
    for (why, signature) in [("unsigned", None), ("signed with another secret", Some(forged))] {
        let (s, answer) = send(signature, "push").await;
        assert_eq!(s, 401, "{why}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("X-Hub-Signature-256"), "{answer}");
    }
    let (s, answer) = send(Some(signed.clone()), "ping").await;
    assert_eq!((s, answer["fetching"].as_bool()), (200, Some(false)), "{answer}");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let listed = |page: &DeployList| page.deploys.iter().any(|d| d.manifest.sha == run.manifest_commit);
    assert!(!listed(&deploys(&server, &format!("ms={ms}&limit=5")).await), "refused hooks and a ping fetch nothing");
    let (s, answer) = send(Some(signed), "push").await;
    assert_eq!((s, answer["fetching"].as_bool()), (202, Some(true)), "{answer}");
    let t = std::time::Instant::now();
    eventually("the pushed commit indexed", 30 * std::time::Duration::from_secs(1), || async {
        listed(&deploys(&server, &format!("ms={ms}&limit=5")).await).then_some(())
    })
    .await;
    println!("webhook → deploy listed: {} ms", t.elapsed().as_millis());
    set_auto_sync(&apps, ms, policy).await;
    chain_of(&server, ms, &run.manifest_commit, "the chain completes", |d| d.rollout.as_ref().is_some_and(|r| r.complete)).await;
    // With no webhook, Argo CD's sync of a commit mezame has not fetched makes it fetch at once.
    let next = mezame_sandbox::ci::run(&sandbox(), ms, "dev", Some("fix: one session per device again")).await.unwrap();
    chain_of(&server, ms, &next.manifest_commit, "the synced commit fetched with no webhook", |d| {
        d.rollout.as_ref().is_some_and(|r| r.complete)
    })
    .await;
    settled("dev").await;
}

#[tokio::test]
async fn the_diff_between_two_deploys_is_gits() {
    let server = server();
    let ms = "pricing-service";
    let page = indexed(&server, &format!("ms={ms}&limit=10")).await;
    let (old, new) = (&page.deploys[3], &page.deploys[0]);
    let url = |from: &str, to: &str| server.url(&format!("/api/envs/dev/deploys/{ms}/diff?from={from}&to={to}"));
    let (s, body) = get_json(&url(&old.manifest.sha[..10], &new.manifest.sha)).await;
    assert_eq!(s, 200, "{body}");
    let diff: DeployDiff = serde_json::from_value(body).unwrap();
    assert_eq!((diff.from.tag.as_str(), diff.to.tag.as_str(), diff.backwards), (old.tag.as_str(), new.tag.as_str(), false));
    let state = sandbox();
    let app = state.repos().app(ms);
    let truth: BTreeSet<String> = git(&app, &["rev-list", &format!("{}..{}", old.tag, new.tag)]).lines().map(str::to_string).collect();
    assert_eq!(diff.commits.iter().map(|c| c.sha.clone()).collect::<BTreeSet<_>>(), truth, "the app commits: git's old..new");
    let k8s = state.repos().manifests();
    let dir = format!("dev/manifests/{ms}");
    let patch = git(&k8s, &["diff", "--no-color", "--no-renames", "-U3", &old.manifest.sha, &new.manifest.sha, "--", &dir]);
    let joined: String = diff.files.iter().map(|f| f.patch.as_str()).collect();
    assert_eq!(joined.trim_end(), patch, "the manifest diff: git's own, cut per file");
    let names = git(&k8s, &["diff", "--name-only", &old.manifest.sha, &new.manifest.sha, "--", &dir]);
    assert_eq!(diff.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), names.lines().collect::<Vec<_>>());
    assert!(joined.contains(&format!(":{}", new.tag)) && !diff.truncated);
    // Backwards: the same commits, taken away.
    let (_, body) = get_json(&url(&new.manifest.sha, &old.manifest.sha)).await;
    let back: DeployDiff = serde_json::from_value(body).unwrap();
    assert!(back.backwards);
    assert_eq!(back.commits, diff.commits);
    for (from, to, want) in [("zz", "zz", 400), ("0000000", &*new.manifest.sha, 404), (&*old.manifest.sha, "12", 400)] {
        let (s, body) = get_json(&url(from, to)).await;
        assert_eq!(s, want, "{from}..{to}: {body}");
    }
}
