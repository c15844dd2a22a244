//! Re-reading a view when the server says it may have changed: its stream
//! of `changed` events (one as it opens and after each reconnection, then
//! one per change, spaced by the server), plus a slow timer should the
//! stream not open (a proxy that buffers it).

use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::components::refresh::refresh_while;
use crate::components::sse::Stream;

/// Re-read anyway this often.
const FALLBACK: Duration = Duration::from_secs(30);

/// Calls `reread` on each cue of the stream at `url()` (reopened when it
/// changes), for as long as the calling component lives.
pub fn reread_on_changes(url: impl Fn() -> Option<String> + 'static, reread: impl Fn() + Clone + 'static) {
    let stream: StoredValue<Option<SendWrapper<Stream>>> = StoredValue::new(None);
    let on_cue = reread.clone();
    Effect::new(move |_| {
        stream.set_value(None);
        let mut opened = url().and_then(|u| Stream::open(&u));
        if let Some(s) = opened.as_mut() {
            let on_cue = on_cue.clone();
            let _ = s.on("changed", move |_| on_cue());
        }
        stream.set_value(opened.map(SendWrapper::new));
    });
    on_cleanup(move || stream.set_value(None));
    refresh_while(|| true, FALLBACK, reread, || ());
}
