//! The weekly schedule: which scheduled wake or sleep falls in a window of
//! time, in the environment's time zone (chrono-tz, so correct across DST).
//!
//! Schedules are edges, not levels: a wake is started at the wake time, a
//! sleep at the sleep time, and nothing in between. So a manual wake outside
//! the schedule keeps the environment awake until the next scheduled sleep,
//! and a manual sleep holds until the next scheduled wake.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use mezame_shared::power::{RunAction, Schedule, WEEKDAYS, parse_hhmm};

/// The scheduled runs with `after < at <= until`, in order.
pub fn due(s: &Schedule, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, RunAction)> {
    let Ok(tz) = s.time_zone.parse::<Tz>() else { return Vec::new() };
    let (Some(wake), Some(sleep)) = (parse_hhmm(&s.wake), parse_hhmm(&s.sleep)) else { return Vec::new() };
    let days: Vec<Weekday> =
        s.days.iter().filter_map(|d| WEEKDAYS.iter().position(|w| w == d)).filter_map(|i| Weekday::try_from(i as u8).ok()).collect();
    let mut out = Vec::new();
    // Local dates that can hold an instant of the window (a day of margin for offsets).
    let first = after.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = until.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut date = first;
    while date <= last {
        if days.contains(&date.weekday()) {
            for (minutes, action) in [(wake, RunAction::Wake), (sleep, RunAction::Sleep)] {
                if let Some(at) = local(tz, date, minutes)
                    && at > after
                    && at <= until
                {
                    out.push((at, action));
                }
            }
        }
        date += Duration::days(1);
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// The first `minutes` after midnight, local time in `tz`, after `now`.
pub fn next_local(tz: &str, minutes: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz: Tz = tz.parse().ok()?;
    let today = now.with_timezone(&tz).date_naive();
    (0..3).filter_map(|d| local(tz, today + Duration::days(d), minutes)).find(|at| *at > now)
}

/// The sleeps coming in `(now, now + ahead]` — the schedule's (unless a
/// keep-awake holds past them) and the end of a keep-awake —, each with its
/// local time (`20:00 Europe/Paris`).
pub fn sleeps_within(
    s: Option<&Schedule>,
    hold: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    ahead: Duration,
) -> Vec<(DateTime<Utc>, String)> {
    let mut at: Vec<DateTime<Utc>> = s
        .map(|s| due(s, now, now + ahead))
        .unwrap_or_default()
        .into_iter()
        .filter(|(at, action)| *action == RunAction::Sleep && hold.is_none_or(|h| h <= *at))
        .map(|(at, _)| at)
        .collect();
    at.extend(hold.filter(|h| *h > now && *h <= now + ahead));
    at.sort();
    at.dedup();
    at.into_iter().map(|t| (t, local_label(s, t))).collect()
}

/// `at` as people read it: its time where the schedule is (UTC without one), e.g. `20:00 Europe/Paris`.
pub fn local_label(s: Option<&Schedule>, at: DateTime<Utc>) -> String {
    let tz: Tz = s.and_then(|s| s.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    format!("{} {tz}", at.with_timezone(&tz).format("%H:%M"))
}

/// `date` at `minutes` after midnight, local time, as UTC. A time skipped by
/// a DST change (02:30 on the spring-forward night) happens at the first
/// valid minute after it; a repeated one (autumn) at its first occurrence.
fn local(tz: Tz, date: NaiveDate, minutes: u32) -> Option<DateTime<Utc>> {
    let mut t = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?;
    for _ in 0..180 {
        match tz.from_local_datetime(&date.and_time(t)) {
            LocalResult::Single(d) => return Some(d.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays(wake: &str, sleep: &str, tz: &str) -> Schedule {
        Schedule {
            days: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
            wake: wake.into(),
            sleep: sleep.into(),
            time_zone: tz.into(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fires_at_local_time_on_scheduled_days_only() {
        let s = weekdays("08:00", "20:00", "Europe/Paris");
        // Friday 2026-11-27 and the weekend after: Paris is UTC+1 in winter.
        let runs = due(&s, utc("2026-11-27T00:00:00Z"), utc("2026-11-30T00:00:00Z"));
        assert_eq!(runs, vec![(utc("2026-11-27T07:00:00Z"), RunAction::Wake), (utc("2026-11-27T19:00:00Z"), RunAction::Sleep)]);
        // The window is exclusive at its start, inclusive at its end: a tick
        // at exactly 07:00 fires once.
        assert_eq!(due(&s, utc("2026-11-27T06:59:30Z"), utc("2026-11-27T07:00:00Z")).len(), 1);
        assert!(due(&s, utc("2026-11-27T07:00:00Z"), utc("2026-11-27T07:00:30Z")).is_empty());
    }

    #[test]
    fn follows_the_clock_change() {
        let s = weekdays("08:00", "20:00", "Europe/Paris");
        // Friday before and Monday after the spring change (2026-03-29): 08:00 is 07:00Z, then 06:00Z.
        assert_eq!(due(&s, utc("2026-03-27T00:00:00Z"), utc("2026-03-27T12:00:00Z"))[0].0, utc("2026-03-27T07:00:00Z"));
        assert_eq!(due(&s, utc("2026-03-30T00:00:00Z"), utc("2026-03-30T12:00:00Z"))[0].0, utc("2026-03-30T06:00:00Z"));
        // New York, autumn (2026-11-01): 08:00 EDT = 12:00Z on Friday, 08:00 EST = 13:00Z on Monday.
        let ny = weekdays("08:00", "18:00", "America/New_York");
        assert_eq!(due(&ny, utc("2026-10-30T00:00:00Z"), utc("2026-10-30T23:00:00Z"))[0].0, utc("2026-10-30T12:00:00Z"));
        assert_eq!(due(&ny, utc("2026-11-02T00:00:00Z"), utc("2026-11-02T23:00:00Z"))[0].0, utc("2026-11-02T13:00:00Z"));
    }

    #[test]
    fn keep_awake_until_is_the_next_such_local_time() {
        // 20:30 in Paris (UTC+1): 21:00 is today, 08:00 is tomorrow.
        let now = utc("2026-11-27T19:30:00Z");
        assert_eq!(next_local("Europe/Paris", 21 * 60, now), Some(utc("2026-11-27T20:00:00Z")));
        assert_eq!(next_local("Europe/Paris", 8 * 60, now), Some(utc("2026-11-28T07:00:00Z")));
        assert_eq!(next_local("Nowhere/City", 0, now), None);
    }

    #[test]
    fn sleeps_to_warn_of() {
        let s = weekdays("08:00", "20:00", "Europe/Paris");
        let now = utc("2026-11-27T18:50:00Z");
        let day = Duration::hours(24);
        assert_eq!(sleeps_within(Some(&s), None, now, day), vec![(utc("2026-11-27T19:00:00Z"), "20:00 Europe/Paris".to_string())]);
        // Kept awake until 22:00: the 20:00 sleep is skipped, the hold's end is the sleep.
        let hold = utc("2026-11-27T21:00:00Z");
        assert_eq!(sleeps_within(Some(&s), Some(hold), now, day), vec![(hold, "22:00 Europe/Paris".to_string())]);
        assert!(sleeps_within(None, None, now, day).is_empty());
    }

    #[test]
    fn a_time_skipped_by_dst_fires_right_after_the_gap() {
        let s = Schedule { days: vec!["sun".into()], wake: "02:30".into(), sleep: "23:00".into(), time_zone: "Europe/Paris".into() };
        // 2026-03-29: 02:00 → 03:00 local. 02:30 does not exist; the wake fires at 03:00 CEST = 01:00Z.
        let runs = due(&s, utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z"));
        assert_eq!(runs, vec![(utc("2026-03-29T01:00:00Z"), RunAction::Wake)]);
    }
}
