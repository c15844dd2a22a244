//! `GET /api/envs` against the sandbox's real API servers and moto, and
//! against environments that cannot be reached.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use mezame_e2e::{Server, get_json, kube, sandbox_env_toml};

#[tokio::test]
async fn envs_report_the_sandbox_clusters_and_accounts() {
    let s = Server::start(&format!("{}{}", sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    let (status, body) = get_json(&s.url("/api/envs")).await;
    assert_eq!(status, 200, "{body}");
    let envs = body["envs"].as_array().unwrap();
    assert_eq!(envs.iter().map(|e| e["name"].as_str().unwrap()).collect::<Vec<_>>(), ["dev", "prod"]);
    for (env, account, protected) in [("dev", "111111111111", false), ("prod", "333333333333", true)] {
        let e = envs.iter().find(|e| e["name"] == env).unwrap();
        assert_eq!(e["protected"], protected);
        let k = &e["kubernetes"]["result"];
        assert_eq!(k["status"], "ok", "{env}: {e}");
        assert_eq!(k["value"]["server_version"], "v1.36.3");
        let nodes = Api::<Node>::all(kube(env).await).list(&ListParams::default()).await.unwrap();
        assert!(!nodes.items.is_empty());
        assert_eq!(k["value"]["node_count"].as_u64(), Some(nodes.items.len() as u64), "{env}: node count read from the API server");
        assert_eq!(e["kubernetes"]["context"], format!("kwok-mezame-{env}"));
        assert!(e["kubernetes"].get("server").is_none(), "no server URL in answers: {e}");
        let a = &e["aws"]["result"];
        assert_eq!(a["status"], "ok", "{env}: {e}");
        assert_eq!(a["value"]["account"], account);
        assert!(a["value"]["arn"].as_str().unwrap().contains(account));
        assert_eq!(e["aws"]["region"], "eu-west-1");
    }
}

/// A TCP server that accepts connections and never answers.
fn blackhole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn kubeconfig(dir: &std::path::Path, name: &str, port: u16) -> String {
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: {name}\n  context:\n    cluster: c\n    user: u\ncurrent-context: {name}\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn dead_env(dir: &std::path::Path, name: &str, port: u16) -> String {
    format!(
        "[[env]]\nname = \"{name}\"\n[env.kubernetes]\nkubeconfig = \"{}\"\ncontext = \"{name}\"\n\
         [env.aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:{port}\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\n",
        kubeconfig(dir, name, port)
    )
}

#[tokio::test]
async fn unreachable_envs_are_reported_fast_and_do_not_slow_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "probe_timeout_ms = 1500\n{}{}{}",
        dead_env(dir.path(), "hanging", blackhole()),
        dead_env(dir.path(), "refused", closed_port()),
        sandbox_env_toml("dev"),
    );
    let s = Server::start(&config);
    let started = Instant::now();
    let (status, body) = get_json(&s.url("/api/envs")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert!(elapsed < Duration::from_millis(1500 + 1200), "answered in {elapsed:?}: the checks run in parallel and are bounded");
    let env = |n: &str| body["envs"].as_array().unwrap().iter().find(|e| e["name"] == n).unwrap().clone();
    let hanging = env("hanging");
    for side in ["kubernetes", "aws"] {
        assert_eq!(hanging[side]["result"]["status"], "error", "{hanging}");
        let msg = hanging[side]["result"]["message"].as_str().unwrap().to_lowercase();
        assert!(msg.contains("1500 ms") || msg.contains("timeout") || msg.contains("timed out"), "{side}: {msg}");
    }
    let refused = env("refused");
    for side in ["kubernetes", "aws"] {
        assert_eq!(refused[side]["result"]["status"], "error", "{refused}");
        let msg = refused[side]["result"]["message"].as_str().unwrap().to_lowercase();
        assert!(msg.contains("refused") || msg.contains("connect"), "{side}: {msg}");
    }
    let dev = env("dev");
    assert_eq!(dev["kubernetes"]["result"]["status"], "ok", "{dev}");
    assert_eq!(dev["aws"]["result"]["status"], "ok", "{dev}");
}
