//! Cloudflare's DNS API (v4): a zone's records of a name, and pointing a
//! name at a target with a CNAME (its other address records deleted). The
//! API token is sent as a bearer token and never appears in an error.

use serde::Deserialize;
use serde_json::json;

use super::AdapterError;
use super::webhook;

/// A zone of a Cloudflare account.
#[derive(Clone)]
pub struct Cloudflare {
    http: reqwest::Client,
    /// `https://api.cloudflare.com/client/v4` (a local server in the tests).
    api: String,
    zone: String,
    token: String,
}

/// A DNS record as Cloudflare answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CfRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub content: String,
}

#[derive(Deserialize)]
struct Answer<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<CfError>,
    result: Option<T>,
}

#[derive(Deserialize)]
struct CfError {
    code: i64,
    message: String,
}

impl Cloudflare {
    pub fn new(api: &str, zone: &str, token: &str) -> Cloudflare {
        Cloudflare { http: webhook::client(), api: api.trim_end_matches('/').to_string(), zone: zone.to_string(), token: token.to_string() }
    }

    /// The records of `name`.
    pub async fn records(&self, name: &str) -> Result<Vec<CfRecord>, AdapterError> {
        let url = format!("{}/zones/{}/dns_records", self.api, self.zone);
        let request = self.http.get(url).query(&[("name", name), ("per_page", "100")]);
        self.call(request, &format!("list of {name}")).await.map(Option::unwrap_or_default)
    }

    /// Points `name` at `target` (CNAME, `ttl` s, not proxied): the existing
    /// CNAME is overwritten, other A/AAAA records of the name are deleted first.
    pub async fn point_cname(&self, name: &str, target: &str, ttl: i64, current: &[CfRecord]) -> Result<(), AdapterError> {
        let base = format!("{}/zones/{}/dns_records", self.api, self.zone);
        for old in current.iter().filter(|r| r.kind == "A" || r.kind == "AAAA") {
            self.call::<serde_json::Value>(
                self.http.delete(format!("{base}/{}", old.id)),
                &format!("delete of {name}'s {} record", old.kind),
            )
            .await?;
        }
        let body = json!({"type": "CNAME", "name": name, "content": target, "ttl": ttl, "proxied": false});
        let request = match current.iter().find(|r| r.kind == "CNAME") {
            Some(c) => self.http.put(format!("{base}/{}", c.id)).json(&body),
            None => self.http.post(base).json(&body),
        };
        self.call::<CfRecord>(request, &format!("CNAME {name} → {target}")).await.map(|_| ())
    }

    async fn call<T: for<'de> Deserialize<'de>>(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Option<T>, AdapterError> {
        let failed = |why: String| AdapterError::Dns(format!("cloudflare {what}: {why}"));
        let answer =
            request.bearer_auth(&self.token).send().await.map_err(|e| failed(format!("cannot reach the API ({})", e.without_url())))?;
        let status = answer.status();
        let body: Answer<T> = answer.json().await.map_err(|e| failed(format!("{status}, an answer that is not Cloudflare's ({e})")))?;
        if !body.success || !status.is_success() {
            let errors: Vec<String> = body.errors.iter().map(|e| format!("{} ({})", e.message, e.code)).collect();
            return Err(failed(format!("{status}: {}", if errors.is_empty() { "no error given".into() } else { errors.join("; ") })));
        }
        Ok(body.result)
    }
}

#[cfg(test)]
mod tests {
    //! Against a local server answering as Cloudflare's API reference shows
    //! (envelope `success`/`errors`/`result`, records with `id`/`type`/`name`/
    //! `content`): there is no Cloudflare here, so the answers are written
    //! after the reference's examples, not recorded from a live account.

    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::extract::{Path, Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, put};
    use serde_json::{Value, json};

    use super::*;

    const TOKEN: &str = "cf-test-token-0123456789";

    #[derive(Default)]
    struct Zone {
        records: Vec<Value>,
        calls: Vec<String>,
    }
    type Shared = Arc<Mutex<Zone>>;

    fn authorized(h: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
        if h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}")) {
            return Ok(());
        }
        Err((
            StatusCode::FORBIDDEN,
            Json(json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": [], "result": null})),
        ))
    }

    fn ok(result: Value) -> Json<Value> {
        Json(json!({"success": true, "errors": [], "messages": [], "result": result}))
    }

    async fn list(
        State(z): State<Shared>,
        h: HeaderMap,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
        authorized(&h)?;
        let mut z = z.lock().unwrap();
        z.calls.push(format!("GET {}", q["name"]));
        let found: Vec<Value> = z.records.iter().filter(|r| r["name"] == q["name"].as_str()).cloned().collect();
        Ok(ok(json!(found)))
    }

    async fn create(State(z): State<Shared>, h: HeaderMap, Json(b): Json<Value>) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
        authorized(&h)?;
        let mut z = z.lock().unwrap();
        let mut r = b.clone();
        r["id"] = json!(format!("rec{}", z.records.len() + 100));
        z.calls.push(format!("POST {} {} {}", b["type"], b["name"], b["content"]));
        z.records.push(r.clone());
        Ok(ok(r))
    }

    async fn replace(
        State(z): State<Shared>,
        h: HeaderMap,
        Path(id): Path<String>,
        Json(b): Json<Value>,
    ) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
        authorized(&h)?;
        let mut z = z.lock().unwrap();
        z.calls.push(format!("PUT {id} {}", b["content"]));
        let r = z.records.iter_mut().find(|r| r["id"] == id.as_str()).expect("a known record");
        r["content"] = b["content"].clone();
        Ok(ok(r.clone()))
    }

    async fn remove(State(z): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
        authorized(&h)?;
        let mut z = z.lock().unwrap();
        z.calls.push(format!("DELETE {id}"));
        z.records.retain(|r| r["id"] != id.as_str());
        Ok(ok(json!({"id": id})))
    }

    async fn serve(records: Vec<Value>) -> (String, Shared) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let z: Shared = Arc::new(Mutex::new(Zone { records, calls: vec![] }));
        let app = axum::Router::new()
            .route("/zones/z1/dns_records", get(list).post(create))
            .route("/zones/z1/dns_records/{id}", put(replace).delete(remove))
            .with_state(z.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, z)
    }

    #[tokio::test]
    async fn a_name_is_pointed_with_a_cname_replacing_its_address_records() {
        let a = json!({"id": "rec1", "type": "A", "name": "api.dev.example.com", "content": "203.0.113.7", "proxied": false, "ttl": 300});
        let (url, zone) = serve(vec![a]).await;
        let cf = Cloudflare::new(&url, "z1", TOKEN);
        let current = cf.records("api.dev.example.com").await.unwrap();
        assert_eq!(current[0].kind, "A");
        cf.point_cname("api.dev.example.com", "k8s-one.elb.amazonaws.com", 60, &current).await.unwrap();
        let current = cf.records("api.dev.example.com").await.unwrap();
        assert_eq!(current.len(), 1);
        assert_eq!((current[0].kind.as_str(), current[0].content.as_str()), ("CNAME", "k8s-one.elb.amazonaws.com"));
        // Again, to another target: the CNAME is overwritten in place.
        cf.point_cname("api.dev.example.com", "mezame.example.com", 60, &current).await.unwrap();
        let calls = zone.lock().unwrap().calls.clone();
        assert_eq!(
            calls,
            [
                "GET api.dev.example.com",
                "DELETE rec1",
                "POST \"CNAME\" \"api.dev.example.com\" \"k8s-one.elb.amazonaws.com\"",
                "GET api.dev.example.com",
                "PUT rec100 \"mezame.example.com\"",
            ]
        );
    }

    #[tokio::test]
    async fn a_refusal_says_cloudflare_s_words_and_never_the_token() {
        let (url, zone) = serve(vec![]).await;
        let wrong = Cloudflare::new(&url, "z1", "not-the-token-secret");
        let e = wrong.point_cname("api.dev.example.com", "x.example.com", 60, &[]).await.unwrap_err().to_string();
        assert!(e.contains("403") && e.contains("Authentication error (10000)"), "{e}");
        assert!(!e.contains("not-the-token-secret"), "{e}");
        assert!(zone.lock().unwrap().records.is_empty(), "nothing changed");
        let gone = Cloudflare::new("http://127.0.0.1:9", "z1", TOKEN).records("a.example.com").await.unwrap_err().to_string();
        assert!(gone.contains("cannot reach the API") && !gone.contains(TOKEN), "{gone}");
    }
}
