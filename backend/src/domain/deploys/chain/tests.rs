use super::*;

const P: &str = "{env}/manifests/{ms}";

fn t(min: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap()
}

fn row(sha: &str, seq: i64, tag: &str, at: i64) -> DeployRow {
    DeployRow {
        sha: sha.into(),
        env: "dev".into(),
        ms: "orders".into(),
        seq,
        tag: tag.into(),
        previous_tag: None,
        files: vec!["dev/manifests/orders/d.yaml".into()],
        at: t(at),
    }
}

fn commit(sha: &str, parents: &[&str], author: &str, subject: &str, trailers: &[(&str, &str)]) -> Commit {
    Commit {
        sha: sha.into(),
        parents: parents.iter().map(|p| p.to_string()).collect(),
        author: format!("{author} <{}@x>", author.to_lowercase()),
        authored_at: t(0),
        committer: author.into(),
        committed_at: t(0),
        subject: subject.into(),
        trailers: trailers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn sync(revision: &str, seq: i64, finished: i64) -> SyncRow {
    SyncRow {
        env: "dev".into(),
        app: "orders".into(),
        path: "dev/manifests/orders".into(),
        revision: revision.into(),
        finished: t(finished),
        history_id: seq,
        started: Some(t(finished - 1)),
        initiated_by: None,
        seq: Some(seq),
    }
}

fn app(images: &[&str], rs: &[(&str, i64, &str)]) -> AppState {
    AppState {
        name: "orders".into(),
        auto_sync: true,
        sync: "Synced".into(),
        operation: Some(("Succeeded".into(), String::new())),
        deployment: Some(Rollouts {
            images: images.iter().map(|s| s.to_string()).collect(),
            replicas: 2,
            updated: 2,
            available: 2,
            ready: 2,
            problem: None,
            completed_at: Some(t(40)),
            replica_sets: rs
                .iter()
                .map(|(n, rev, img)| ReplicaSetState {
                    name: n.to_string(),
                    revision: *rev,
                    images: vec![img.to_string()],
                    created: Some(t(*rev)),
                })
                .collect(),
        }),
    }
}

struct World {
    rows: Vec<DeployRow>,
    commits: HashMap<String, Commit>,
    apps_commits: HashMap<(String, String), Commit>,
    syncs: Vec<SyncRow>,
    apps: HashMap<String, AppState>,
}

impl World {
    fn chains(&self) -> Vec<Deploy> {
        chains(&Inputs {
            pattern: P,
            rows: &self.rows,
            manifest_commits: &self.commits,
            app_commits: &self.apps_commits,
            syncs: &self.syncs,
            apps: &self.apps,
        })
    }
}

/// Three deploys of orders: m1 (before the history observed), m2 and m3
/// picked up by one sync, m4 changed but not synced.
fn world() -> World {
    let trailers = |sha: &'static str| {
        vec![
            ("Argocd-reference-commit-sha", sha),
            ("Argocd-reference-commit-author", "Aiko Tanaka <aiko@x>"),
            ("Argocd-reference-commit-date", "2023-11-14T22:00:00Z"),
            ("Argocd-reference-commit-subject", "fix: a thing"),
        ]
    };
    let mut commits = HashMap::new();
    for (sha, tag) in [("m1", "a1"), ("m2", "a2"), ("m3", "a3"), ("m4", "a4")] {
        commits.insert(
            sha.to_string(),
            commit(sha, &["p"], "github-actions[bot]", &format!("ci(orders): deploy {tag} to dev"), &trailers(tag)),
        );
    }
    World {
        rows: vec![row("m4", 9, "a4", 50), row("m3", 7, "a3", 30), row("m2", 6, "a2", 25), row("m1", 3, "a1", 10)],
        commits,
        apps_commits: HashMap::new(),
        // The first observed sync (at 5, what was deployed then: m1), then one at 8 covering m2 and m3.
        syncs: vec![sync("s5", 5, 20), sync("s8", 8, 35)],
        apps: HashMap::from([(
            "orders".to_string(),
            app(&["r/orders-dev:a3"], &[("orders-1", 1, "r/orders-dev:a1"), ("orders-2", 2, "r/orders-dev:a3")]),
        )]),
    }
}

#[test]
fn each_link_is_joined() {
    let d = world().chains();
    let m3 = &d[1];
    let app = m3.app.as_ref().unwrap();
    assert_eq!((app.sha.as_str(), app.source, app.author.as_str()), ("a3", LinkSource::Trailers, "Aiko Tanaka"));
    assert_eq!(app.at, DateTime::parse_from_rfc3339("2023-11-14T22:00:00Z").unwrap());
    assert_eq!(m3.manifest.author, "github-actions[bot]");
    let s = m3.sync.as_ref().unwrap();
    assert_eq!((s.revision.as_str(), s.also_deployed.clone()), ("s8", vec!["m2".to_string()]), "one sync picked up m2 and m3");
    let r = m3.rollout.as_ref().unwrap();
    assert!(r.current && r.complete && r.replica_set == "orders-2");
    assert_eq!(m3.waiting, None);
    assert_eq!(m3.lead_time_secs, Some((t(40) - app.at).num_seconds()));
    let m2 = &d[2];
    assert_eq!(m2.sync.as_ref().unwrap().also_deployed, vec!["m3".to_string()]);
    assert!(m2.rollout.is_none(), "a2's ReplicaSet is gone");
}

#[test]
fn what_was_synced_before_the_observed_history_says_so() {
    let d = world().chains();
    let m1 = &d[3];
    // The first observed sync (s5) deployed m1's tag: nothing newer below it.
    assert_eq!(m1.sync.as_ref().map(|s| s.revision.as_str()), Some("s5"));
    let mut w = world();
    w.rows.insert(3, row("m1b", 4, "a1b", 12));
    let d = w.chains();
    let (m1b, m1) = (&d[3], &d[4]);
    assert_eq!(m1b.sync.as_ref().map(|s| s.revision.as_str()), Some("s5"));
    assert!(m1.sync.is_none() && m1.before_observed && m1.waiting.is_none(), "{m1:?}");
    let r = m1.rollout.as_ref().unwrap();
    assert!(!r.current && r.replica_set == "orders-1");
}

#[test]
fn a_chain_that_stops_says_why() {
    let mut w = world();
    assert_eq!(w.chains()[0].waiting.as_deref(), Some("manifest changed, Argo CD has not noticed it yet"));
    w.apps.get_mut("orders").unwrap().auto_sync = false;
    assert_eq!(w.chains()[0].waiting.as_deref(), Some("manifest changed, not synced: auto-sync is off"));
    w.apps.get_mut("orders").unwrap().operation = Some(("Failed".into(), "one or more objects failed to apply".into()));
    assert_eq!(w.chains()[0].waiting.as_deref(), Some("sync failed: one or more objects failed to apply"));
    // Synced, the new ReplicaSet not ready and the deadline passed.
    let mut w = world();
    w.syncs.push(sync("s9", 9, 55));
    let a = w.apps.get_mut("orders").unwrap();
    let dep = a.deployment.as_mut().unwrap();
    dep.images = vec!["r/orders-dev:a4".into()];
    dep.replica_sets.push(ReplicaSetState {
        name: "orders-3".into(),
        revision: 3,
        images: vec!["r/orders-dev:a4".into()],
        created: Some(t(56)),
    });
    dep.updated = 1;
    dep.ready = 1;
    assert_eq!(w.chains()[0].waiting.as_deref(), Some("rolling out: 1/2 ready"));
    w.apps.get_mut("orders").unwrap().deployment.as_mut().unwrap().problem = Some("ProgressDeadlineExceeded".into());
    assert_eq!(w.chains()[0].waiting.as_deref(), Some("rollout stuck: ProgressDeadlineExceeded"));
    w.apps.clear();
    assert!(w.chains()[0].waiting.as_deref().unwrap().starts_with("no Argo CD Application in dev"));
}

#[test]
fn a_merged_branch_names_its_tip_and_who_merged_it() {
    let mut w = world();
    w.commits.insert("m4".into(), commit("m4", &["m3", "b1"], "Marek Nowak", "Merge deploy/prod/orders-a4", &[]));
    w.commits.insert(
        "b1".into(),
        commit("b1", &["m3"], "github-actions[bot]", "ci(orders): deploy a4 to prod", &[("Argocd-reference-commit-sha", "a4")]),
    );
    let d = &w.chains()[0];
    assert_eq!(d.manifest.subject, "ci(orders): deploy a4 to prod");
    assert_eq!(d.manifest.merged_by.as_deref(), Some("Marek Nowak"));
    assert_eq!(d.app.as_ref().unwrap().sha, "a4");
}

#[test]
fn without_trailers_the_tag_names_the_app_commit() {
    let mut w = world();
    w.commits.insert("m4".into(), commit("m4", &["m3"], "ci", "bump", &[]));
    w.apps_commits.insert(("orders".into(), "a4".into()), commit("a4", &[], "Priya Raman", "feat: x", &[]));
    let a = w.chains()[0].app.clone().unwrap();
    assert_eq!((a.sha.as_str(), a.source, a.author.as_str(), a.subject.as_str()), ("a4", LinkSource::AppRepo, "Priya Raman", "feat: x"));
}
