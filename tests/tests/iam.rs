//! Least privilege on AWS, against dev's moto with IAM enforced (moto's
//! `INITIAL_NO_AUTH_ACTION_COUNT`, set to 0 at run time by `POST
//! /moto-api/reset-auth`): mezame signs as an IAM user whose only policy is
//! `deploy/iam-policy.json`; a sleep and a wake of dev succeed. With one
//! action taken out of the policy, the wake fails naming it; with it back, a
//! retry finishes the wake from the failed step.
//!
//! What moto checks: the action of every call against the caller's policies
//! (a call without a known key is refused). What it does not: it checks EC2,
//! Auto Scaling, EKS… calls against the resource `*`, so a statement scoped to
//! ARNs never matches there, and it does not evaluate conditions on resource
//! tags. The test therefore gives every statement the resource `*`: it proves
//! the list of actions, not their scoping. The sandbox's own controllers sign
//! with a key enforcement leaves out (sandbox/src/moto/fidelity.py).

use std::io::{Read, Write};
use std::time::Duration;

use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::runs::{KEY, finished, post};
use mezame_e2e::{Server, sandbox, sandbox_env_toml};
use mezame_shared::power::{Run, RunState};
use serde_json::Value;

/// The action the test takes out: the wake's second step resizes the managed node group with it.
const TAKEN_OUT: &str = "eks:UpdateNodegroupConfig";

fn moto() -> String {
    sandbox().env("dev").unwrap().moto_url()
}

/// An IAM query call to moto, as the sandbox (never checked: see fidelity.py).
async fn iam(params: &[(&str, &str)]) -> String {
    let query = reqwest::Url::parse_with_params("http://x/", [("Version", "2010-05-08")].iter().chain(params)).unwrap();
    let resp = mezame_e2e::anonymous()
        .post(moto())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=sandbox/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
        .body(query.query().unwrap_or_default().to_string())
        .send()
        .await
        .expect("moto answers");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "IAM {params:?}: {status} {text}");
    text
}

fn xml_value<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("<{tag}> in {xml}")) + open.len();
    &xml[start..start + xml[start..].find('<').unwrap()]
}

/// `deploy/iam-policy.json` with every statement on the resource `*` (see
/// above), less the actions in `without`.
fn policy(without: &[&str]) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/iam-policy.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let mut found = 0;
    for statement in doc["Statement"].as_array_mut().unwrap() {
        statement["Resource"] = "*".into();
        let actions = match statement["Action"].take() {
            Value::String(a) => vec![a],
            Value::Array(all) => all.into_iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
            other => panic!("Action: {other}"),
        };
        found += actions.iter().filter(|a| without.contains(&a.as_str())).count();
        statement["Action"] = actions.into_iter().filter(|a| !without.contains(&a.as_str())).collect();
    }
    // A statement left without an action is not valid IAM: it goes.
    doc["Statement"].as_array_mut().unwrap().retain(|s| s["Action"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(found, without.len(), "every action taken out is in the policy");
    doc.to_string()
}

/// moto's IAM enforcement, on while this lives.
struct Enforced;

impl Enforced {
    async fn on() -> Enforced {
        reset_auth("0");
        Enforced
    }
}

impl Drop for Enforced {
    fn drop(&mut self) {
        reset_auth("inf");
    }
}

/// `POST /moto-api/reset-auth` (blocking: also called from `Drop`).
fn reset_auth(count: &str) {
    let url = reqwest::Url::parse(&moto()).unwrap();
    let mut conn = std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).expect("moto listens");
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(conn, "POST /moto-api/reset-auth HTTP/1.1\r\nHost: moto\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{count}", count.len())
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "reset-auth {count}: {answer}");
}

fn step_messages(run: &Run) -> String {
    run.steps.iter().filter_map(|s| s.message.as_ref().map(|m| format!("{}: {m}", s.name))).collect::<Vec<_>>().join("\n")
}

async fn run(server: &Server, path: &str) -> Run {
    let (status, body) = post(&server.url(path)).await;
    assert!(status == 202 || status == 200, "{path}: {status} {body}");
    finished(server, body["id"].as_i64().unwrap(), 5 * MINUTE).await
}

#[tokio::test]
async fn sleep_and_wake_need_the_policys_actions_and_no_more() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let user = format!("mezame-{}", std::process::id());
    iam(&[("Action", "CreateUser"), ("UserName", &user)]).await;
    let put_policy = |document: String| {
        let user = user.clone();
        async move { iam(&[("Action", "PutUserPolicy"), ("UserName", &user), ("PolicyName", "mezame"), ("PolicyDocument", &document)]).await }
    };
    put_policy(policy(&[])).await;
    let key = iam(&[("Action", "CreateAccessKey"), ("UserName", &user)]).await;
    let (id, secret) = (xml_value(&key, "AccessKeyId"), xml_value(&key, "SecretAccessKey"));

    let env = sandbox_env_toml("dev");
    let keyed = env
        .replace("access_key_id = \"test\"", &format!("access_key_id = \"{id}\""))
        .replace("secret_access_key = \"test\"", &format!("secret_access_key = \"{secret}\""));
    assert!(keyed.contains(id) && keyed.contains(secret), "the IAM user's key in the config: {keyed}");
    let _enforced = Enforced::on().await;

    // Refused without a key moto knows: enforcement is on.
    let anyone = Server::start(&format!("backup_keys = [\"{KEY}\"]\n{env}"));
    let refused = run(&anyone, "/api/envs/dev/sleep").await;
    assert_eq!(refused.state, RunState::Failed, "the key `test` is no IAM user's: {refused:?}");
    println!("with the key `test`:\n{}", step_messages(&refused));
    let first = &refused.steps[0];
    assert!(
        first.attempts == 1 && first.message.as_deref().is_some_and(|m| m.contains("does not accept mezame's credentials")),
        "refused at once, saying why: {first:?}"
    );
    drop(anyone);

    let server = Server::start(&format!("backup_keys = [\"{KEY}\"]\n{keyed}"));
    let sleep = run(&server, "/api/envs/dev/sleep").await;
    assert_eq!(sleep.state, RunState::Succeeded, "sleep with deploy/iam-policy.json:\n{}", step_messages(&sleep));

    put_policy(policy(&[TAKEN_OUT])).await;
    let wake = run(&server, "/api/envs/dev/wake").await;
    assert_eq!(wake.state, RunState::Failed, "a wake without {TAKEN_OUT}: {wake:?}");
    let failed = wake.steps.iter().find(|s| s.message.as_deref().is_some_and(|m| m.contains(TAKEN_OUT)));
    let failed = failed.unwrap_or_else(|| panic!("a step names {TAKEN_OUT}:\n{}", step_messages(&wake)));
    println!("without {TAKEN_OUT}: step {} — {}", failed.name, failed.message.as_deref().unwrap_or_default());
    assert_eq!(failed.attempts, 1, "a refusal is not retried: {failed:?}");
    assert!(failed.message.as_deref().is_some_and(|m| m.contains("deploy/iam-policy.json")), "it says where the policy is: {failed:?}");
    assert!(wake.message.as_deref().is_some_and(|m| m.contains(TAKEN_OUT)), "the run says it too: {:?}", wake.message);

    put_policy(policy(&[])).await;
    let (status, body) = post(&server.url(&format!("/api/runs/{}/retry", wake.id))).await;
    assert_eq!(status, 200, "{body}");
    let wake = finished(&server, wake.id, 5 * MINUTE).await;
    assert_eq!(wake.state, RunState::Succeeded, "the wake retried with the action back:\n{}", step_messages(&wake));
    drop(server);
    settled("dev").await;
}
