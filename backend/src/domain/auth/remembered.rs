//! Credentials checked against the database in the last second, remembered
//! so that a burst of requests with one token or session cookie reads the
//! database once, not once per request (the database round trip was the
//! authenticated GET's latency tail under load).
//!
//! Requests that find nothing remembered check one at a time per credential
//! ([`Remembered::recall`]): twenty requests arriving together with a new
//! cookie make one database read, not twenty. A credential in steady use is
//! checked again once it is [`RENEW_AFTER`] old, by one request while the
//! others go on with what is remembered: the credential never lapses under
//! load, so no burst of requests waits on the database every second (that
//! wait was the authenticated GET's p99 under load).
//!
//! What this replica revokes (sign-out, a revoked token or session) is
//! forgotten at once. What another replica revokes reaches this one within
//! [`REMEMBER_FOR`]: the bound on how stale a remembered credential may be.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Principal;

/// How long a credential checked against the database is taken on trust.
pub const REMEMBER_FOR: Duration = Duration::from_secs(1);

/// Age after which the next request checks the credential again, the others
/// still taking the remembered one (which is never older than [`REMEMBER_FOR`]).
pub const RENEW_AFTER: Duration = Duration::from_millis(500);

/// At most this many credentials are remembered; beyond, the stale ones go.
const CAPACITY: usize = 4096;

struct Entry {
    principal: Principal,
    /// The session's or token's id, to forget it when it is revoked.
    id: String,
    checked: Instant,
    /// When the credential itself ends (a token's expiry, a session's end).
    ends: DateTime<Utc>,
}

/// Keyed by the credential's hash (never the secret itself).
#[derive(Default)]
pub struct Remembered {
    entries: Mutex<HashMap<String, Entry>>,
    /// A lock per credential being checked against the database.
    checks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What a request does with a credential.
pub enum Recall {
    /// Take this principal: checked less than [`REMEMBER_FOR`] ago.
    Known(Principal),
    /// Check it against the database, then [`Remembered::put`] it; other
    /// requests with the same credential wait meanwhile, or go on with the
    /// remembered principal while it is being renewed.
    Check(tokio::sync::OwnedMutexGuard<()>),
}

impl Remembered {
    /// What to do with the credential `hash`: see [`Recall`].
    pub async fn recall(&self, hash: &str) -> Recall {
        match self.get(hash) {
            Some((p, age)) if age < RENEW_AFTER => return Recall::Known(p),
            // One request renews it; the others do not wait for that.
            Some((p, _)) => return self.lock(hash).try_lock_owned().map_or(Recall::Known(p), Recall::Check),
            None => {}
        }
        let one = self.lock(hash).lock_owned().await;
        // Another request may have checked it meanwhile.
        match self.get(hash) {
            Some((p, _)) => Recall::Known(p),
            None => Recall::Check(one),
        }
    }

    /// The principal of `hash` and how long ago it was checked, if less than
    /// [`REMEMBER_FOR`] ago and the credential has not ended.
    fn get(&self, hash: &str) -> Option<(Principal, Duration)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(hash)?;
        let age = e.checked.elapsed();
        (age < REMEMBER_FOR && Utc::now() < e.ends).then(|| (e.principal.clone(), age))
    }

    pub fn put(&self, hash: &str, id: &str, principal: &Principal, ends: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.checked.elapsed() < REMEMBER_FOR);
        }
        if entries.len() < CAPACITY {
            let e = Entry { principal: principal.clone(), id: id.to_string(), checked: Instant::now(), ends };
            entries.insert(hash.to_string(), e);
        }
    }

    /// The lock of `hash`'s checks against the database.
    fn lock(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
        if checks.len() >= CAPACITY {
            // Locks nobody holds or waits for.
            checks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        checks.entry(hash.to_string()).or_default().clone()
    }

    /// Forgets the session or token `id` (it was revoked or ended here).
    pub fn forget(&self, id: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezame_shared::auth::Via;

    #[test]
    fn remembered_until_stale_ended_or_forgotten() {
        let r = Remembered::default();
        let ada = Principal::person("ada", vec![], Via::Session);
        r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
        r.put("h2", "s2", &ada, Utc::now() - chrono::Duration::seconds(1));
        assert_eq!(r.get("h1").map(|p| p.0.name), Some("ada".into()));
        assert!(r.get("h2").is_none(), "the credential has ended");
        assert!(r.get("h3").is_none());
        r.forget("s1");
        assert!(r.get("h1").is_none(), "revoked here: forgotten at once");
        r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
        std::thread::sleep(REMEMBER_FOR);
        assert!(r.get("h1").is_none(), "checked too long ago");
    }

    fn check(r: Recall) -> tokio::sync::OwnedMutexGuard<()> {
        match r {
            Recall::Check(g) => g,
            Recall::Known(p) => panic!("{} was taken as known", p.name),
        }
    }

    #[tokio::test]
    async fn one_check_at_a_time_per_credential() {
        let r = Remembered::default();
        let first = check(r.recall("h1").await);
        let _other = check(r.recall("h2").await); // another credential: not held up
        let waiting = tokio::time::timeout(Duration::from_millis(50), r.recall("h1")).await;
        assert!(waiting.is_err(), "a second check of h1 waits for the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_millis(50), r.recall("h1")).await;
        drop(check(second.expect("the first check is over")));
        // The first check found it: the requests that waited take it.
        let ada = Principal::person("ada", vec![], Via::Session);
        let first = check(r.recall("h1").await);
        let (waited, ()) = tokio::join!(r.recall("h1"), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
            drop(first);
        });
        assert!(matches!(waited, Recall::Known(p) if p.name == "ada"));
    }

    #[tokio::test]
    async fn a_credential_in_use_is_renewed_by_one_request_while_the_others_go_on() {
        let r = Remembered::default();
        let ada = Principal::person("ada", vec![], Via::Session);
        r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
        assert!(matches!(r.recall("h1").await, Recall::Known(_)), "fresh");
        std::thread::sleep(RENEW_AFTER);
        let renewing = check(r.recall("h1").await);
        for _ in 0..3 {
            let other = tokio::time::timeout(Duration::from_millis(50), r.recall("h1")).await;
            assert!(matches!(other, Ok(Recall::Known(_))), "the others do not wait for the renewal");
        }
        r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
        drop(renewing);
        assert!(matches!(r.recall("h1").await, Recall::Known(_)), "renewed: fresh again");
    }
}
