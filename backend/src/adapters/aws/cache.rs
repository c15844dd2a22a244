//! A short cache with single flight for describe calls on read paths (the
//! power state of the Environments page): however many requests ask at once,
//! one call goes to AWS, and its answer (or error) serves them for `ttl`.
//! Steps of a run never use it: they must see AWS as it is now.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

type Slot<V> = Arc<OnceCell<(Instant, Result<V, String>)>>;

pub struct SingleFlight<K, V> {
    ttl: Duration,
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    pub fn new(ttl: Duration) -> Self {
        SingleFlight { ttl, slots: Mutex::new(HashMap::new()) }
    }

    /// The cached answer for `key`, or `fetch`'s — fetched once for everyone
    /// asking while it is in flight.
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> Result<V, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, String>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = slots.get(&key).filter(|s| s.get().is_none_or(|(at, _)| at.elapsed() < self.ttl)).cloned();
            match fresh {
                Some(s) => s,
                None => {
                    let s: Slot<V> = Arc::new(OnceCell::new());
                    slots.insert(key, s.clone());
                    s
                }
            }
        };
        slot.get_or_init(|| async { (Instant::now(), fetch().await) }).await.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn one_call_for_many_askers_then_again_after_the_ttl() {
        let cache = Arc::new(SingleFlight::<&str, u32>::new(Duration::from_millis(200)));
        let calls = Arc::new(AtomicU32::new(0));
        let ask = || {
            let (cache, calls) = (cache.clone(), calls.clone());
            async move {
                cache
                    .get("g", || async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
                    })
                    .await
            }
        };
        let answers = futures::future::join_all((0..20).map(|_| ask())).await;
        assert!(answers.iter().all(|a| *a == Ok(1)), "{answers:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one call in flight for 20 askers");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(ask().await, Ok(2), "fetched again after the ttl");
    }
}
