//! An open `EventSource` and the callbacks it holds: closed when dropped.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

pub type Callback = Closure<dyn FnMut(web_sys::Event)>;

pub struct Stream {
    pub source: EventSource,
    callbacks: Vec<Callback>,
}

impl Stream {
    pub fn open(url: &str) -> Option<Stream> {
        Some(Stream { source: EventSource::new(url).ok()?, callbacks: Vec::new() })
    }

    /// Calls `f` with the data of each event named `event`.
    pub fn on(&mut self, event: &str, mut f: impl FnMut(String) + 'static) -> Option<()> {
        let cb = Callback::new(move |e: web_sys::Event| {
            if let Some(d) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                f(d);
            }
        });
        self.source.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref()).ok()?;
        self.callbacks.push(cb);
        Some(())
    }

    /// Calls `f` on each error, with whether the browser gave up (the stream
    /// is closed: a non-200 answer) rather than reconnecting.
    pub fn on_error(&mut self, mut f: impl FnMut(bool) + 'static) {
        let source = self.source.clone();
        let cb = Callback::new(move |_| f(source.ready_state() == EventSource::CLOSED));
        self.source.set_onerror(Some(cb.as_ref().unchecked_ref()));
        self.callbacks.push(cb);
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}
