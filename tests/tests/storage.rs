//! The database, for real: SQLite files and a real PostgreSQL server (started
//! by `cargo xtask test` on a free loopback port; each test gets a fresh database).

use mezame::adapters::db::{AuditFilter, Backend, Db, NewAuditEntry, admin_execute};
use mezame_e2e::{Server, fresh_postgres, get_json};
use mezame_shared::audit::AuditOutcome;
use serde_json::json;

fn entry(action: &str, env: Option<&str>, outcome: AuditOutcome) -> NewAuditEntry {
    NewAuditEntry {
        actor: "aiko".into(),
        action: action.into(),
        env: env.map(Into::into),
        target: Some("cronjob/platform/mail-notification".into()),
        before: Some(json!({"suspend": true, "nested": {"list": [1, 2, 3]}})),
        after: None,
        outcome,
        message: (outcome == AuditOutcome::Error).then(|| "forbidden".to_string()),
    }
}

/// The same checks on either backend.
async fn audit_log_round_trip(url: &str, backend: Backend) {
    let db = Db::connect(url).await.expect("connect and migrate");
    assert_eq!(db.backend(), backend);
    db.ping().await.unwrap();
    assert!(db.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..5 {
        let env = if i % 2 == 0 { Some("dev") } else { Some("prod") };
        let outcome = if i == 4 { AuditOutcome::Error } else { AuditOutcome::Ok };
        ids.push(db.record_audit(&entry(&format!("action.{i}"), env, outcome)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let all = db.list_audit(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["action.4", "action.3", "action.2", "action.1", "action.0"]);
    let newest = &all[0];
    assert_eq!(newest.outcome, AuditOutcome::Error);
    assert_eq!(newest.message.as_deref(), Some("forbidden"));
    assert_eq!(newest.before, Some(json!({"suspend": true, "nested": {"list": [1, 2, 3]}})));
    assert_eq!(newest.after, None);
    assert!((chrono::Utc::now() - newest.at).num_seconds().abs() < 60, "stamped now: {}", newest.at);
    let dev = db.list_audit(&AuditFilter { env: Some("dev".into()), limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(dev.len(), 3);
    assert!(dev.iter().all(|e| e.env.as_deref() == Some("dev")));
    let page = db.list_audit(&AuditFilter { before: Some(ids[3]), limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
    // Connecting again applies no migration twice and keeps the data.
    let again = Db::connect(url).await.expect("reconnect");
    assert_eq!(again.list_audit(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap().len(), 5);
    // What a reader may see: entries of their environments, and their own of none.
    let mine = db.record_audit(&NewAuditEntry { env: None, ..entry("token.create", None, AuditOutcome::Ok) }).await.unwrap();
    db.record_audit(&NewAuditEntry { actor: "ben".into(), ..entry("token.create", None, AuditOutcome::Ok) }).await.unwrap();
    let scope =
        |envs: &[&str]| Some(mezame::adapters::db::AuditScope { envs: envs.iter().map(|e| e.to_string()).collect(), actor: "aiko".into() });
    let seen = db.list_audit(&AuditFilter { limit: 100, scope: scope(&["dev"]), ..Default::default() }).await.unwrap();
    assert_eq!(seen.iter().map(|e| e.id).collect::<Vec<_>>(), [mine, ids[4], ids[2], ids[0]], "dev's and aiko's own, not prod's nor ben's");
    let none = db.list_audit(&AuditFilter { limit: 100, scope: scope(&[]), ..Default::default() }).await.unwrap();
    assert_eq!(none.iter().map(|e| e.id).collect::<Vec<_>>(), [mine]);
}

#[tokio::test]
async fn sqlite_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/mezame.db");
    audit_log_round_trip(&path.display().to_string(), Backend::Sqlite).await;
    assert!(path.exists(), "the file and its directories are created");
}

#[tokio::test]
async fn postgres_audit_log() {
    let url = fresh_postgres().await;
    audit_log_round_trip(&url, Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_rejects_an_invalid_outcome_at_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    Db::connect(&url).await.unwrap();
    let err = admin_execute(&url, "INSERT INTO audit_log (at_ms, actor, action, outcome) VALUES (1, 'a', 'b', 'maybe')")
        .await
        .expect_err("the CHECK constraint refuses it");
    assert!(err.to_string().to_lowercase().contains("check"), "{err}");
}

/// `GET /api/audit` of the real server, on each backend.
async fn audit_endpoint(database: &str) {
    let db = Db::connect(database).await.unwrap();
    for i in 0..3 {
        db.record_audit(&entry(&format!("env.wake.{i}"), Some("dev"), AuditOutcome::Ok)).await.unwrap();
    }
    db.record_audit(&entry("env.sleep", Some("qa"), AuditOutcome::Ok)).await.unwrap();
    let s = Server::start(&format!("database = \"{database}\"\n"));
    let (status, page) = get_json(&s.url("/api/audit?env=dev&limit=2")).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "env.wake.2");
    assert_eq!(entries[0]["outcome"], "ok");
    assert_eq!(entries[0]["before"]["nested"]["list"][2], 3);
    let next = page["next_before"].as_i64().expect("a next page");
    let (_, rest) = get_json(&s.url(&format!("/api/audit?env=dev&limit=2&before={next}"))).await;
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert!(rest["next_before"].is_null());
    let (_, all) = get_json(&s.url("/api/audit")).await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 4);
    let (status, health) = get_json(&s.url("/api/health")).await;
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn audit_endpoint_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    audit_endpoint(&dir.path().join("mezame.db").display().to_string()).await;
}

#[tokio::test]
async fn audit_endpoint_on_postgres() {
    audit_endpoint(&fresh_postgres().await).await;
}

/// The power tables on either backend: one active run per environment (the
/// unique partial index), and the runner's lease on the database's clock:
/// taken by one, refused to another until it expires, then taken over with a
/// higher fencing token; the old runner can neither renew it, nor write a
/// step, nor record the run's end.
async fn runs_and_leases(url: &str) {
    use mezame::adapters::db::StepUpdate;
    use mezame_shared::power::{RunAction, RunState, StepState};
    let db = Db::connect(url).await.unwrap();
    let first = db.create_run("dev", RunAction::Wake, (None, None), "aiko", &["a", "b"]).await.unwrap().expect("created");
    assert_eq!(db.create_run("dev", RunAction::Sleep, (None, None), "ben", &["a"]).await.unwrap(), Err(first), "one active run in dev");
    let qa = db.create_run("qa", RunAction::Sleep, (None, None), "ben", &["a"]).await.unwrap().expect("qa is another environment");

    let long = 30_000;
    assert_eq!(db.orphaned_runs().await.unwrap(), [first, qa], "never claimed: nobody drives them");
    let fence_a = db.claim_run(first, "replica-a", long).await.unwrap().expect("a takes it");
    assert_eq!(db.claim_run(first, "replica-b", long).await.unwrap(), None, "leased to a: b keeps off");
    assert_eq!(db.claim_run(first, "replica-a", long).await.unwrap(), Some(fence_a), "a renews, same fence");
    assert_eq!(db.orphaned_runs().await.unwrap(), [qa]);
    assert_eq!(db.run(first).await.unwrap().unwrap().runner.as_deref(), Some("replica-a"));
    let step = |state| StepUpdate { state, attempts: 1, started: None, finished: None, waited_ms: 0, message: None, changed: None };
    assert!(db.update_step(first, 0, &step(StepState::Running), "replica-a", fence_a).await.unwrap(), "the holder writes");
    // a renews with a short lease and dies: once it expires, b takes over.
    db.claim_run(first, "replica-a", 300).await.unwrap().expect("renewed");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(db.orphaned_runs().await.unwrap(), [first, qa]);
    let fence_b = db.claim_run(first, "replica-b", long).await.unwrap().expect("expired: b takes over");
    assert!(fence_b > fence_a, "a takeover raises the fence ({fence_a} → {fence_b})");
    assert_eq!(db.claim_run(first, "replica-a", long).await.unwrap(), None, "a cannot renew any more");
    assert!(!db.update_step(first, 0, &step(StepState::Failed), "replica-a", fence_a).await.unwrap(), "nor write a step");
    assert!(!db.finish_run(first, "replica-a", fence_a, RunState::Failed, Some("stale")).await.unwrap(), "nor end the run");
    assert!(
        !db.update_step(first, 0, &step(StepState::Done), "replica-b", fence_a).await.unwrap(),
        "a stale fence is refused even to the holder"
    );
    assert!(db.update_step(first, 0, &step(StepState::Done), "replica-b", fence_b).await.unwrap());
    assert_eq!(db.run(first).await.unwrap().unwrap().steps[0].state, StepState::Done, "a's write did not land");
    assert!(db.finish_run(first, "replica-b", fence_b, RunState::Succeeded, None).await.unwrap());
    let run = db.run(first).await.unwrap().unwrap();
    assert_eq!((run.state, run.runner.as_deref()), (RunState::Succeeded, Some("replica-b")));
    assert_eq!(db.claim_run(first, "replica-b", long).await.unwrap(), None, "a finished run is not leased");
    // A released run (a server shutting down) is free at once.
    let fence_q = db.claim_run(qa, "replica-a", long).await.unwrap().unwrap();
    db.release_run(qa, "replica-a", fence_q).await.unwrap();
    assert_eq!(db.orphaned_runs().await.unwrap(), [qa]);
    assert!(db.claim_run(qa, "replica-b", long).await.unwrap().is_some());
    let next = db.create_run("dev", RunAction::Sleep, (None, None), "ben", &["a"]).await.unwrap().expect("dev is free again");
    assert!(next > first);
}

#[tokio::test]
async fn sqlite_runs_and_leases() {
    let dir = tempfile::tempdir().unwrap();
    runs_and_leases(&dir.path().join("mezame.db").display().to_string()).await;
}

#[tokio::test]
async fn postgres_runs_and_leases() {
    runs_and_leases(&fresh_postgres().await).await;
}

/// The deploy index and mezame's own changes on either backend: a pass
/// written whole, the queries a page and the matrix make, the syncs joined
/// with the line, a pushed change pending until merged, a freeze set, read
/// and lifted once.
async fn deploy_tables(url: &str) {
    use chrono::{DateTime, Utc};
    use mezame::adapters::db::{DeployRow, HealthRow, RepoIndex, SyncRow};
    use mezame::adapters::git::Commit;
    use mezame_shared::deploys::{ChangeKind, DeployChange, Freeze};
    let db = Db::connect(url).await.unwrap();
    let at = |min: i64| DateTime::<Utc>::from_timestamp(1_780_000_000 + min * 60, 0).unwrap();
    let commit = |sha: &str, parent: Option<&str>, min: i64| Commit {
        sha: sha.into(),
        parents: parent.into_iter().map(str::to_string).collect(),
        author: "Aiko Tanaka <aiko@example.com>".into(),
        authored_at: at(min),
        committer: "ci <ci@example.com>".into(),
        committed_at: at(min),
        subject: format!("deploy {sha}"),
        trailers: vec![("Argocd-reference-commit-sha".into(), format!("app{sha}"))],
    };
    let commits = vec![commit("aaa1", None, 0), commit("bbb2", Some("aaa1"), 1), commit("ccc3", Some("bbb2"), 2)];
    let deploy = |sha: &str, seq: i64, tag: &str, prev: Option<&str>| DeployRow {
        sha: sha.into(),
        env: "dev".into(),
        ms: "orders".into(),
        seq,
        tag: tag.into(),
        previous_tag: prev.map(str::to_string),
        files: vec!["dev/manifests/orders/deployment.yaml".into()],
        at: at(seq),
    };
    let deploys = vec![deploy("aaa1", 0, "t1", None), deploy("ccc3", 2, "t2", Some("t1"))];
    let line: Vec<(String, i64)> = vec![("aaa1".into(), 0), ("bbb2".into(), 1), ("ccc3".into(), 2)];
    let refs = vec![("master".to_string(), "ccc3".to_string())];
    let pass = RepoIndex { repo: "manifests", commits: &commits, refs: &refs, line: &line, deploys: &deploys };
    db.index_repo(&pass).await.unwrap();
    db.index_repo(&pass).await.expect("a pass done again changes nothing");
    assert_eq!(db.manifest_line_tip().await.unwrap(), Some(("ccc3".to_string(), 2)));
    assert_eq!(db.git_refs("manifests").await.unwrap(), refs);
    assert_eq!(db.commit_count().await.unwrap(), 3);
    assert_eq!(db.deploys("dev", None, 10).await.unwrap(), vec![deploys[1].clone(), deploys[0].clone()], "newest first");
    assert_eq!(db.deploys("dev", Some("orders"), 1).await.unwrap(), vec![deploys[1].clone()]);
    assert_eq!(db.latest_deploys("dev").await.unwrap(), vec![deploys[1].clone()]);
    assert_eq!(db.deploys_at("dev", "orders", "ccc").await.unwrap(), vec![deploys[1].clone()], "a sha prefix");
    assert!(db.deploys_at("dev", "orders", "c%").await.unwrap().is_empty(), "no LIKE wildcard gets through");
    let ever = db.ever_deployed("dev", &["t1".into(), "t9".into()]).await.unwrap();
    assert_eq!(ever.into_iter().collect::<Vec<_>>(), vec![("orders".to_string(), "t1".to_string())]);
    let read = db.commits("manifests", &["bbb2".into()]).await.unwrap();
    assert_eq!(read, vec![commits[1].clone()], "a commit reads back whole, trailers included");
    let sync = SyncRow {
        env: "dev".into(),
        app: "orders".into(),
        path: "dev/manifests/orders".into(),
        revision: "bbb2".into(),
        finished: at(3),
        history_id: 7,
        started: Some(at(3)),
        initiated_by: None,
        seq: None,
    };
    db.record_syncs(std::slice::from_ref(&sync)).await.unwrap();
    db.record_syncs(std::slice::from_ref(&sync)).await.expect("recorded twice, kept once");
    let syncs = db.syncs("dev", &["dev/manifests/orders".into()]).await.unwrap();
    assert_eq!(syncs, vec![SyncRow { seq: Some(1), ..sync }], "the revision's place on the line");

    let change = DeployChange {
        kind: ChangeKind::Promote,
        env: "prod".into(),
        ms: "orders".into(),
        tag: "t2".into(),
        previous_tag: Some("t1".into()),
        from: Some("dev".into()),
        reason: None,
        lines: vec![],
        commits: vec![],
        commit: Some("ddd4".into()),
        branch: Some("mezame/promote/prod/orders-t2".into()),
        needs_merge: true,
        by: "ada".into(),
        at: at(4),
    };
    db.record_change("ddd4", &change, false).await.unwrap();
    db.record_change("ddd4", &change, false).await.expect("recorded twice, kept once");
    assert_eq!(db.pending_changes(Some("prod")).await.unwrap(), vec![change.clone()]);
    assert!(db.pending_changes(Some("dev")).await.unwrap().is_empty());
    db.change_merged("ddd4", at(5).timestamp_millis()).await.unwrap();
    assert!(db.pending_changes(None).await.unwrap().is_empty(), "merged: no longer waiting");
    let freeze = Freeze { env: "dev".into(), ms: "orders".into(), tag: "t1".into(), reason: "500s".into(), by: "omar".into(), at: at(6) };
    db.put_freeze(&freeze).await.unwrap();
    let again = Freeze { reason: "still 500s".into(), ..freeze.clone() };
    db.put_freeze(&again).await.expect("a second rollback replaces the freeze");
    assert_eq!(db.freeze("dev", "orders").await.unwrap(), Some(again.clone()));
    assert_eq!(db.freezes("dev").await.unwrap(), vec![again]);
    assert!(db.lift_freeze("dev", "orders").await.unwrap());
    assert!(!db.lift_freeze("dev", "orders").await.unwrap(), "lifted once");
    assert_eq!(db.freeze("dev", "orders").await.unwrap(), None);
    // Argo CD health transitions: recorded once whoever writes them again, read oldest first.
    let health = |status: &str, min: i64| HealthRow {
        env: "dev".into(),
        app: "orders".into(),
        path: "dev/manifests/orders".into(),
        status: status.into(),
        at: at(min),
    };
    let seen = [health("Degraded", 9), health("Healthy", 8), health("Degraded", 7)];
    db.record_health(&seen).await.unwrap();
    db.record_health(&seen[..2]).await.expect("a transition seen again is not an error");
    assert_eq!(db.health_since("dev", "dev/manifests/orders", "Degraded").await.unwrap(), vec![at(7), at(9)]);
    assert_eq!(db.health_since("dev", "dev/manifests/orders", "Healthy").await.unwrap(), vec![at(8)]);
    assert!(db.health_since("qa", "dev/manifests/orders", "Degraded").await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_deploy_tables() {
    let dir = tempfile::tempdir().unwrap();
    deploy_tables(&dir.path().join("mezame.db").display().to_string()).await;
}

#[tokio::test]
async fn postgres_deploy_tables() {
    deploy_tables(&fresh_postgres().await).await;
}

/// Node interruptions on either backend: saved once per (env, node, kind)
/// whoever writes it again, read back oldest first, the newest `limit`.
async fn interruption_table(url: &str) {
    use chrono::{DateTime, Utc};
    use mezame_shared::capacity::{Interruption, InterruptionKind, ReplicasHit};
    let db = Db::connect(url).await.unwrap();
    let at = |s: i64| DateTime::<Utc>::from_timestamp(1_780_000_000 + s, 0).unwrap();
    let one = |node: &str, kind: InterruptionKind, s: i64| Interruption {
        at: at(s),
        kind,
        node: node.into(),
        instance_id: Some(format!("i-{node}")),
        instance_type: Some("m5.large".into()),
        zone: Some("eu-west-1a".into()),
        hit: vec![ReplicasHit {
            namespace: "platform".into(),
            name: "orders".into(),
            serving: true,
            ready_here: 2,
            ready_before: 2,
            lost_all: true,
        }],
    };
    let first = vec![one("n1", InterruptionKind::RebalanceRecommendation, 0), one("n1", InterruptionKind::SpotInterruption, 5)];
    db.save_interruptions("dev", &first).await.unwrap();
    // Another replica noticed the same one a moment later, and a new one.
    let again = vec![one("n1", InterruptionKind::SpotInterruption, 6), one("n2", InterruptionKind::SpotInterruption, 9)];
    db.save_interruptions("dev", &again).await.unwrap();
    let all = db.interruptions("dev", 10).await.unwrap();
    assert_eq!(all, vec![first[0].clone(), first[1].clone(), again[1].clone()], "the first write wins, oldest first");
    assert_eq!(db.interruptions("dev", 2).await.unwrap(), all[1..].to_vec(), "the newest 2");
    assert!(db.interruptions("qa", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_interruption_table() {
    let dir = tempfile::tempdir().unwrap();
    interruption_table(&dir.path().join("mezame.db").display().to_string()).await;
}

#[tokio::test]
async fn postgres_interruption_table() {
    interruption_table(&fresh_postgres().await).await;
}

/// The notifications outbox on either backend: a message queued once per
/// (env, event, webhook) whoever queues it again; one claim per attempt; a
/// failure retried later or given up; what a run shows.
async fn notification_outbox(url: &str) {
    use mezame::adapters::db::Queued;
    use mezame_shared::notify::DeliveryState;
    let db = Db::connect(url).await.unwrap();
    let q = |target: &str| Queued {
        env: "dev".into(),
        event_key: "run:7:succeeded".into(),
        target: target.into(),
        run_id: Some(7),
        body: "{\"text\":\"dev is awake\"}".into(),
    };
    assert!(db.queue_notification(&q("chat")).await.unwrap());
    assert!(!db.queue_notification(&q("chat")).await.unwrap(), "another replica queueing the same event adds nothing");
    assert!(db.queue_notification(&q("events")).await.unwrap());
    let due = db.due_notifications(10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.target.as_str()).collect::<Vec<_>>(), ["chat", "events"]);
    assert!(db.claim_notification(&due[0], 30_000).await.unwrap());
    assert!(!db.claim_notification(&due[0], 30_000).await.unwrap(), "one replica per attempt");
    assert!(db.claim_notification(&due[1], 30_000).await.unwrap());
    assert!(db.due_notifications(10).await.unwrap().is_empty(), "claimed: not due for 30 s");
    db.notification_sent(due[0].id).await.unwrap();
    db.notification_failed(due[1].id, "answered 500", Some(chrono::Utc::now() - chrono::Duration::seconds(1))).await.unwrap();
    let again = db.due_notifications(10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1), "the failed one is due again, one attempt made");
    assert!(db.claim_notification(&again[0], 30_000).await.unwrap());
    db.notification_failed(again[0].id, "answered 500", None).await.unwrap();
    let shown = db.run_notifications(7).await.unwrap();
    assert_eq!((shown[0].target.as_str(), shown[0].state, shown[0].event.as_str()), ("chat", DeliveryState::Sent, "run.succeeded"));
    assert_eq!((shown[1].state, shown[1].attempts, shown[1].last_error.as_deref()), (DeliveryState::GaveUp, 2, Some("answered 500")));
    assert!(db.due_notifications(10).await.unwrap().is_empty(), "given up: never due again");
}

#[tokio::test]
async fn sqlite_notification_outbox() {
    let dir = tempfile::tempdir().unwrap();
    notification_outbox(&dir.path().join("mezame.db").display().to_string()).await;
}

#[tokio::test]
async fn postgres_notification_outbox() {
    notification_outbox(&fresh_postgres().await).await;
}

/// A database blip makes a replica unready (`/api/health` 503, so the
/// Service stops sending to it) but never dead (`/api/live` 200, so the
/// kubelet does not restart it); once the database answers again it is
/// ready again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_blip_makes_a_replica_unready_not_dead() {
    let url = fresh_postgres().await;
    let (head, rest) = url.split_once('@').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    let proxy = mezame_e2e::proxy::Proxy::round_robin(vec![hostport.to_string()]).await;
    // Started off the runtime's threads: the proxy serves mezame's first connections meanwhile.
    let config = format!("database = \"{head}@{}/{db}\"\n", proxy.addr);
    let s = tokio::task::spawn_blocking(move || Server::start(&config)).await.unwrap();
    let (status, health) = get_json(&s.url("/api/health")).await;
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")));
    proxy.cut();
    let (status, health) = get_json(&s.url("/api/health")).await;
    assert_eq!(status, 503, "the database is cut: not ready: {health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let (status, live) = get_json(&s.url("/api/live")).await;
    assert_eq!((status, live["status"].as_str()), (200, Some("ok")), "alive all the same");
    proxy.mend();
    mezame_e2e::eventually("ready again once the database answers", std::time::Duration::from_secs(30), || async {
        let (status, _) = get_json(&s.url("/api/health")).await;
        (status == 200).then_some(())
    })
    .await;
}
