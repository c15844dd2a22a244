//! Where the sandbox keeps things.
//!
//! - the build cache of its real parts (`$MEZAME_CACHE_DIR`, default
//!   `~/.cache/mezame`): kept across `down`, keyed by version;
//! - its state (`$MEZAME_SANDBOX_DIR`, default `~/.local/state/mezame/sandbox`):
//!   clusters, repositories, logs, pids, the mezame config; removed by `down`.

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// Build cache of the real parts (Kubernetes, etcd, kwok, Argo CD, moto).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEZAME_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"))
        .join("mezame")
}

/// Default state directory of a sandbox.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEZAME_SANDBOX_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".local/state"))
        .join("mezame/sandbox")
}
