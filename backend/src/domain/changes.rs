//! Cues that a view may have changed, for a page's event stream: the page
//! reads the view again on each. Woken by the view's sources themselves —
//! counters bumped when they move (the watch cache applied a batch, AWS was
//! described again, git was indexed) — never by polling; at most one cue per
//! gap, so a churning cluster does not make every page re-read at its pace.

use std::time::Duration;

use futures::future::select_all;
use tokio::sync::watch;
use tokio::time::Instant;

/// One subscriber's cues.
pub struct Changes {
    sources: Vec<watch::Receiver<u64>>,
    gap: Duration,
    last: Option<Instant>,
}

impl Changes {
    pub fn new(sources: Vec<watch::Receiver<u64>>, gap: Duration) -> Changes {
        Changes { sources, gap, last: None }
    }

    /// Waits for the next change. The first call answers at once (a client
    /// that reconnects may have missed some); changes made during the gap
    /// after a cue give one cue at its end. `None` once a source is gone.
    pub async fn next(&mut self) -> Option<()> {
        match self.last {
            None => self.sources.iter_mut().for_each(|s| s.mark_unchanged()),
            Some(at) => {
                tokio::time::sleep_until(at + self.gap).await;
                if self.sources.is_empty() {
                    std::future::pending::<()>().await;
                }
                let (changed, _, _) = select_all(self.sources.iter_mut().map(|s| Box::pin(s.changed()))).await;
                changed.ok()?;
            }
        }
        self.last = Some(Instant::now());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_millis(100);

    #[tokio::test]
    async fn a_cue_at_once_then_one_per_burst_no_sooner_than_the_gap() {
        let applied = watch::Sender::new(0u64);
        let described = watch::Sender::new(0u64);
        let mut c = Changes::new(vec![applied.subscribe(), described.subscribe()], GAP);
        let t0 = Instant::now();
        assert_eq!(c.next().await, Some(()));
        assert!(t0.elapsed() < GAP / 2, "the first cue is at once");
        for _ in 0..5 {
            applied.send_modify(|n| *n += 1);
        }
        assert_eq!(c.next().await, Some(()));
        let second = t0.elapsed();
        assert!(second >= GAP && second < GAP * 5, "a burst gives one cue, after the gap: {second:?}");
        let waiting = tokio::time::timeout(GAP * 3, c.next()).await;
        assert!(waiting.is_err(), "nothing changed: no cue");
        described.send_modify(|n| *n += 1);
        assert_eq!(c.next().await, Some(()), "another source's change is a change too");
        drop(applied);
        assert_eq!(c.next().await, None, "a source is gone: the stream ends");
    }
}
