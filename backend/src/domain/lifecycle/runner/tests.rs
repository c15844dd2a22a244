//! The runner's own logic — retries, cancel, resume, lease loss, unknown
//! steps — with a scripted kind of run on a real (SQLite, temporary)
//! database: what each step does is a line of the script, so each test
//! takes milliseconds. The sandbox tests drive real sleeps and wakes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use mezame_shared::power::{Run, RunAction, RunState, StepState};

use super::Halt;
use super::lease::{Held, claim};
use super::walk::{ATTEMPTS, Performed, Performer, walk};
use crate::adapters::db::{Db, StepUpdate};
use crate::domain::lifecycle::ctx::{Outcome, StepError};

const RUNNER: &str = "test:1:0";
const LEASE: Duration = Duration::from_secs(60);

/// The steps of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Line {
    /// Succeeds.
    Plain,
    /// Fails transiently `flaky` times, then succeeds.
    Flaky,
    /// Fails, not to be retried.
    Fatal,
    /// Asks for the run to be cancelled, and succeeds.
    Cancel,
    /// Another runner takes the run over (this one's lease expired), then succeeds.
    Stolen,
}

/// The script's context: what it performed, and its knobs.
struct Script {
    db: Db,
    run: i64,
    flaky: AtomicU32,
    performed: Mutex<Vec<Line>>,
}

impl Performer for Script {
    type Step = Line;

    fn parse(name: &str) -> Option<Line> {
        [("plain", Line::Plain), ("flaky", Line::Flaky), ("fatal", Line::Fatal), ("cancel", Line::Cancel), ("stolen", Line::Stolen)]
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l)
    }

    fn title(step: Line) -> &'static str {
        match step {
            Line::Plain => "Plain step",
            Line::Flaky => "Flaky step",
            Line::Fatal => "Fatal step",
            Line::Cancel => "Cancelling step",
            Line::Stolen => "Stolen step",
        }
    }

    async fn perform(&self, step: Line) -> Performed {
        self.performed.lock().unwrap().push(step);
        let result = match step {
            Line::Plain => Ok(Outcome::new("done", serde_json::json!({}))),
            Line::Flaky if self.flaky.load(Ordering::SeqCst) > 0 => {
                self.flaky.fetch_sub(1, Ordering::SeqCst);
                Err(StepError { message: "connection reset".into(), retry: true })
            }
            Line::Flaky => Ok(Outcome::new("done after retries", serde_json::json!({}))),
            Line::Fatal => Err(StepError::fatal("the restore point is unreadable")),
            Line::Cancel => {
                assert!(self.db.request_cancel(self.run).await.unwrap());
                Ok(Outcome::new("done", serde_json::json!({})))
            }
            Line::Stolen => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let theirs = self.db.claim_run(self.run, "other:2:0", 60_000).await.unwrap();
                assert!(theirs.is_some(), "the other runner takes the expired lease");
                Ok(Outcome::new("done", serde_json::json!({})))
            }
        };
        Performed { result, waited: Duration::from_millis(5) }
    }
}

/// A database with a run of `steps`, leased by this runner for `lease`.
async fn setup(steps: &[&str], lease: Duration) -> (Script, i64, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display())).await.unwrap();
    let run = db.create_run("dev", RunAction::Sleep, (None, None), "ada", steps).await.unwrap().unwrap();
    let fence = claim(&db, RUNNER, run, lease).await.unwrap().expect("a new run is free to lease");
    (Script { db, run, flaky: AtomicU32::new(0), performed: Mutex::default() }, fence, dir)
}

fn held(s: &Script, fence: i64) -> Held<'_> {
    Held { db: &s.db, runner: RUNNER, id: s.run, fence, backoff: Duration::from_millis(1) }
}

async fn read(s: &Script) -> Run {
    s.db.run(s.run).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_a_step_already_done_is_not_repeated() {
    let (s, fence, _dir) = setup(&["plain", "flaky", "plain"], LEASE).await;
    // Step 1 was done before a restart.
    let done = StepUpdate {
        state: StepState::Done,
        attempts: 1,
        started: Some(Utc::now()),
        finished: Some(Utc::now()),
        waited_ms: 0,
        message: Some("done".into()),
        changed: None,
    };
    held(&s, fence).write(0, &done).await.unwrap();
    s.flaky.store(ATTEMPTS - 1, Ordering::SeqCst);
    let end = walk(held(&s, fence), &read(&s).await, &s).await.unwrap();
    assert_eq!(end, (RunState::Succeeded, None));
    assert_eq!(*s.performed.lock().unwrap(), [Line::Flaky, Line::Flaky, Line::Flaky, Line::Plain], "step 1 is not repeated");
    let run = read(&s).await;
    let flaky = &run.steps[1];
    assert_eq!((flaky.state, flaky.attempts, flaky.message.as_deref()), (StepState::Done, 3, Some("done after retries")));
    assert_eq!(flaky.waited_ms, 15, "the time waited is summed over the attempts");
    assert!(run.steps.iter().all(|s| s.state == StepState::Done));
}

#[tokio::test]
async fn a_step_failing_every_attempt_fails_the_run_naming_it_and_nothing_after_it_runs() {
    let (s, fence, _dir) = setup(&["plain", "flaky", "plain"], LEASE).await;
    s.flaky.store(u32::MAX, Ordering::SeqCst);
    let (state, message) = walk(held(&s, fence), &read(&s).await, &s).await.unwrap();
    assert_eq!(state, RunState::Failed);
    assert_eq!(message.as_deref(), Some("step 2 (Flaky step) failed: connection reset"));
    assert_eq!(s.performed.lock().unwrap().len(), 1 + ATTEMPTS as usize);
    let run = read(&s).await;
    assert_eq!((run.steps[1].state, run.steps[1].attempts), (StepState::Failed, ATTEMPTS));
    assert_eq!(run.steps[2].state, StepState::Pending);
}

#[tokio::test]
async fn a_fatal_failure_is_not_retried() {
    let (s, fence, _dir) = setup(&["fatal", "plain"], LEASE).await;
    let (state, message) = walk(held(&s, fence), &read(&s).await, &s).await.unwrap();
    assert_eq!(state, RunState::Failed);
    assert_eq!(message.as_deref(), Some("step 1 (Fatal step) failed: the restore point is unreadable"));
    assert_eq!(*s.performed.lock().unwrap(), [Line::Fatal]);
    assert_eq!(read(&s).await.steps[0].attempts, 1);
}

#[tokio::test]
async fn a_cancel_is_noticed_before_the_next_step() {
    let (s, fence, _dir) = setup(&["cancel", "plain", "plain"], LEASE).await;
    let (state, message) = walk(held(&s, fence), &read(&s).await, &s).await.unwrap();
    assert_eq!(state, RunState::Cancelled);
    assert_eq!(message.as_deref(), Some("cancelled before step 2 (Plain step)"));
    assert_eq!(*s.performed.lock().unwrap(), [Line::Cancel], "nothing runs after the cancel");
    let run = read(&s).await;
    assert_eq!([run.steps[0].state, run.steps[1].state, run.steps[2].state], [StepState::Done, StepState::Cancelled, StepState::Pending]);
}

#[tokio::test]
async fn a_runner_that_lost_its_lease_writes_nothing_more() {
    // A lease so short that it has expired when the step ends.
    let (s, fence, _dir) = setup(&["stolen", "plain"], Duration::from_millis(1)).await;
    let halt = walk(held(&s, fence), &read(&s).await, &s).await.unwrap_err();
    assert!(matches!(halt, Halt::Lost), "{halt:?}");
    assert_eq!(*s.performed.lock().unwrap(), [Line::Stolen], "the next step is the new runner's");
    let run = read(&s).await;
    assert_eq!(run.runner.as_deref(), Some("other:2:0"));
    assert_eq!(run.steps[0].state, StepState::Running, "the step's end is not written over the new runner");
    assert_eq!(run.steps[1].state, StepState::Pending);
}

#[tokio::test]
async fn a_run_naming_an_unknown_step_fails_before_any_step() {
    let (s, fence, _dir) = setup(&["plain", "drain-nodes"], LEASE).await;
    let halt = walk(held(&s, fence), &read(&s).await, &s).await.unwrap_err();
    assert!(matches!(&halt, Halt::Failed(e) if e.to_string().contains("unknown step \"drain-nodes\"")), "{halt:?}");
    assert!(s.performed.lock().unwrap().is_empty());
}
