//! A rollback in a protected environment (the sandbox's prod), against its
//! real manifest repository: it is a commit on a new branch left for a person
//! to merge (master untouched, prod still runs what it ran), it freezes the
//! microservice's promotions into prod at once, and only an admin who
//! confirms the environment lifts that freeze — an operator, a viewer, an
//! unconfirmed or wrongly confirmed request are refused and change nothing.

use mezame_e2e::cluster::{LOCK, MINUTE};
use mezame_e2e::manifests::{audit_actions, git, page, repo_state, running_tag, send};
use mezame_e2e::{ADMIN, OPERATOR, Server, VIEWER, client_as, eventually, sandbox_env_toml, sandbox_git_toml};
use mezame_shared::deploys::{DeployChange, DeployList};
use serde_json::json;

#[tokio::test]
async fn a_rollback_in_prod_is_a_branch_and_only_a_confirming_admin_lifts_its_freeze() {
    let _lock = LOCK.lock().await;
    let server = Server::start(&format!("{}{}{}", sandbox_git_toml(&["dev", "prod"]), sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    let ms = "pricing-service";
    let running = running_tag("prod", ms).await;
    let history: DeployList = eventually("prod's deploys indexed", 2 * MINUTE, || async {
        let p = page(&server, "prod", ms).await;
        (p.index.indexed_at.is_some() && p.deploys.iter().any(|d| d.tag != running)).then_some(p)
    })
    .await;
    let earlier = history.deploys.iter().find(|d| d.tag != running).unwrap();
    let before = repo_state();
    let url = server.url(&format!("/api/envs/prod/deploys/{ms}/rollback"));
    let reason = "prices off by one cent since the last deploy";
    let body = json!({"to_deploy": earlier.manifest.sha, "reason": reason, "confirm": "prod"});

    for (who, req, want) in [
        ("an operator in protected prod", client_as(OPERATOR).post(&url).json(&body), 403),
        ("prod not confirmed", client_as(ADMIN).post(&url).json(&json!({"to_deploy": earlier.manifest.sha, "reason": reason})), 400),
    ] {
        let (s, answer) = send(req).await;
        assert_eq!(s, want, "{who}: {answer}");
        assert_eq!(repo_state(), before, "{who}: the repository is unchanged");
    }
    assert!(page(&server, "prod", ms).await.freezes.is_empty(), "a refused rollback freezes nothing");

    // An admin rolls prod back: a branch for a person to merge; frozen at once.
    let (s, answer) = send(client_as(ADMIN).post(&url).json(&body)).await;
    assert_eq!(s, 200, "{answer}");
    let rb: DeployChange = serde_json::from_value(answer).unwrap();
    let (commit, branch) = (rb.commit.clone().unwrap(), rb.branch.clone().unwrap());
    assert!(rb.needs_merge && branch != "master", "{rb:?}");
    assert_eq!(git(&["rev-list", &format!("master..{branch}")]), commit, "exactly one commit on the branch");
    assert_eq!(repo_state().1, "", "the work tree stays clean");
    let master_before = before.0.lines().find(|l| l.starts_with("refs/heads/master ")).unwrap().to_string();
    assert_eq!(format!("refs/heads/master {}", git(&["rev-parse", "master"])), master_before, "master untouched");
    assert_eq!(running_tag("prod", ms).await, running, "nothing runs before a person merges");
    let frozen = page(&server, "prod", ms).await.freezes;
    assert_eq!(
        frozen.iter().map(|f| (f.ms.as_str(), f.reason.as_str(), f.tag.as_str())).collect::<Vec<_>>(),
        vec![(ms, reason, earlier.tag.as_str())]
    );

    // Lifting it: refused unless an admin confirms prod.
    let freeze = server.url(&format!("/api/envs/prod/deploys/{ms}/freeze"));
    for (who, req, want) in [
        ("anonymous", mezame_e2e::anonymous().delete(&freeze).json(&json!({"confirm": "prod"})), 401),
        ("a viewer", client_as(VIEWER).delete(&freeze).json(&json!({"confirm": "prod"})), 403),
        ("an operator in protected prod", client_as(OPERATOR).delete(&freeze).json(&json!({"confirm": "prod"})), 403),
        (
            "a cross-site page",
            client_as(ADMIN).delete(&freeze).header("origin", "https://evil.example").json(&json!({"confirm": "prod"})),
            403,
        ),
        ("not confirmed", client_as(ADMIN).delete(&freeze).json(&json!({})), 400),
        ("another environment confirmed", client_as(ADMIN).delete(&freeze).json(&json!({"confirm": "dev"})), 400),
    ] {
        let (s, answer) = send(req).await;
        assert_eq!(s, want, "{who}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{who} is told why: {answer}");
        assert_eq!(page(&server, "prod", ms).await.freezes.len(), 1, "{who}: still frozen");
    }
    assert!(!audit_actions(&server).await.iter().any(|(a, _, _)| a == "deploy.unfreeze"), "refusals are not lifts");
    let (s, answer) = send(client_as(ADMIN).delete(&freeze).json(&json!({"confirm": "prod"}))).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["reason"], reason, "{answer}");
    assert!(page(&server, "prod", ms).await.freezes.is_empty());
    assert_eq!(send(client_as(ADMIN).delete(&freeze).json(&json!({"confirm": "prod"}))).await.0, 404, "lifted once");
    let actions = audit_actions(&server).await;
    for action in ["deploy.rollback", "deploy.unfreeze"] {
        assert!(actions.contains(&(action.into(), "e2e-admin".into(), "prod".into())), "{action}: {actions:?}");
    }

    // Nobody merges: the branch goes, the repository is as it was.
    git(&["branch", "-D", &branch]);
    eventually("the deleted branch no longer waits", MINUTE, || async { page(&server, "prod", ms).await.pending.is_empty().then_some(()) })
        .await;
    assert_eq!(repo_state(), before);
}
