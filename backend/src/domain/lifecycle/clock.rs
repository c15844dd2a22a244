//! The scheduler's clock: the system clock, which the end-to-end tests may
//! move (`PUT /api/debug/clock`, mounted only with `debug_routes`) to check
//! that scheduled runs start at the right local time, across DST changes.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct Clock {
    /// Added to the system clock, in milliseconds (0 in production).
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// From now on, `now()` runs from `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        self.offset_ms.store((at - Utc::now()).num_milliseconds(), Ordering::Relaxed);
    }
}
