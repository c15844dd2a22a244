//! An OpenID Connect provider, as a relying party sees it: discovery, its
//! signing keys (JWKS, refreshed when a token names an unknown key), the
//! authorization URL of the code flow with PKCE, the code exchange, and ID
//! token verification (signature with the issuer's keys, `iss`, `aud`, `exp`,
//! and the `nonce` of a sign-in). [`alb`]: the AWS load balancer's signed header.

pub mod alb;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::AdapterError;

/// Claims of a verified token, as JSON.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// Asymmetric algorithms accepted in ID tokens (never `none`, never HMAC:
/// an HMAC key would be the client secret, which a proxy also knows).
const ALGORITHMS: [Algorithm; 6] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256, Algorithm::ES384, Algorithm::PS256];

/// The parts of the discovery document mezame uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// The issuer's discovery document and keys, fetched on first use and kept.
pub struct Issuer {
    url: String,
    http: reqwest::Client,
    state: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    metadata: Option<Arc<Metadata>>,
    keys: Option<Arc<JwkSet>>,
    keys_fetched: Option<Instant>,
}

/// Keys are fetched again at most this often when a token names an unknown key.
const KEY_REFRESH: Duration = Duration::from_secs(30);

/// An HTTP client for identity providers and key servers (TLS with the system's roots).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client with the default TLS settings")
}

fn failed(what: &str, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Oidc(format!("{what}: {e}"))
}

impl Issuer {
    pub fn new(url: &str, http: reqwest::Client) -> Issuer {
        Issuer { url: url.trim_end_matches('/').to_string(), http, state: Mutex::new(Known::default()) }
    }

    /// The discovery document (`<issuer>/.well-known/openid-configuration`),
    /// whose `issuer` must be the configured one.
    pub async fn metadata(&self) -> Result<Arc<Metadata>, AdapterError> {
        let mut known = self.state.lock().await;
        if let Some(m) = &known.metadata {
            return Ok(m.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.url);
        let m: Metadata = self.get_json(&url).await?;
        if m.issuer.trim_end_matches('/') != self.url {
            return Err(AdapterError::Oidc(format!("{url} names issuer {:?}, not the configured {:?}", m.issuer, self.url)));
        }
        let m = Arc::new(m);
        known.metadata = Some(m.clone());
        Ok(m)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, AdapterError> {
        let r = self.http.get(url).send().await.map_err(|e| failed(&format!("GET {url}"), crate::adapters::error_chain(&e)))?;
        if !r.status().is_success() {
            return Err(AdapterError::Oidc(format!("GET {url} answered {}", r.status())));
        }
        r.json().await.map_err(|e| failed(&format!("GET {url}: not the expected JSON"), e))
    }

    /// The key set; fetched again when `kid` is not in it (a key rotation),
    /// at most every [`KEY_REFRESH`].
    async fn keys(&self, kid: Option<&str>) -> Result<Arc<JwkSet>, AdapterError> {
        let jwks_uri = self.metadata().await?.jwks_uri.clone();
        let mut known = self.state.lock().await;
        let has = |set: &JwkSet| kid.is_none_or(|k| set.find(k).is_some());
        if let Some(set) = &known.keys
            && (has(set) || known.keys_fetched.is_some_and(|t| t.elapsed() < KEY_REFRESH))
        {
            return Ok(set.clone());
        }
        let set: JwkSet = self.get_json(&jwks_uri).await?;
        let set = Arc::new(set);
        known.keys = Some(set.clone());
        known.keys_fetched = Some(Instant::now());
        Ok(set)
    }

    /// Verifies an ID token: signed by one of the issuer's keys with an
    /// asymmetric algorithm, issued by it, for one of `audiences`, not
    /// expired (60 s leeway), and carrying `nonce` when one is given.
    pub async fn verify(&self, token: &str, audiences: &[String], nonce: Option<&str>) -> Result<Claims, AdapterError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AdapterError::Rejected(format!("not a JWT: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(AdapterError::Rejected(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let set = self.keys(header.kid.as_deref()).await?;
        let jwk = match &header.kid {
            Some(kid) => set
                .find(kid)
                .ok_or_else(|| AdapterError::Rejected(format!("signed with key {kid:?}, which the issuer does not publish")))?,
            None if set.keys.len() == 1 => &set.keys[0],
            None => return Err(AdapterError::Rejected("the token names no key and the issuer has several".into())),
        };
        if let Some(alg) = jwk.common.key_algorithm
            && !key_allows(alg, header.alg)
        {
            return Err(AdapterError::Rejected(format!("key {:?} is for {alg:?}, the token says {:?}", header.kid, header.alg)));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| AdapterError::Rejected(format!("the issuer's key is unusable: {e}")))?;
        let metadata = self.metadata().await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[metadata.issuer.as_str()]);
        v.set_audience(audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| AdapterError::Rejected(format!("ID token: {e}")))?;
        if let Some(expected) = nonce
            && data.claims.get("nonce").and_then(|n| n.as_str()) != Some(expected)
        {
            return Err(AdapterError::Rejected("ID token: the nonce is not the one of this sign-in".into()));
        }
        Ok(data.claims)
    }

    /// The URL that starts a sign-in: authorization code flow with PKCE (S256).
    pub async fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scopes: &[String],
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<String, AdapterError> {
        let m = self.metadata().await?;
        let mut url = reqwest::Url::parse(&m.authorization_endpoint).map_err(|e| failed("authorization_endpoint", e))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code for the ID token (client_secret_basic).
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<String, AdapterError> {
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
        }
        let m = self.metadata().await?;
        let r = self
            .http
            .post(&m.token_endpoint)
            .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)])
            .send()
            .await
            .map_err(|e| failed("the token endpoint", crate::adapters::error_chain(&e)))?;
        let status = r.status();
        if !status.is_success() {
            let body = r.text().await.unwrap_or_default();
            return Err(AdapterError::Rejected(format!(
                "the issuer refused the code ({status}): {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let t: TokenResponse = r.json().await.map_err(|e| failed("the token endpoint's answer", e))?;
        t.id_token.ok_or_else(|| AdapterError::Oidc("the token endpoint answered no id_token (is `openid` in the scopes?)".into()))
    }
}

/// Whether a key declared for `key_alg` may verify a token signed with `alg`.
fn key_allows(key_alg: KeyAlgorithm, alg: Algorithm) -> bool {
    format!("{key_alg:?}") == format!("{alg:?}")
}

/// `application/x-www-form-urlencoded` of a client id or secret, as RFC 6749
/// §2.3.1 requires inside HTTP Basic.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Names of the claims' groups: a list of strings, or one string.
pub fn groups(claims: &Claims, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|g| g.as_str().map(str::to_string)).collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The user's name: `claim`, else `email`, else `sub`.
pub fn username(claims: &Claims, claim: &str) -> Option<String> {
    [claim, "email", "sub"].iter().find_map(|c| claims.get(*c).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_string))
}

/// Distinct audiences: the client id first.
pub fn audiences(client_id: &str, more: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(client_id.to_string()).chain(more.iter().cloned()).filter(|a| seen.insert(a.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_from_a_list_or_a_string() {
        let c: Claims = serde_json::from_str(r#"{"groups": ["sre", "dev"], "g2": "a, b", "n": 3}"#).unwrap();
        assert_eq!(groups(&c, "groups"), ["sre", "dev"]);
        assert_eq!(groups(&c, "g2"), ["a", "b"]);
        assert!(groups(&c, "n").is_empty() && groups(&c, "none").is_empty());
    }

    #[test]
    fn username_falls_back_to_email_then_sub() {
        let c: Claims = serde_json::from_str(r#"{"sub": "123", "email": "a@x"}"#).unwrap();
        assert_eq!(username(&c, "preferred_username").as_deref(), Some("a@x"));
        let c: Claims = serde_json::from_str(r#"{"sub": "123", "preferred_username": ""}"#).unwrap();
        assert_eq!(username(&c, "preferred_username").as_deref(), Some("123"));
    }

    #[test]
    fn basic_auth_parts_are_form_encoded() {
        assert_eq!(form_encode("a b:c/d"), "a+b%3Ac%2Fd");
    }
}
