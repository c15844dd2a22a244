//! Following a run: one task per followed run reads it from the database
//! (so a run driven by another replica is followed too) every 250 ms while
//! anyone follows it, and publishes each change on a `watch` channel that
//! every event stream of that run shares. The task ends with the run, or
//! when its last follower is gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mezame_shared::power::{Run, RunState};
use tokio::sync::watch;

use super::Lifecycle;
use crate::domain::DomainError;

/// How often a followed run is read.
const POLL: Duration = Duration::from_millis(250);

/// The pollers, by run id.
#[derive(Default)]
pub struct Followers(Mutex<HashMap<i64, watch::Receiver<Arc<Run>>>>);

impl Lifecycle {
    /// The run now and its changes until it ends. 404 for an unknown run.
    pub async fn follow(self: &Arc<Self>, id: i64) -> Result<watch::Receiver<Arc<Run>>, DomainError> {
        if let Some(rx) = self.followers.0.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(rx.clone());
        }
        let first = Arc::new(self.run(id).await?);
        let mut map = self.followers.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = map.get(&id) {
            return Ok(rx.clone());
        }
        let (tx, rx) = watch::channel(first.clone());
        if first.state == RunState::Running {
            map.insert(id, rx.clone());
            let lc = self.clone();
            tokio::spawn(async move {
                lc.poll(id, tx).await;
                lc.followers.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            });
        }
        Ok(rx)
    }

    async fn poll(&self, id: i64, tx: watch::Sender<Arc<Run>>) {
        loop {
            tokio::time::sleep(POLL).await;
            // Nobody but the registry's own copy follows it any more.
            if tx.receiver_count() <= 1 {
                return;
            }
            let run = match self.run(id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(run = id, error = %e, "cannot read a followed run");
                    continue;
                }
            };
            let ended = run.state != RunState::Running;
            tx.send_if_modified(|now| {
                let changed = **now != run;
                if changed {
                    *now = Arc::new(run.clone());
                }
                changed
            });
            if ended {
                return;
            }
        }
    }
}
