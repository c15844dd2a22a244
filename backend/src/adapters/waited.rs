//! Time spent waiting on the outside world (the API server, AWS), counted
//! for a run's steps: each Kubernetes and AWS call of the adapters goes
//! through [`timed`], which adds its duration to the [`Stopwatch`] of the
//! task it runs in ([`Stopwatch::scope`]), if any. Callers outside a run pay
//! nothing but a task-local lookup.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

tokio::task_local! {
    static CURRENT: Stopwatch;
}

/// Microseconds of waiting, shared by a run's task and its [`timed`] calls.
#[derive(Debug, Clone, Default)]
pub struct Stopwatch(Arc<AtomicU64>);

impl Stopwatch {
    /// Runs `f` with this stopwatch counting its adapter calls.
    pub async fn scope<F: Future>(&self, f: F) -> F::Output {
        CURRENT.scope(self.clone(), f).await
    }

    pub fn add(&self, d: Duration) {
        self.0.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    pub fn set(&self, d: Duration) {
        self.0.store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The time counted so far; resets it.
    pub fn take(&self) -> Duration {
        Duration::from_micros(self.0.swap(0, Ordering::Relaxed))
    }
}

/// Awaits `call`, its duration counted by the current task's stopwatch.
pub async fn timed<F: Future>(call: F) -> F::Output {
    let t = Instant::now();
    let out = call.await;
    let _ = CURRENT.try_with(|s| s.add(t.elapsed()));
    out
}

/// `call.timed()`: [`timed`] at the end of a call chain (the AWS SDK's `send()`).
pub trait TimedExt: Future + Sized {
    fn timed(self) -> impl Future<Output = Self::Output> {
        timed(self)
    }
}

impl<F: Future> TimedExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_count_inside_a_scope_only() {
        let sw = Stopwatch::default();
        timed(tokio::time::sleep(Duration::from_millis(20))).await;
        assert_eq!(sw.get(), Duration::ZERO, "outside any scope nothing is counted");
        sw.scope(async {
            timed(tokio::time::sleep(Duration::from_millis(20))).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        })
        .await;
        let got = sw.take();
        assert!(got >= Duration::from_millis(20) && got < Duration::from_millis(40), "{got:?}");
        assert_eq!(sw.get(), Duration::ZERO);
    }
}
