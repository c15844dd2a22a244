//! The sandbox's identity provider and its people: the real npm
//! `oidc-provider` (OpenID Certified) on a loopback port, with one seeded user
//! per role of mezame and an API token for each (declared, hashed, in the
//! mezame configuration `up` writes).
//!
//! | user | groups | role |
//! | --- | --- | --- |
//! | ada | sre | admin everywhere |
//! | omar | developers | operator in dev and qa, viewer elsewhere |
//! | vera | qa | viewer (the default role) |
//!
//! Passwords, tokens, the client secret and the signing key are made once per
//! sandbox and kept in `<dir>/oidc/` (the key also as PEM, so tests can sign
//! tokens of their own with it). `mezame-sandbox status --json` lists them.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::parts::Parts;
use crate::process::{alive, cmdline, free_port, port_open, reusable, spawn_detached, stop};
use crate::state::{OidcState, State};

/// The provider script (its sign-in page checks passwords).
const SCRIPT: &str = include_str!("provider.mjs");

/// A seeded person, with their password and API token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub password: String,
    pub role: String,
    pub groups: Vec<String>,
    /// `Authorization: Bearer <token>` acts as this user with this role.
    pub token: String,
}

/// The secrets of the sandbox's sign-in, made once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identities {
    pub client_id: String,
    pub client_secret: String,
    pub cookie_key: String,
    pub users: Vec<User>,
}

fn dir(state: &State) -> PathBuf {
    state.dir.join("oidc")
}

/// `n` random bytes, hex.
fn random_hex(n: usize) -> Result<String> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Hex SHA-256, as mezame's `[[auth.token]] sha256` wants it.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Identities {
    /// Loads them, or makes them on first use.
    pub fn ensure(state: &State) -> Result<Identities> {
        let file = dir(state).join("identities.json");
        if let Ok(text) = std::fs::read_to_string(&file) {
            return serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()));
        }
        std::fs::create_dir_all(dir(state))?;
        let user = |name: &str, role: &str, group: &str| -> Result<User> {
            Ok(User {
                name: name.into(),
                password: format!("{name}-{}", random_hex(6)?),
                role: role.into(),
                groups: vec![group.into()],
                token: format!("mzm_sandbox_{name}_{}", random_hex(20)?),
            })
        };
        let ids = Identities {
            client_id: "mezame".into(),
            client_secret: random_hex(24)?,
            cookie_key: random_hex(24)?,
            users: vec![user("ada", "admin", "sre")?, user("omar", "operator", "developers")?, user("vera", "viewer", "qa")?],
        };
        std::fs::write(&file, serde_json::to_string_pretty(&ids)?)?;
        Ok(ids)
    }

    /// The `[auth]` table of mezame's configuration for this sandbox.
    pub fn auth_toml(&self, oidc: &OidcState, envs: &[&str]) -> String {
        let dev_like: Vec<String> = envs.iter().filter(|e| **e != "prod").map(|e| format!("\"{e}\"")).collect();
        let mut out = format!(
            "\n# Sign-in through the sandbox's OpenID provider (npm oidc-provider); users and\n\
             # passwords: `mezame-sandbox status`.\n[auth]\ndefault_role = \"viewer\"\n\
             [auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
             [[auth.bind]]\nsubject = \"group:sre\"\nrole = \"admin\"\n",
            issuer = oidc.issuer(),
            id = self.client_id,
            secret = self.client_secret,
        );
        if !dev_like.is_empty() {
            out.push_str(&format!(
                "[[auth.bind]]\nsubject = \"group:developers\"\nrole = \"operator\"\nenvs = [{}]\n",
                dev_like.join(", ")
            ));
        }
        for u in &self.users {
            out.push_str(&format!(
                "[[auth.token]]\nname = \"sandbox-{name}\"\nowner = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{hash}\"\n",
                name = u.name,
                role = u.role,
                hash = sha256_hex(&u.token)
            ));
        }
        out
    }
}

/// The signing key of the provider (PKCS#8 PEM), for tests that sign tokens.
pub fn signing_key_pem(state: &State) -> PathBuf {
    dir(state).join("signing-key.pem")
}

/// Starts the provider unless it runs; returns its state.
pub fn ensure_running(parts: &Parts, state: &State, ids: &Identities) -> Result<OidcState> {
    let d = dir(state);
    std::fs::create_dir_all(&d)?;
    let script = parts.oidc_provider.join("provider.mjs");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(SCRIPT) {
        std::fs::write(&script, SCRIPT)?;
    }
    if let Some(o) = &state.oidc
        && o.pid.is_some_and(|p| alive(p) && cmdline(p).is_some_and(|c| c.contains("provider.mjs")))
        && port_open(o.port)
    {
        return Ok(o.clone());
    }
    if let Some(pid) = state.oidc.as_ref().and_then(|o| o.pid) {
        stop(pid, Duration::from_secs(5));
    }
    let port = match &state.oidc {
        Some(o) if reusable(o.port) => o.port,
        _ => free_port()?,
    };
    let oidc = OidcState { port, pid: None };
    let config = serde_json::json!({
        "issuer": oidc.issuer(),
        "port": port,
        "keys_file": d.join("signing-keys.json"),
        "pem_file": signing_key_pem(state),
        "cookie_key": ids.cookie_key,
        "clients": [{
            "client_id": ids.client_id,
            "client_secret": ids.client_secret,
            // Native (RFC 8252): any loopback port is a valid redirect URI, so
            // every test server, whatever its port, can sign in.
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1/auth/callback"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }],
        "users": ids.users.iter().map(|u| serde_json::json!({
            "name": u.name, "password": u.password, "email": format!("{}@sandbox.example", u.name), "groups": u.groups,
        })).collect::<Vec<_>>(),
    });
    let config_file = d.join("provider.json");
    std::fs::write(&config_file, serde_json::to_string_pretty(&config)?)?;
    let log = d.join("provider.log");
    // Node once hung here for good before listening (main thread in a futex
    // wait, no CPU, no key file written: seen once, 2026-12-02): it is
    // started again rather than waited for.
    for attempt in 1..=START_ATTEMPTS {
        let pid = spawn_detached(Command::new("node").arg(&script).arg(&config_file), &log)?;
        let started = Instant::now();
        while alive(pid) && started.elapsed() < START_TIMEOUT {
            if port_open(port) {
                return Ok(OidcState { port, pid: Some(pid) });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        stop(pid, Duration::from_secs(2));
        if attempt < START_ATTEMPTS {
            eprintln!(
                "sandbox: the OpenID provider did not listen within {}s (attempt {attempt}): starting it again",
                START_TIMEOUT.as_secs()
            );
        }
    }
    bail!("the OpenID provider did not start ({START_ATTEMPTS} attempts); see {}", log.display())
}

/// How long the provider has to listen, and how often it is started.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: u32 = 3;

/// Stops the provider (for `down`).
pub fn stop_provider(state: &State) {
    if let Some(pid) = state.oidc.as_ref().and_then(|o| o.pid) {
        stop(pid, Duration::from_secs(5));
    }
}

/// The users with their passwords and tokens, for `status`.
pub fn users(state: &State) -> Vec<User> {
    std::fs::read_to_string(dir(state).join("identities.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Identities>(&t).ok())
        .map(|i| i.users)
        .unwrap_or_default()
}

/// Where the provider's files are.
pub fn files(state: &State) -> PathBuf {
    dir(state)
}
