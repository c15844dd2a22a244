//! What a step works with: the environment's cluster and account, its
//! settings, the restore point, time accounting (waiting on AWS and the
//! cluster vs the rest: every adapter call counts itself, see
//! [`crate::adapters::waited`]) and condition waits that notice a cancellation.

use std::future::Future;
use std::time::{Duration, Instant};

use mezame_shared::power::PowerSettings;

use crate::adapters::db::Db;
use crate::adapters::seal::Keys;
use crate::adapters::waited::Stopwatch;
use crate::adapters::{AdapterError, aws, kube};
use crate::domain::envs::Environment;

/// How often a condition is checked again.
pub const POLL: Duration = Duration::from_millis(500);

/// Why a step stopped.
#[derive(Debug, Clone)]
pub struct StepError {
    pub message: String,
    /// A transient failure (network, throttling after the SDK's retries): retry with backoff.
    pub retry: bool,
}

impl StepError {
    pub fn fatal(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), retry: false }
    }
}

impl From<AdapterError> for StepError {
    fn from(e: AdapterError) -> StepError {
        let retry = matches!(e, AdapterError::Kube(_) | AdapterError::Aws(_) | AdapterError::Dns(_) | AdapterError::Db(_));
        StepError { message: e.to_string(), retry }
    }
}

pub type StepResult<T> = Result<T, StepError>;

/// What a finished step reports.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub message: String,
    pub changed: serde_json::Value,
}

impl Outcome {
    pub fn new(message: impl Into<String>, changed: serde_json::Value) -> Outcome {
        Outcome { message: message.into(), changed }
    }
}

pub struct Ctx<'a> {
    pub env: &'a Environment,
    cluster: kube::Cluster,
    pub settings: PowerSettings,
    pub db: &'a Db,
    /// Seal and open backed-up Secrets; `None` when no backup key is configured.
    pub keys: Option<&'a Keys>,
    pub run_id: i64,
    /// Time waited on the cluster and AWS in the current step (the runner
    /// runs each step in its scope).
    pub waited: Stopwatch,
}

impl<'a> Ctx<'a> {
    pub fn new(
        env: &'a Environment,
        cluster: kube::Cluster,
        settings: PowerSettings,
        db: &'a Db,
        keys: Option<&'a Keys>,
        run_id: i64,
    ) -> Ctx<'a> {
        Ctx { env, cluster, settings, db, keys, run_id, waited: Stopwatch::default() }
    }

    /// The environment's API server; its calls count as waiting.
    pub fn kube(&self) -> &kube::Cluster {
        &self.cluster
    }

    /// The environment's AWS account; its calls count as waiting.
    pub fn aws(&self) -> &aws::Account {
        self.env.aws()
    }

    pub fn name(&self) -> &str {
        &self.env.config.name
    }

    /// Checks `condition` every [`POLL`] until it answers `Ok(Ok(value))`;
    /// `Ok(Err(why))` means not yet. Fails after `timeout` with the last
    /// `why`, or when the run is cancelled. All of it counts as waiting.
    pub async fn wait<T, F, Fut>(&self, what: &str, timeout: Duration, mut condition: F) -> StepResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = StepResult<Result<T, String>>>,
    {
        // The calls inside the condition count themselves; the whole wait
        // replaces them, so no time is counted twice.
        let before = self.waited.get();
        let t = Instant::now();
        let result = loop {
            let why = match condition().await {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(why)) => why,
                // A transient error while waiting is one more reason to wait.
                Err(e) if e.retry => e.message,
                Err(e) => break Err(e),
            };
            if t.elapsed() >= timeout {
                break Err(StepError::fatal(format!("{what}: not done after {} s: {why}", timeout.as_secs())));
            }
            if self.db.cancel_requested(self.run_id).await.unwrap_or(false) {
                break Err(StepError::fatal(format!("cancelled while waiting: {what}")));
            }
            tokio::time::sleep(POLL).await;
        };
        self.waited.set(before + t.elapsed());
        result
    }
}

/// For a wait's condition: done when nothing is `left`, else why not.
pub fn done_unless(left: Vec<String>) -> Result<(), String> {
    if left.is_empty() { Ok(()) } else { Err(left.join("; ")) }
}
