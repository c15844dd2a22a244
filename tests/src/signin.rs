//! Signing in as a browser would, over HTTP: mezame's `/auth/login`, the
//! sandbox's OpenID provider's page (form posted with a seeded user's
//! password), and back to `/auth/callback`, keeping cookies per host. Also
//! ID tokens signed for the tests: with the provider's own key (from the
//! sandbox) or with a key the provider does not publish.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::sandbox;

/// Cookies per `host:port`, as a browser keeps them (paths ignored).
#[derive(Default, Debug, Clone)]
pub struct Jar(HashMap<String, HashMap<String, String>>);

fn authority(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0)))
        .unwrap_or_default()
}

impl Jar {
    fn store(&mut self, url: &str, headers: &reqwest::header::HeaderMap) {
        let host = self.0.entry(authority(url)).or_default();
        for v in headers.get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let first = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                let expired = v.to_ascii_lowercase().contains("max-age=0") || val.is_empty();
                if expired {
                    host.remove(k.trim());
                } else {
                    host.insert(k.trim().to_string(), val.trim().to_string());
                }
            }
        }
    }

    fn header(&self, url: &str) -> Option<String> {
        let host = self.0.get(&authority(url))?;
        (!host.is_empty()).then(|| host.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    /// A cookie of `url`'s host.
    pub fn get(&self, url: &str, name: &str) -> Option<String> {
        self.0.get(&authority(url))?.get(name).cloned()
    }
}

/// A signed-in browser: its cookies, and how long the round trip took.
pub struct SignedIn {
    pub jar: Jar,
    /// `mezame_session`.
    pub session: String,
    pub elapsed: Duration,
    /// Where mezame sent the browser back to.
    pub landed: String,
}

fn no_redirects() -> reqwest::Client {
    crate::http_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in to the server at `base` through the provider; `Err` with what
/// the last page said when the provider refuses.
pub async fn sign_in(base: &str, user: &str, password: &str) -> Result<SignedIn, String> {
    sign_in_from(base, "/envs", user, password).await
}

pub async fn sign_in_from(base: &str, return_to: &str, user: &str, password: &str) -> Result<SignedIn, String> {
    let http = no_redirects();
    let mut jar = Jar::default();
    let started = Instant::now();
    let mut url = format!("{base}/auth/login?return_to={}", return_to.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D"));
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        let mut req = match &form {
            Some(fields) => http.post(&url).form(fields),
            None => http.get(&url),
        };
        form = None;
        if let Some(c) = jar.header(&url) {
            req = req.header(reqwest::header::COOKIE, c);
        }
        let r = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        jar.store(&url, r.headers());
        let status = r.status().as_u16();
        if (300..400).contains(&status) {
            let location = r.headers().get("location").and_then(|l| l.to_str().ok()).ok_or("a redirect without Location")?;
            let next = reqwest::Url::parse(&url).unwrap().join(location).unwrap().to_string();
            if next.starts_with(base) && !next.contains("/auth/") {
                let session = jar.get(base, "mezame_session").ok_or_else(|| format!("back at {next} without a session cookie"))?;
                return Ok(SignedIn { jar, session, elapsed: started.elapsed(), landed: next });
            }
            url = next;
            continue;
        }
        let text = r.text().await.unwrap_or_default();
        if status == 200
            && let Some(action) = text.split("action=\"").nth(1).and_then(|s| s.split('"').next())
        {
            url = reqwest::Url::parse(&url).unwrap().join(action).unwrap().to_string();
            form = Some(vec![("username".into(), user.into()), ("password".into(), password.into())]);
            continue;
        }
        return Err(format!("{status} at {url}: {}", text.chars().take(400).collect::<String>()));
    }
    Err("more than 20 redirects".into())
}

/// The sandbox's seeded user of `role` (admin, operator, viewer).
pub fn user(role: &str) -> mezame_sandbox::oidc::User {
    mezame_sandbox::oidc::users(&sandbox()).into_iter().find(|u| u.role == role).unwrap_or_else(|| panic!("no {role} user in the sandbox"))
}

/// The sandbox's `[auth]` table (its provider, bindings and users' tokens)
/// for a server of these environments.
pub fn sandbox_auth_toml(envs: &[&str]) -> String {
    let state = sandbox();
    let oidc = state.oidc.clone().expect("the sandbox runs an OpenID provider");
    mezame_sandbox::oidc::Identities::ensure(&state).unwrap().auth_toml(&oidc, envs)
}

/// The provider's issuer URL.
pub fn issuer() -> String {
    sandbox().oidc.expect("the sandbox runs an OpenID provider").issuer()
}

/// Signs `claims` as an ID token with the provider's own key (RS256, its kid).
pub async fn provider_signed(claims: &serde_json::Value) -> String {
    let jwks: serde_json::Value = crate::anonymous().get(format!("{}/jwks", issuer())).send().await.unwrap().json().await.unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let pem = std::fs::read(mezame_sandbox::oidc::signing_key_pem(&sandbox())).unwrap();
    sign(claims, &pem, Some(kid))
}

/// Signs `claims` with a fresh RSA key the provider has never published
/// (made by Node, which the sandbox's provider already needs).
pub fn foreign_signed(claims: &serde_json::Value, kid: Option<String>) -> String {
    let out = std::process::Command::new("node")
        .args(["-e", "process.stdout.write(require('crypto').generateKeyPairSync('rsa',{modulusLength:2048}).privateKey.export({format:'pem',type:'pkcs8'}))"])
        .output()
        .expect("node runs");
    sign(claims, &out.stdout, kid)
}

fn sign(claims: &serde_json::Value, pem: &[u8], kid: Option<String>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid;
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(pem).expect("an RSA PEM")).unwrap()
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An Application Load Balancer's signing, for tests: an EC P-256 key (made
/// by Node), its public key served as PEM at `<keys_url>/<kid>` by a tiny
/// local server, and `x-amzn-oidc-data` tokens signed with it (ES256, the
/// `signer` and `kid` in the header, segments padded with `=` as AWS does).
pub struct FakeAlb {
    pub keys_url: String,
    pub kid: String,
    private_pem: Vec<u8>,
}

impl FakeAlb {
    pub fn start() -> FakeAlb {
        let out = std::process::Command::new("node")
            .args([
                "-e",
                "const k=require('crypto').generateKeyPairSync('ec',{namedCurve:'P-256'});\
                 process.stdout.write(JSON.stringify({private:k.privateKey.export({format:'pem',type:'pkcs8'}),public:k.publicKey.export({format:'pem',type:'spki'})}))",
            ])
            .output()
            .expect("node runs");
        let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let public = keys["public"].as_str().unwrap().to_string();
        let kid = "9f3a2c1e-alb-test".to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served_kid = kid.clone();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let found = request.starts_with(&format!("GET /{served_kid} "));
                let (status, body) = if found { ("200 OK", public.clone()) } else { ("404 Not Found", String::new()) };
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            }
        });
        FakeAlb { keys_url: format!("http://127.0.0.1:{port}"), kid, private_pem: keys["private"].as_str().unwrap().as_bytes().to_vec() }
    }

    /// A token as the load balancer `signer` would sign it, padded with `=`.
    pub fn sign(&self, signer: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.extras.insert("signer", signer);
        header.extras.insert("client", "alb-client");
        let token = jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_pem(&self.private_pem).unwrap()).unwrap();
        token
            .split('.')
            .map(|part| {
                let pad = (4 - part.len() % 4) % 4;
                format!("{part}{}", "=".repeat(pad))
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}
