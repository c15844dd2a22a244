//! mezame's AWS endpoint: a proxy in front of moto that, on demand, answers a
//! share of the calls with the errors AWS answers under load — throttling
//! (400 `Throttling`) or 5xx (`ServiceUnavailable`, `InternalFailure`) — in
//! each protocol's own shape (XML for the query protocols of Auto Scaling, EC2,
//! RDS, ELBv2 and STS; JSON with `x-amzn-ErrorType` for EKS). The share is
//! read from `<env>/aws-faults.json` (`mezame-sandbox aws-faults`) at each call.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, bail};
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::state::State;

/// What to inject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Share of calls that fail, 0 to 1.
    pub rate: f64,
    pub status: u16,
}

impl Faults {
    pub fn new(rate: f64, status: u16) -> Result<Faults> {
        if !(0.0..=1.0).contains(&rate) {
            bail!("--rate {rate}: a share between 0 and 1");
        }
        if ![400, 429, 500, 503].contains(&status) {
            bail!("--status {status}: 400 or 429 (throttling), 500 or 503");
        }
        Ok(Faults { rate, status })
    }

    pub fn describe(&self) -> String {
        if self.rate == 0.0 {
            "AWS calls pass through (no faults)".into()
        } else {
            format!("{:.0}% of AWS calls answered {} ({})", self.rate * 100.0, self.status, self.code())
        }
    }

    fn code(&self) -> &'static str {
        match self.status {
            400 | 429 => "Throttling",
            500 => "InternalFailure",
            _ => "ServiceUnavailable",
        }
    }

    pub fn save(&self, state: &State, env: &str) -> Result<()> {
        state.env(env)?;
        std::fs::write(state.aws_faults_file(env), serde_json::to_string(self)?)?;
        Ok(())
    }

    fn load(state: &State, env: &str) -> Faults {
        std::fs::read_to_string(state.aws_faults_file(env)).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }
}

struct Proxy {
    state: State,
    env: String,
    moto: String,
    http: reqwest::Client,
    /// State of a xorshift generator: which call fails is random, at `rate`.
    random: AtomicU64,
    /// Faults injected, counted across controller restarts (starts at the
    /// file's count); the lock orders the file's writes.
    injected: Mutex<u64>,
}

impl Proxy {
    /// A number in [0, 1).
    fn uniform(&self) -> f64 {
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One more fault, in the count file. Written whole (temporary file, then
    /// rename): a reader never sees it empty — it once did, mid-write, read 0
    /// and wrote 1, losing the count under concurrent calls.
    fn count_fault(&self) {
        let mut n = self.injected.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        let file = count_file(&self.state, &self.env);
        let partial = file.with_extension("count.partial");
        if std::fs::write(&partial, n.to_string()).and_then(|()| std::fs::rename(&partial, &file)).is_err() {
            tracing::warn!(env = self.env, "cannot write {}", file.display());
        }
    }
}

/// How many faults the proxy of `env` has injected (all its runs).
pub fn injected(state: &State, env: &str) -> u64 {
    std::fs::read_to_string(count_file(state, env)).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

fn count_file(state: &State, env: &str) -> std::path::PathBuf {
    state.aws_faults_file(env).with_extension("count")
}

/// Serves the proxy on the environment's AWS port until the process ends.
pub async fn serve(state: State, env: &str) -> Result<()> {
    let es = state.env(env)?.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", es.aws_port)).await?;
    let proxy = std::sync::Arc::new(Proxy {
        moto: es.moto_url(),
        env: env.to_string(),
        http: reqwest::Client::builder().build()?,
        random: AtomicU64::new(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0x9e37_79b9) | 1,
        ),
        injected: Mutex::new(injected(&state, env)),
        state,
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn forward(AxState(p): AxState<std::sync::Arc<Proxy>>, request: Request) -> Response {
    let faults = Faults::load(&p.state, &p.env);
    let query_protocol =
        request.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("x-www-form-urlencoded"));
    if faults.rate > 0.0 && p.uniform() < faults.rate {
        p.count_fault();
        return fault(&faults, query_protocol);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let url = format!("{}{}", p.moto, parts.uri.path_and_query().map(|x| x.as_str()).unwrap_or("/"));
    let mut out = p.http.request(parts.method.clone(), &url).body(bytes);
    // The Host header as sent: it is signed, and moto checks signatures when it enforces IAM.
    for (k, v) in parts.headers.iter().filter(|(k, _)| *k != "content-length") {
        out = out.header(k, v);
    }
    match out.send().await {
        Ok(r) => {
            let mut response = Response::builder().status(r.status().as_u16());
            for (k, v) in r.headers().iter().filter(|(k, _)| *k != "transfer-encoding" && *k != "content-length") {
                response = response.header(k, v);
            }
            let body = r.bytes().await.unwrap_or_default();
            response.body(Body::from(body)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("moto: {e}")).into_response(),
    }
}

fn fault(f: &Faults, query_protocol: bool) -> Response {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let message = "injected by mezame-sandbox aws-faults";
    if query_protocol {
        let body = format!(
            "<ErrorResponse><Error><Type>Receiver</Type><Code>{}</Code><Message>{message}</Message></Error><RequestId>sandbox-fault</RequestId></ErrorResponse>",
            f.code()
        );
        let mut r = (status, body).into_response();
        r.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
        r
    } else {
        let code = format!("{}Exception", f.code());
        let mut r = (status, format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}")).into_response();
        r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&code) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}
