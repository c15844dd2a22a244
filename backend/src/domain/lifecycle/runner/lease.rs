//! The lease a runner holds on a run: claimed and renewed on the database's
//! clock; every write of a step or of the run's end carries its fencing token.

use std::time::Duration;

use super::Halt;
use crate::adapters::AdapterError;
use crate::adapters::db::{Db, StepUpdate};

/// A run this runner holds under `fence`, and how it writes to it.
#[derive(Clone, Copy)]
pub struct Held<'a> {
    /// The runners' own pool.
    pub db: &'a Db,
    /// This process as a runner.
    pub runner: &'a str,
    pub id: i64,
    pub fence: i64,
    /// A transiently failed step is retried after `backoff × 2^attempts`.
    pub backoff: Duration,
}

impl Held<'_> {
    /// Writes step `idx`; [`Halt::Lost`] (and nothing written) if another
    /// runner holds the run now.
    pub async fn write(&self, idx: u32, u: &StepUpdate) -> Result<(), Halt> {
        match self.db.update_step(self.id, idx, u, self.runner, self.fence).await? {
            true => Ok(()),
            false => Err(Halt::Lost),
        }
    }
}

/// Takes or renews the lease on `id`: its fencing token, or `None` while
/// another runner holds an unexpired lease.
pub async fn claim(db: &Db, runner: &str, id: i64, lease: Duration) -> Result<Option<i64>, AdapterError> {
    db.claim_run(id, runner, lease.as_millis() as i64).await
}

/// Renews the lease every third of its length; returns why it was lost. A
/// renewal that keeps failing is given up at two thirds of the lease, before
/// it can expire under a runner still at work.
pub async fn keep(held: Held<'_>, lease: Duration) -> String {
    let mut last_renewed = tokio::time::Instant::now();
    let mut wait = lease / 3;
    loop {
        tokio::time::sleep(wait).await;
        match claim(held.db, held.runner, held.id, lease).await {
            Ok(Some(f)) if f == held.fence => {
                last_renewed = tokio::time::Instant::now();
                wait = lease / 3;
            }
            Ok(_) => return "another runner holds it (this one was too slow to renew)".into(),
            Err(e) if last_renewed.elapsed() < lease * 2 / 3 => {
                tracing::warn!(run = held.id, error = %e, "cannot renew the lease; trying again");
                wait = Duration::from_millis(500);
            }
            Err(e) => return format!("not renewed for {} s, giving up before the lease ends: {e}", last_renewed.elapsed().as_secs()),
        }
    }
}
