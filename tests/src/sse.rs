//! A minimal Server-Sent Events reader for the tests.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

/// One event: its `event:` name, `id:` and `data:`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

pub struct Sse {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    /// The server ended the stream (or the connection broke).
    closed: bool,
    /// The id of the last event read (what a browser resends as `Last-Event-ID`).
    last_id: Option<String>,
}

impl Sse {
    /// Opens `url` as the test admin; panics unless it answers 200 with `text/event-stream`.
    pub async fn open(url: &str) -> Sse {
        Self::open_with(&crate::client(), url).await
    }

    /// Opens `url` with `http` (its credentials).
    pub async fn open_with(http: &reqwest::Client, url: &str) -> Sse {
        Self::request(http.get(url)).await
    }

    /// Opens the stream `request` asks for (e.g. with a `Last-Event-ID`).
    pub async fn request(request: reqwest::RequestBuilder) -> Sse {
        let (http, request) = request.build_split();
        let request = request.unwrap_or_else(|e| panic!("an SSE request: {e}"));
        let url = request.url().to_string();
        let r = http.execute(request).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(r.status().as_u16(), 200, "GET {url}");
        let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
        Sse { body: r.bytes_stream().boxed(), buffer: String::new(), closed: false, last_id: None }
    }

    /// The id of the last event read.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Whether the stream has ended (a `None` from [`Sse::next`] is then final).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The next event (comments and keep-alives skipped), or `None` after
    /// `timeout` or once the stream ended ([`Sse::closed`]).
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut ev = SseEvent { event: "message".into(), id: None, data: String::new() };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_string();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !ev.data.is_empty() {
                            ev.data.push('\n');
                        }
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    if ev.id.is_some() {
                        self.last_id.clone_from(&ev.id);
                    }
                    return Some(ev);
                }
                continue;
            }
            let chunk = match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None | Some(Err(_))) => {
                    self.closed = true;
                    return None;
                }
            };
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}
