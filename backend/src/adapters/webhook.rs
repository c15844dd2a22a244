//! Posting a JSON message to a webhook (Slack-compatible or any receiver).
//! The URL is a credential: it never appears in an error.

use std::time::Duration;

use super::AdapterError;

/// One HTTP client for every webhook: 10 s per attempt, no redirects followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client with the default TLS settings")
}

/// Posts `body` (JSON text) to `url`; a 2xx answer is a delivery.
pub async fn post(http: &reqwest::Client, url: &str, body: &str) -> Result<(), AdapterError> {
    let answer = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| AdapterError::Webhook(without_url(&e)))?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let text = answer.text().await.unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    Err(AdapterError::Webhook(format!("answered {status}{}", if text.is_empty() { String::new() } else { format!(": {text}") })))
}

/// A request error in words, without the URL reqwest puts in its message.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer within 10 s"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(cause) => format!("{kind} ({cause})"),
        None => kind.to_string(),
    }
}
