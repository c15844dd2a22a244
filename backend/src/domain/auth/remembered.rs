//! Credentials checked against the database in the last second, remembered
//! so that a burst of requests with one token or session cookie reads the
//! database once, not once per request (the database round trip was the
//! authenticated GET's latency tail under load).
//!
//! Requests that find nothing remembered check one at a time per credential
//! ([`Remembered::checking`]): twenty requests arriving together with a new
//! cookie make one database read, not twenty.
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

impl Remembered {
    /// The principal of `hash`, if it was checked less than [`REMEMBER_FOR`] ago and has not ended.
    pub fn get(&self, hash: &str) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(hash)?;
        (e.checked.elapsed() < REMEMBER_FOR && Utc::now() < e.ends).then(|| e.principal.clone())
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

    /// Waits until no other request checks `hash` against the database; the
    /// caller looks again ([`Remembered::get`]) before checking it itself.
    pub async fn checking(&self, hash: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
            if checks.len() >= CAPACITY {
                // Locks nobody holds or waits for.
                checks.retain(|_, l| Arc::strong_count(l) > 1);
            }
            checks.entry(hash.to_string()).or_default().clone()
        };
        lock.lock_owned().await
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
        assert_eq!(r.get("h1").map(|p| p.name), Some("ada".into()));
        assert!(r.get("h2").is_none(), "the credential has ended");
        assert!(r.get("h3").is_none());
        r.forget("s1");
        assert!(r.get("h1").is_none(), "revoked here: forgotten at once");
        r.put("h1", "s1", &ada, Utc::now() + chrono::Duration::hours(1));
        std::thread::sleep(REMEMBER_FOR);
        assert!(r.get("h1").is_none(), "checked too long ago");
    }

    #[tokio::test]
    async fn one_check_at_a_time_per_credential() {
        let r = Remembered::default();
        let first = r.checking("h1").await;
        let _other = r.checking("h2").await; // another credential: not held up
        let waiting = tokio::time::timeout(Duration::from_millis(50), r.checking("h1")).await;
        assert!(waiting.is_err(), "a second check of h1 waits for the first");
        drop(first);
        assert!(tokio::time::timeout(Duration::from_millis(50), r.checking("h1")).await.is_ok());
    }
}
