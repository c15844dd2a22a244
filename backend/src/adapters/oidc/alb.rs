//! The `x-amzn-oidc-data` header an Application Load Balancer with OIDC
//! authentication adds: an ES256 JWT signed by the load balancer. Its header
//! names the key (`kid`) and the load balancer (`signer`); the public key is a
//! PEM at `<keys_url>/<kid>`. AWS pads the segments with `=`, which strict JWT
//! decoders refuse: the padding is removed first.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;

use super::Claims;
use crate::adapters::AdapterError;

pub struct AlbKeys {
    keys_url: String,
    signers: Vec<String>,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Arc<DecodingKey>>>,
}

impl AlbKeys {
    /// `keys_url`: default `https://public-keys.auth.elb.<region>.amazonaws.com`.
    pub fn new(region: &str, keys_url: Option<&str>, signers: &[String], http: reqwest::Client) -> AlbKeys {
        let keys_url = keys_url.map(str::to_string).unwrap_or_else(|| format!("https://public-keys.auth.elb.{region}.amazonaws.com"));
        AlbKeys { keys_url: keys_url.trim_end_matches('/').to_string(), signers: signers.to_vec(), http, cache: Mutex::new(HashMap::new()) }
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, AdapterError> {
        if let Some(k) = self.cache.lock().await.get(kid) {
            return Ok(k.clone());
        }
        if kid.is_empty() || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(AdapterError::Rejected(format!("key id {kid:?} is not one a load balancer uses")));
        }
        let url = format!("{}/{kid}", self.keys_url);
        let r =
            self.http.get(&url).send().await.map_err(|e| AdapterError::Oidc(format!("GET {url}: {}", crate::adapters::error_chain(&e))))?;
        if !r.status().is_success() {
            return Err(AdapterError::Rejected(format!("no load balancer key {kid:?} ({url} answered {})", r.status())));
        }
        let pem = r.bytes().await.map_err(|e| AdapterError::Oidc(format!("GET {url}: {e}")))?;
        let key = Arc::new(DecodingKey::from_ec_pem(&pem).map_err(|e| AdapterError::Rejected(format!("load balancer key {kid:?}: {e}")))?);
        self.cache.lock().await.insert(kid.to_string(), key.clone());
        Ok(key)
    }

    /// Verifies the header's token: ES256, signed by an allowed load balancer, not expired.
    pub async fn verify(&self, data: &str) -> Result<Claims, AdapterError> {
        let token: String = data.split('.').map(|s| s.trim_end_matches('=')).collect::<Vec<_>>().join(".");
        let header = jsonwebtoken::decode_header(&token).map_err(|e| AdapterError::Rejected(format!("x-amzn-oidc-data: {e}")))?;
        if header.alg != Algorithm::ES256 {
            return Err(AdapterError::Rejected(format!("x-amzn-oidc-data: algorithm {:?}, a load balancer signs ES256", header.alg)));
        }
        let signer: Option<String> = header.extras.get("signer").ok().flatten();
        if !signer.as_ref().is_some_and(|s| self.signers.contains(s)) {
            return Err(AdapterError::Rejected(format!("x-amzn-oidc-data signed by {signer:?}, not one of auth.alb.signers")));
        }
        let kid = header.kid.ok_or_else(|| AdapterError::Rejected("x-amzn-oidc-data names no key".into()))?;
        let key = self.key(&kid).await?;
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_aud = false;
        let data =
            jsonwebtoken::decode::<Claims>(&token, &key, &v).map_err(|e| AdapterError::Rejected(format!("x-amzn-oidc-data: {e}")))?;
        Ok(data.claims)
    }
}
