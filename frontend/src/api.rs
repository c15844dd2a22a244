//! Calls to the server's `/api`, typed with `mezame-shared`.

use std::fmt;

use mezame_shared::audit::AuditPage;
use mezame_shared::envs::EnvList;
use mezame_shared::error::ErrorBody;
use serde::de::DeserializeOwned;

/// Why a call failed, in words for the page.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server answered with an error body.
    Server { status: u16, code: String, message: String },
    /// The request did not get an answer, or the answer was not understood.
    Network(String),
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiFailure::Server { status, code, message } => write!(f, "{message} ({status} {code})"),
            ApiFailure::Network(m) => write!(f, "cannot reach the mezame server: {m}"),
        }
    }
}

/// GET a JSON document.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    let response = gloo_net::http::Request::get(path)
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    if response.ok() {
        response
            .json::<T>()
            .await
            .map_err(|e| ApiFailure::Network(format!("unexpected answer from {path}: {e}")))
    } else {
        let status = response.status();
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiFailure::Server {
                status,
                code: body.error.code,
                message: body.error.message,
            }),
            Err(_) => Err(ApiFailure::Server {
                status,
                code: "unknown".into(),
                message: format!("{path} answered {status}"),
            }),
        }
    }
}

pub async fn get_envs() -> Result<EnvList, ApiFailure> {
    get("/api/envs").await
}

pub async fn get_audit(env: Option<String>, before: Option<i64>) -> Result<AuditPage, ApiFailure> {
    let mut query = vec![];
    if let Some(env) = env {
        query.push(format!("env={}", encode(&env)));
    }
    if let Some(before) = before {
        query.push(format!("before={before}"));
    }
    let path = if query.is_empty() {
        "/api/audit".to_string()
    } else {
        format!("/api/audit?{}", query.join("&"))
    };
    get(&path).await
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
