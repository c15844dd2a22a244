//! The test sandbox as a failed run left it, for the end of the output (CI
//! shows its tail; the sandbox and its logs are gone once it is down).
//!
//! What it holds: `mezame-sandbox status` (which processes of each
//! environment run) and the last warnings and errors of each environment's
//! sandbox controller (nodes that could not join, AWS calls that failed).
//! [`processes`] says in one line per environment which processes had
//! stopped, for the very last lines (CI's account of stop 49 cut the report
//! off, and with it whether qa's API server still ran).

use std::path::Path;
use std::process::Command;

/// Warnings and errors kept from each controller log, the last ones.
const LAST_WARNINGS: usize = 15;

/// The report of the sandbox in `dir`, run by `sandbox` (its `status`).
pub fn sandbox(dir: &Path, mut status: Command) -> String {
    let mut out = String::new();
    match status.output() {
        Ok(o) => out.push_str(&String::from_utf8_lossy(&o.stdout)),
        Err(e) => out.push_str(&format!("mezame-sandbox status: {e}\n")),
    }
    let Ok(envs) = std::fs::read_dir(dir.join("envs")) else {
        return out;
    };
    let mut envs: Vec<_> = envs.flatten().map(|e| e.path()).collect();
    envs.sort();
    for env in envs {
        let name = env.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let log = env.join("logs/controller.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let warnings = last_warnings(&text, LAST_WARNINGS);
        out.push_str(&format!("{name}: sandbox controller, last warnings and errors ({}):\n", log.display()));
        if warnings.is_empty() {
            out.push_str("  none\n");
        }
        for line in warnings {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// One line per environment of `mezame-sandbox status --json`: how many of
/// its processes run, and the names of those that do not.
pub fn processes(status_json: &str) -> Vec<String> {
    let Ok(status) = serde_json::from_str::<serde_json::Value>(status_json) else {
        return vec![format!("no sandbox status: {}", status_json.lines().next().unwrap_or("(nothing printed)"))];
    };
    let Some(envs) = status["envs"].as_object() else { return vec!["no environment in the sandbox status".into()] };
    envs.iter()
        .map(|(env, e)| {
            let components = e["components"].as_array().map(Vec::as_slice).unwrap_or_default();
            let stopped: Vec<&str> =
                components.iter().filter(|c| c["running"] != true).map(|c| c["name"].as_str().unwrap_or("?")).collect();
            let running = components.len() - stopped.len();
            if stopped.is_empty() {
                format!("{env}: all {running} processes run")
            } else {
                format!("{env}: {running} of {} processes run; stopped: {}", components.len(), stopped.join(", "))
            }
        })
        .collect()
}

/// The last `n` lines of a tracing log at level WARN or ERROR.
fn last_warnings(log: &str, n: usize) -> Vec<&str> {
    let hits: Vec<&str> =
        log.lines().filter(|l| l.split_whitespace().nth(1).is_some_and(|level| level == "WARN" || level == "ERROR")).collect();
    hits[hits.len().saturating_sub(n)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::{last_warnings, processes};

    #[test]
    fn names_the_processes_that_stopped_per_environment() {
        let status = r#"{"envs": {
            "dev": {"components": [{"name": "etcd", "running": true}, {"name": "kube-apiserver", "running": true}]},
            "qa": {"components": [{"name": "etcd", "running": true}, {"name": "kube-apiserver", "running": false},
                                  {"name": "moto", "running": false}]}}}"#;
        assert_eq!(processes(status), ["dev: all 2 processes run", "qa: 1 of 3 processes run; stopped: kube-apiserver, moto"]);
        assert_eq!(processes("no sandbox in /x\n"), ["no sandbox status: no sandbox in /x"]);
    }

    #[test]
    fn keeps_the_last_warnings_and_errors_only() {
        let log = "2026-12-01T23:51:44Z  INFO x: started\n\
                   2026-12-01T23:51:45Z  WARN x: nodes: one\n\
                   2026-12-01T23:51:46Z ERROR x: two\n\
                   2026-12-01T23:51:47Z  INFO x: a WARN in a message\n\
                   2026-12-01T23:51:48Z  WARN x: nodes: three\n";
        assert_eq!(last_warnings(log, 2), ["2026-12-01T23:51:46Z ERROR x: two", "2026-12-01T23:51:48Z  WARN x: nodes: three"]);
        assert_eq!(last_warnings(log, 10).len(), 3);
        assert!(last_warnings("", 3).is_empty());
    }
}
