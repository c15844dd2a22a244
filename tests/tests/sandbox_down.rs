//! `mezame-sandbox down` leaves no process running and no port bound. Run last
//! (and only) by `cargo xtask test`, since it stops the test sandbox.

use std::time::Duration;

use mezame_e2e::{required_env, sandbox};
use mezame_sandbox::process::{alive, cmdline, port_open};

#[test]
#[ignore = "stops the test sandbox: `cargo xtask test` runs it last"]
fn down_leaves_no_process_and_no_port() {
    let state = sandbox();
    let status = mezame_sandbox::up::status(&state.dir).unwrap().expect("a running sandbox");
    let mut pids = Vec::new();
    let mut ports = Vec::new();
    for (env, e) in &status.envs {
        for c in &e.components {
            assert!(c.running, "{env}: {} should be running before down", c.name);
            pids.extend(c.pid);
            ports.extend(c.port);
        }
        let es = state.env(env).unwrap();
        ports.extend([
            es.apiserver_port,
            es.moto_port,
            es.redis_port,
            es.repo_server_port,
            es.repo_server_metrics_port,
            es.controller_metrics_port,
        ]);
    }
    assert!(pids.len() >= 20, "the components of every environment: {pids:?}");
    let dir = state.dir.display().to_string();
    let out = std::process::Command::new(required_env("MEZAME_SANDBOX_BIN")).arg("--dir").arg(&state.dir).arg("down").output().unwrap();
    assert!(out.status.success(), "down failed: {}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "processes still running after down: {left:?}");
    let bound: Vec<u16> = ports.iter().copied().filter(|p| port_open(*p)).collect();
    assert!(bound.is_empty(), "ports still bound after down: {bound:?}");
    let strays: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| cmdline(pid).filter(|c| c.contains(&dir)).map(|c| format!("{pid}: {c}")))
        .collect();
    assert!(strays.is_empty(), "processes of the sandbox still running: {strays:?}");
    assert!(!state.dir.exists(), "its state is removed");
}
