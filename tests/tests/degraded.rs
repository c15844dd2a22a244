//! A change that fails after it arrived, against the real Argo CD: `ci
//! --broken` deploys pods that never start (they name a scheduler nobody
//! runs, so they stay Pending), the rollout passes its 20 s progress deadline
//! and Argo CD calls the Application Degraded; the next `ci` fixes it. DORA
//! then counts the broken deploy as failed ("Degraded … after it arrived")
//! though Argo CD says Healthy again, and the fix as its recovery — also
//! after a restart (the transition is in the database: Argo CD keeps only the
//! current health).

use mezame_e2e::cluster::*;
use mezame_e2e::manifests::{git, indexed, page};
use mezame_e2e::{Server, eventually, get_json, kube, sandbox, sandbox_env_toml, sandbox_git_toml};
use mezame_shared::dora::Dora;

async fn dora(server: &Server, ms: &str) -> Dora {
    let (s, body) = get_json(&server.url(&format!("/api/envs/dev/deploys/{ms}/dora?window=7d"))).await;
    assert_eq!(s, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// Argo CD's health of `ms`'s Application in dev.
async fn health(ms: &str) -> String {
    let app = apps(&kube("dev").await).get(ms).await.unwrap();
    app.data["status"]["health"]["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_deploy_that_went_degraded_counts_as_failed_once_recovered_and_after_a_restart() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let db = tempfile::tempdir().unwrap();
    let config =
        format!("database = \"{}\"\n{}{}", db.path().join("mezame.db").display(), sandbox_git_toml(&["dev"]), sandbox_env_toml("dev"));
    let server = Server::start(&config);
    let ms = "firmware-updater";
    indexed(&server, ms).await;
    let state = sandbox();

    let broken = mezame_sandbox::ci::run_as(&state, ms, "dev", Some("feat: delta firmware images"), true).await.unwrap();
    eventually("Argo CD says the broken rollout is Degraded", 3 * MINUTE, || async { (health(ms).await == "Degraded").then_some(()) })
        .await;
    // Seen by mezame while it lasts: the chain says the rollout is stuck.
    eventually("the chain says the rollout is stuck", MINUTE, || async {
        let p = page(&server, "dev", ms).await;
        let d = p.deploys.into_iter().find(|d| d.manifest.sha == broken.manifest_commit)?;
        d.waiting.as_deref().is_some_and(|w| w.starts_with("rollout stuck")).then_some(())
    })
    .await;

    // DORA counts it failed while it lasts: mezame recorded the transition.
    eventually("DORA says the broken deploy went Degraded", MINUTE, || async {
        let d = dora(&server, ms).await;
        let p = d.points.into_iter().find(|p| p.manifest == broken.manifest_commit)?;
        p.failure.filter(|f| f.starts_with("Degraded ") && f.ends_with(" after it arrived"))
    })
    .await;

    let fix = mezame_sandbox::ci::run(&state, ms, "dev", Some("fix: firmware images start again")).await.unwrap();
    let diff = git(&["show", "--format=", &fix.manifest_commit]);
    assert_eq!(
        diff.lines().filter(|l| l.starts_with('-') && l.ends_with("# ci --broken")).count(),
        2,
        "the fix removes both lines:\n{diff}"
    );
    eventually("the fix rolled out and Argo CD says Healthy", 3 * MINUTE, || async {
        let p = page(&server, "dev", ms).await;
        let d = p.deploys.into_iter().find(|d| d.manifest.sha == fix.manifest_commit)?;
        (d.rollout.as_ref().is_some_and(|r| r.complete) && health(ms).await == "Healthy").then_some(())
    })
    .await;

    let check = |dora: &Dora| {
        let point = |sha: &str| dora.points.iter().find(|p| p.manifest == sha).unwrap_or_else(|| panic!("{sha} in {:?}", dora.points));
        let (b, f) = (point(&broken.manifest_commit), point(&fix.manifest_commit));
        let why = b.failure.as_deref().unwrap_or_default();
        // All of it when it fails: this assertion failed once in CI (the
        // broken deploy's failure None once the fix had arrived, seconds apart).
        assert!(why.starts_with("Degraded ") && why.ends_with(" after it arrived"), "{b:?}\nfix {f:?}\nall {dora:?}");
        assert_eq!(f.failure, None, "{f:?}");
        let recovered = f.reached.zip(b.reached).map(|(f, b)| (f - b).num_seconds());
        assert!(recovered.is_some_and(|s| s > 0), "{b:?} {f:?}");
        assert_eq!(b.recovered_secs, recovered, "recovered when the fix arrived");
        assert!(dora.failed >= 1 && dora.notes.iter().any(|n| n.contains("Degraded within 30 min")), "{:?}", dora.notes);
    };
    check(&dora(&server, ms).await);
    // A restarted server knows it from its database: Argo CD says Healthy now.
    drop(server);
    let again = Server::start(&config);
    indexed(&again, ms).await;
    check(&dora(&again, ms).await);

    settled("dev").await;
}
