//! Structured logs: human-readable on a terminal, JSON lines otherwise; the
//! kernel's clocks, for measurements.

use std::io::IsTerminal;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Level from `RUST_LOG` (default `info`;
/// kube-client's own per-request errors are off: the watches report them).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn,kube=warn,kube_client=off,aws=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().flatten_event(true).with_current_span(false).init();
    }
}

/// The time of one of the kernel's clocks: `CLOCK_MONOTONIC` (one for every
/// process of the machine: a bench on it can compare its readings with the
/// server's), `CLOCK_THREAD_CPUTIME_ID` (the CPU time of the calling thread).
/// Zero if the clock cannot be read.
pub fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
