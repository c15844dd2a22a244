//! DORA's four keys of one microservice in one environment, from the chains
//! the deploys page shows (nothing else is stored): deployment frequency,
//! lead time for changes over every app commit a deploy ships (split into CI,
//! waiting in the first environment, waiting for promotion), change failure
//! rate inferred from what followed a deploy, and recovery time.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mezame_shared::deploys::{ChangeKind, Deploy};
use mezame_shared::dora::{DayCount, Dora, DoraPoint, LeadTime};

use super::Deploys;
use crate::domain::DomainError;
use crate::domain::topology::Topologies;

/// The windows a caller may ask for, in days.
pub const WINDOWS: [u32; 3] = [7, 30, 90];
/// The most deploys of one microservice per environment read (a 90-day
/// window at 50 a day); a longer history is cut, and said.
const MOST: u32 = 5000;

/// An app commit a deploy ships: (sha, authored at).
pub type Shipped = (String, DateTime<Utc>);

impl Deploys {
    /// The four keys of `ms` in `env` over the last `window_days` days
    /// (calendar days, UTC, today included).
    pub async fn dora(&self, topologies: &Topologies, env: &str, ms: &str, window_days: u32) -> Result<Dora, DomainError> {
        if !WINDOWS.contains(&window_days) {
            return Err(DomainError::Invalid(format!("window must be one of 7d, 30d or 90d, got {window_days}d")));
        }
        self.known_microservice(ms).await?;
        let mut envs: Vec<String> = topologies.iter().map(|l| l.env.clone()).collect();
        envs.sort();
        let mut all = Vec::new();
        let mut here = Vec::new();
        let mut cut = false;
        for e in &envs {
            let mut list = self.list(e, topologies, Some(ms), MOST).await?.deploys;
            cut |= list.len() as u32 == MOST;
            list.reverse();
            if e == env {
                here = list.clone();
            }
            all.extend(list);
        }
        all.sort_by_key(|d| d.manifest.at);
        let graph = self.graph(ms).await.ok();
        let shipped = |d: &Deploy| -> Vec<Shipped> {
            match (&graph, &d.previous_tag) {
                (Some(g), Some(prev)) => g.between(prev, &d.tag).into_iter().map(|c| (c.sha.clone(), c.authored_at)).collect(),
                _ => d.app.iter().map(|a| (a.sha.clone(), a.at)).collect(),
            }
        };
        let degraded = Degraded {
            at: self.db.health_since(env, &self.config.ms_path(env, ms), "Degraded").await?,
            within: Duration::minutes(i64::from(self.config.degraded_within_mins)),
        };
        let mut dora = figures(env, ms, &here, &all, shipped, &degraded, Window { days: window_days, now: Utc::now() });
        if graph.is_none() {
            dora.notes.push(format!("{ms} has no app repository indexed: each deploy counts only its own tag's commit"));
        }
        if cut {
            dora.notes.push(format!("more than {MOST} deploys in an environment: only the newest {MOST} were read"));
        }
        Ok(dora)
    }
}

/// When a deploy ran: its rollout completed, else Argo CD's sync finished.
fn reached(d: &Deploy) -> Option<DateTime<Utc>> {
    d.rollout.as_ref().and_then(|r| r.completed_at).or(d.sync.as_ref().map(|s| s.finished_at))
}

/// When the microservice's Application went Degraded (as recorded), and how
/// soon after a deploy arrived that makes it a failed change.
pub struct Degraded {
    pub at: Vec<DateTime<Utc>>,
    pub within: Duration,
}

/// Why `d` counts as failed, from the deploy that followed it (`next`) and
/// what Argo CD and the Deployment say, or said, of it.
fn failure(d: &Deploy, next: Option<&Deploy>, degraded: &Degraded) -> Option<String> {
    if let Some(n) = next {
        if n.manifest.action.as_ref().is_some_and(|a| a.kind == ChangeKind::Rollback) {
            return Some("rolled back".into());
        }
        if d.previous_tag.as_ref().is_some_and(|p| *p == n.tag) || n.manifest.subject.starts_with("Revert ") {
            return Some("reverted".into());
        }
    }
    if let Some(from) = reached(d) {
        let until = next.map(|n| reached(n).unwrap_or(n.manifest.at)).map_or(from + degraded.within, |n| n.min(from + degraded.within));
        // After `from`, up to `until` included: Argo CD's and the rollout's
        // times are whole seconds, and a transition in the very second the
        // next deploy arrived happened while this one ran (a fix that
        // lands within the second its predecessor went Degraded; seen in CI).
        if let Some(t) = degraded.at.iter().find(|t| **t > from && **t <= until) {
            let secs = (*t - from).num_seconds();
            let after = if secs < 120 { format!("{secs} s") } else { format!("{} min", secs / 60) };
            return Some(format!("Degraded {after} after it arrived"));
        }
    }
    d.waiting.as_ref().filter(|w| w.starts_with("sync failed") || w.starts_with("rollout stuck")).cloned()
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

/// The window the figures are of: `days` calendar days (UTC) up to `now`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub days: u32,
    pub now: DateTime<Utc>,
}

/// The figures, from `here` (the environment's deploys, oldest first) and
/// `all` (every environment's, oldest first: where each commit ran first).
pub fn figures(
    env: &str,
    ms: &str,
    here: &[Deploy],
    all: &[Deploy],
    shipped: impl Fn(&Deploy) -> Vec<Shipped>,
    degraded: &Degraded,
    window: Window,
) -> Dora {
    let Window { days: window_days, now } = window;
    let first_day = now.date_naive() - Duration::days(i64::from(window_days) - 1);
    let since = first_day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    // Where each app commit was first deployed: (manifest commit time, ran at).
    let mut first: HashMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)> = HashMap::new();
    for d in all {
        for (sha, _) in shipped(d) {
            first.entry(sha).or_insert((d.manifest.at, reached(d)));
        }
    }
    let (mut total, mut ci, mut first_env, mut promotion) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut unmeasured = 0u32;
    let mut points = Vec::new();
    for (k, d) in here.iter().enumerate().filter(|(_, d)| d.manifest.at >= since && d.manifest.at <= now) {
        let ran = reached(d);
        let commits = shipped(d);
        let mut leads = Vec::new();
        for (sha, at) in &commits {
            let Some(ran) = ran else {
                unmeasured += 1;
                continue;
            };
            leads.push((ran - *at).num_seconds());
            if let Some((first_at, first_ran)) = first.get(sha) {
                ci.push((*first_at - *at).num_seconds());
                if let Some(fr) = first_ran {
                    first_env.push((*fr - *first_at).num_seconds());
                    promotion.push((d.manifest.at - *fr).num_seconds().max(0));
                }
            }
        }
        total.extend(&leads);
        let failed = failure(d, here.get(k + 1), degraded);
        let recovered_secs = failed.as_ref().and_then(|_| {
            let mut after = here[k + 1..].iter().enumerate();
            let healthy = after.find(|(j, n)| failure(n, here.get(k + 2 + j), degraded).is_none() && reached(n).is_some());
            healthy.and_then(|(_, n)| reached(n)).map(|t| (t - ran.unwrap_or(d.manifest.at)).num_seconds())
        });
        points.push(DoraPoint {
            manifest: d.manifest.sha.clone(),
            tag: d.tag.clone(),
            at: d.manifest.at,
            reached: ran,
            commits: commits.len() as u32,
            lead_median_secs: median(leads),
            failure: failed,
            recovered_secs,
        });
    }
    let deploys = points.len() as u32;
    let failed = points.iter().filter(|p| p.failure.is_some()).count() as u32;
    let daily = (0..window_days)
        .map(|i| {
            let day: NaiveDate = first_day + Duration::days(i64::from(i));
            let of_day = points.iter().filter(|p| p.at.date_naive() == day);
            DayCount { day, deploys: of_day.clone().count() as u32, failed: of_day.filter(|p| p.failure.is_some()).count() as u32 }
        })
        .collect();
    Dora {
        env: env.to_string(),
        ms: ms.to_string(),
        window_days,
        since,
        until: now,
        deploys,
        per_day: f64::from(deploys) / f64::from(window_days),
        daily,
        lead_time: LeadTime {
            commits: total.len() as u32,
            unmeasured,
            median_secs: median(total),
            ci_median_secs: median(ci),
            first_env_median_secs: median(first_env),
            promotion_median_secs: median(promotion),
        },
        failed,
        change_failure_rate: (deploys > 0).then(|| f64::from(failed) / f64::from(deploys)),
        recovery_median_secs: median(points.iter().filter_map(|p| p.recovered_secs).collect()),
        points,
        notes: vec![
            format!(
                "failed: followed by a rollback or by a deploy restoring the previous image (or a \"Revert\" commit), or Degraded within {} min of arriving, or its sync failed or rollout is stuck now",
                degraded.within.num_minutes()
            ),
            "a deploy's arrival is its rollout's completion, else Argo CD's sync; deploys before mezame observed Argo CD have none and are left out of the lead time".into(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mezame_shared::deploys::{AppCommit, LinkSource, ManifestAction, ManifestCommit, SyncLink};

    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn deploy(env: &str, tag: &str, prev: Option<&str>, at: i64, ran: Option<i64>, rollback: bool) -> Deploy {
        Deploy {
            env: env.into(),
            ms: "cart".into(),
            tag: tag.into(),
            previous_tag: prev.map(Into::into),
            app: Some(AppCommit { sha: tag.into(), subject: String::new(), author: String::new(), at: t(0), source: LinkSource::Trailers }),
            manifest: ManifestCommit {
                sha: format!("m-{env}-{tag}-{at}"),
                subject: String::new(),
                author: String::new(),
                at: t(at),
                files: vec![],
                merged_by: None,
                action: rollback.then(|| ManifestAction {
                    kind: ChangeKind::Rollback,
                    by: "ann".into(),
                    from: None,
                    reason: Some("bad".into()),
                }),
            },
            sync: ran.map(|r| SyncLink {
                id: 1,
                revision: String::new(),
                started_at: None,
                finished_at: t(r),
                initiated_by: None,
                also_deployed: vec![],
            }),
            rollout: None,
            waiting: None,
            lead_time_secs: None,
            before_observed: ran.is_none(),
        }
    }

    fn never() -> Degraded {
        Degraded { at: vec![], within: Duration::minutes(30) }
    }

    #[test]
    fn a_deploy_that_went_degraded_soon_after_it_arrived_failed_even_once_recovered() {
        let dev = vec![
            deploy("dev", "a", Some("z"), 3, Some(4), false),
            deploy("dev", "b", Some("a"), 5, Some(6), false),
            deploy("dev", "c", Some("b"), 10, Some(11), false),
        ];
        // Degraded 2 h after a arrived (too late to be a's), 10 min after b, and 40 s after c's sync.
        let at = vec![t(4) + Duration::hours(2) - Duration::minutes(1), t(6) + Duration::minutes(10), t(11) + Duration::seconds(40)];
        let degraded = Degraded { at, within: Duration::minutes(30) };
        let d = figures("dev", "cart", &dev, &dev, |_: &Deploy| vec![], &degraded, Window { days: 7, now: t(30) });
        let failures: Vec<_> = d.points.iter().map(|p| p.failure.as_deref()).collect();
        assert_eq!(failures, [None, Some("Degraded 10 min after it arrived"), Some("Degraded 40 s after it arrived")]);
        assert_eq!(d.points[1].recovered_secs, None, "the next deploy failed too: not recovered yet");
        assert_eq!(d.failed, 2);
        // Within 5 minutes only c's counts; b's is not the next deploy's either.
        let d = figures(
            "dev",
            "cart",
            &dev,
            &dev,
            |_: &Deploy| vec![],
            &Degraded { within: Duration::minutes(5), ..degraded },
            Window { days: 7, now: t(30) },
        );
        assert_eq!(d.points.iter().map(|p| p.failure.is_some()).collect::<Vec<_>>(), [false, false, true]);
    }

    #[test]
    fn a_transition_in_the_second_the_next_deploy_arrived_is_the_one_before_it() {
        let dev = vec![deploy("dev", "broken", Some("z"), 3, Some(4), false), deploy("dev", "fix", Some("broken"), 5, Some(6), false)];
        // Degraded in the very second the fix arrived (whole-second timestamps).
        let degraded = Degraded { at: vec![t(6)], within: Duration::hours(3) };
        let d = figures("dev", "cart", &dev, &dev, |_: &Deploy| vec![], &degraded, Window { days: 7, now: t(30) });
        let failures: Vec<_> = d.points.iter().map(|p| p.failure.is_some()).collect();
        assert_eq!(failures, [true, false], "{:?}", d.points);
        assert_eq!(d.points[0].recovered_secs, Some((t(6) - t(4)).num_seconds()), "recovered when the fix arrived");
    }

    #[test]
    fn every_shipped_commit_counts_and_a_rollback_marks_the_deploy_before_it_failed() {
        // Commits a (hour 0), b (hour 1), c (hour 2). dev: a at 3 (ran 4), b+c at 5 (ran 6), rollback to a at 8 (ran 9).
        // prod: a+b+c at 20 (ran 22).
        let commits: HashMap<&str, Vec<Shipped>> =
            HashMap::from([("a", vec![("a".to_string(), t(0))]), ("c", vec![("b".to_string(), t(1)), ("c".to_string(), t(2))])]);
        let dev = vec![
            deploy("dev", "a", Some("z"), 3, Some(4), false),
            deploy("dev", "c", Some("a"), 5, Some(6), false),
            deploy("dev", "a", Some("c"), 8, Some(9), true),
        ];
        let prod = vec![deploy("prod", "c", Some("z"), 20, Some(22), false)];
        let mut all: Vec<Deploy> = dev.iter().chain(&prod).cloned().collect();
        all.sort_by_key(|d| d.manifest.at);
        let shipped = |d: &Deploy| -> Vec<Shipped> {
            match (d.previous_tag.as_deref(), d.tag.as_str()) {
                (Some("z"), "c") => [commits["a"].clone(), commits["c"].clone()].concat(),
                (Some("c"), "a") => vec![],
                (_, tag) => commits[tag].clone(),
            }
        };
        let now = t(30);
        let d = figures("dev", "cart", &dev, &all, shipped, &never(), Window { days: 7, now });
        assert_eq!((d.deploys, d.failed), (3, 1));
        assert_eq!(d.points[1].failure.as_deref(), Some("rolled back"));
        assert_eq!(d.points[1].recovered_secs, Some(3 * 3600), "ran at 6, the rollback ran at 9");
        assert_eq!(d.recovery_median_secs, Some(3 * 3600));
        // Dev's leads: a 4h, b 5h, c 4h → median 4h; the rollback ships nothing.
        assert_eq!((d.lead_time.commits, d.lead_time.median_secs), (3, Some(4 * 3600)));
        assert_eq!(d.lead_time.promotion_median_secs, Some(0));
        let p = figures("prod", "cart", &prod, &all, shipped, &never(), Window { days: 7, now });
        // Prod: a 22h, b 21h, c 20h → 21h; CI a 3h, b 4h, c 3h → 3h; first env a 1h, b 1h, c 1h;
        // promotion: 20 − 4 = 16h for a, 20 − 6 = 14h for b and c → 14h.
        assert_eq!(p.lead_time.median_secs, Some(21 * 3600));
        assert_eq!(p.lead_time.ci_median_secs, Some(3 * 3600));
        assert_eq!(p.lead_time.first_env_median_secs, Some(3600));
        assert_eq!(p.lead_time.promotion_median_secs, Some(14 * 3600));
        assert_eq!((p.failed, p.change_failure_rate), (0, Some(0.0)));
        assert_eq!(p.daily.len(), 7);
        assert_eq!(p.daily.iter().map(|c| c.deploys).sum::<u32>(), 1);
    }

    #[test]
    fn an_unobserved_deploy_is_counted_but_not_timed_and_a_revert_is_a_failure() {
        let dev = vec![
            deploy("dev", "a", Some("z"), 3, None, false),
            deploy("dev", "b", Some("a"), 5, Some(6), false),
            deploy("dev", "a", Some("b"), 7, Some(8), false),
        ];
        let shipped =
            |d: &Deploy| if d.tag == "b" && d.previous_tag.as_deref() == Some("a") { vec![("b".to_string(), t(1))] } else { vec![] };
        let d = figures("dev", "cart", &dev, &dev, shipped, &never(), Window { days: 30, now: t(30) });
        assert_eq!(d.points[1].failure.as_deref(), Some("reverted"));
        assert_eq!((d.lead_time.commits, d.lead_time.unmeasured), (1, 0));
        assert_eq!(d.points[0].reached, None);
        assert!(
            figures("dev", "cart", &dev, &dev, shipped, &never(), Window { days: 7, now: t(24 * 30) }).deploys == 0,
            "out of the window"
        );
    }
}
