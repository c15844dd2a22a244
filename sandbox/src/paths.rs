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

/// `$<override_var>`, else `$<xdg_var>/mezame/<sub>`, else `~/<fallback>/mezame/<sub>`.
fn xdg(override_var: &str, xdg_var: &str, fallback: &str, sub: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(override_var) {
        return PathBuf::from(dir);
    }
    std::env::var_os(xdg_var).map(PathBuf::from).unwrap_or_else(|| home().join(fallback)).join("mezame").join(sub)
}

/// Build cache of the real parts (Kubernetes, etcd, kwok, Argo CD, moto).
pub fn cache_dir() -> PathBuf {
    xdg("MEZAME_CACHE_DIR", "XDG_CACHE_HOME", ".cache", "")
}

/// Default state directory of a sandbox.
pub fn default_state_dir() -> PathBuf {
    xdg("MEZAME_SANDBOX_DIR", "XDG_STATE_HOME", ".local/state", "sandbox")
}
