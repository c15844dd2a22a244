//! A webhook receiver for the notification tests: a plain HTTP/1.1 server on
//! a local port that keeps every request it takes, and answers 500 to the
//! first `fail_first` requests of `/flaky`.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A request the receiver got: its path, its JSON body, and what it answered.
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub body: Value,
    pub status: u16,
}

pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::<Got>::new()));
        let kept = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
                    let mut line = String::new();
                    if read.read_line(&mut line).await.is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or_default().to_string();
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if read.read_line(&mut header).await.unwrap_or(0) == 0 || header.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = header.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = read.read_exact(&mut body).await;
                    let status = {
                        let mut all = kept.lock().unwrap();
                        let flaky_before = all.iter().filter(|g| g.path == "/flaky").count();
                        let status = if path == "/flaky" && flaky_before < fail_first { 500 } else { 200 };
                        all.push(Got { path, body: serde_json::from_slice(&body).unwrap_or(Value::Null), status });
                        status
                    };
                    let answer = if status == 200 { "ok" } else { "try later" };
                    let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
                    let _ = write.write_all(reply.as_bytes()).await;
                });
            }
        });
        Receiver { url, got }
    }

    /// Every request taken so far.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The requests to `path` answered 200.
    pub fn delivered(&self, path: &str) -> Vec<Value> {
        self.got().into_iter().filter(|g| g.path == path && g.status == 200).map(|g| g.body).collect()
    }
}
