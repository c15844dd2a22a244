//! Sign-in, roles and permissions.
//!
//! Module tour:
//! - this file: [`Auth`], the handle the HTTP layer asks "who is this?"
//!   ([`Auth::authenticate`]) from a request's [`Credentials`].
//! - [`principal`]: the caller, and what a request carries.
//! - [`access`]: roles per environment from the configuration's bindings.
//! - [`guard`]: [`Perm`], what a route needs, and [`authorize`], the one rule.
//! - [`login`]: mezame's own sign-in (OIDC code flow + PKCE) and sessions.
//! - [`tokens`]: API tokens made in the UI (and those of the configuration).
//! - [`remembered`]: credentials checked in the last second, so a burst of
//!   requests reads the database once (revocations elsewhere land within 1 s).
//!
//! Identity comes only from something verified: a session of mezame's own
//! sign-in, an API token (stored hashed), an ID token checked against the
//! issuer's keys, the load balancer's signed header, or `X-Forwarded-User`
//! from an address in `trusted_proxies`. Never a bare header by default.

pub mod access;
pub mod guard;
pub mod login;
pub mod principal;
mod remembered;
pub mod tokens;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use mezame_shared::auth::Via;

pub use access::Access;
pub use guard::{Denied, Perm, Scope, authorize};
pub use principal::{Credentials, Principal, TokenScope};

use crate::adapters::db::Db;
use crate::adapters::oidc::alb::AlbKeys;
use crate::adapters::oidc::{self, Issuer};
use crate::adapters::{AdapterError, secrets};
use crate::config::Config;
use crate::config::auth::{AuthConfig, SessionConfig, StaticToken, parse_default_role};

use super::DomainError;

/// mezame's own sign-in against an OpenID Connect issuer.
pub struct OidcSetup {
    pub issuer: Issuer,
    pub client_id: String,
    client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub username_claim: String,
    /// Accepted `aud` of bearer ID tokens.
    pub audiences: Vec<String>,
    /// `/auth/login` is offered.
    pub login: bool,
}

struct AlbSetup {
    keys: AlbKeys,
    groups_claim: String,
    username_claim: String,
}

/// Shared behind an `Arc`: the configured ways in and the roles.
pub struct Auth {
    pub access: Access,
    /// `auth = "none"`.
    pub off: bool,
    db: Db,
    pub oidc: Option<OidcSetup>,
    alb: Option<AlbSetup>,
    trusted: Vec<ipnet::IpNet>,
    static_tokens: Vec<StaticToken>,
    pub session: SessionConfig,
    /// Where people open the panel (no trailing `/`).
    pub public_url: String,
    /// When last a session or token was marked as used, to write it at most once a minute.
    touched: Mutex<HashMap<String, Instant>>,
    /// Sessions and tokens checked against the database in the last second.
    remembered: remembered::Remembered,
}

/// A session's or token's use is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl Auth {
    /// From the configuration; `listen` is the bound address (the default public URL).
    pub fn new(config: &Config, db: Db, listen: SocketAddr) -> Result<Auth, DomainError> {
        let default_url = format!("http://{listen}");
        let Some(a) = config.auth_table() else {
            return Ok(Auth {
                access: Access { default_role: Some(mezame_shared::auth::Role::Admin), bindings: Vec::new() },
                off: true,
                db,
                oidc: None,
                alb: None,
                trusted: Vec::new(),
                static_tokens: Vec::new(),
                session: SessionConfig::default(),
                public_url: default_url,
                touched: Mutex::new(HashMap::new()),
                remembered: Default::default(),
            });
        };
        Self::configured(a, db, default_url)
    }

    fn configured(a: &AuthConfig, db: Db, default_url: String) -> Result<Auth, DomainError> {
        let http = oidc::http_client();
        let oidc = a.oidc.as_ref().map(|o| OidcSetup {
            issuer: Issuer::new(&o.issuer, http.clone()),
            client_id: o.client_id.clone(),
            client_secret: o.client_secret.as_ref().map(|s| s.expose().to_string()),
            scopes: o.scopes.clone(),
            groups_claim: o.groups_claim.clone(),
            username_claim: o.username_claim.clone(),
            audiences: oidc::audiences(&o.client_id, &o.audiences),
            login: o.login,
        });
        let alb = a.alb.as_ref().map(|c| AlbSetup {
            keys: AlbKeys::new(&c.region, c.keys_url.as_deref(), &c.signers, http.clone()),
            groups_claim: c.groups_claim.clone(),
            username_claim: c.username_claim.clone(),
        });
        let trusted = a
            .trusted_proxies
            .iter()
            .map(|c| c.parse::<ipnet::IpNet>().or_else(|_| c.parse::<IpAddr>().map(ipnet::IpNet::from)))
            .collect::<Result<_, _>>()
            .map_err(|e| DomainError::Invalid(format!("auth.trusted_proxies: {e}")))?;
        Ok(Auth {
            access: Access {
                default_role: parse_default_role(&a.default_role).map_err(DomainError::Invalid)?,
                bindings: a.bindings.clone(),
            },
            off: false,
            db,
            oidc,
            alb,
            trusted,
            static_tokens: a.tokens.clone(),
            session: a.session.clone(),
            public_url: a.public_url.clone().unwrap_or(default_url).trim_end_matches('/').to_string(),
            touched: Mutex::new(HashMap::new()),
            remembered: Default::default(),
        })
    }

    /// Cookies get `Secure` when people reach the panel over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Who sent a request: `Ok(None)` when nothing identifies them (anonymous),
    /// `Err` when a credential was presented and refused (with the reason).
    /// A session that ended is not an error: the caller is anonymous again.
    pub async fn authenticate(&self, c: &Credentials<'_>) -> Result<Option<Principal>, DomainError> {
        if self.off {
            return Ok(Some(Principal::nobody_checked()));
        }
        if let Some(bearer) = c.bearer {
            return self.bearer(bearer).await.map(Some);
        }
        if let (Some(data), Some(alb)) = (c.alb_data, &self.alb) {
            let claims = alb.keys.verify(data).await.map_err(refused)?;
            let name = oidc::username(&claims, &alb.username_claim)
                .ok_or_else(|| DomainError::Unauthenticated("x-amzn-oidc-data names no user".into()))?;
            return Ok(Some(Principal::person(&name, oidc::groups(&claims, &alb.groups_claim), Via::Alb)));
        }
        if let Some(secret) = c.session
            && let Some(p) = self.session_principal(secret).await?
        {
            return Ok(Some(p));
        }
        if let (Some(user), Some(peer)) = (c.forwarded_user, c.peer)
            && self.trusted.iter().any(|n| n.contains(&peer))
        {
            let user = user.trim();
            if !user.is_empty() && user.len() <= 200 {
                let groups = c
                    .forwarded_groups
                    .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect())
                    .unwrap_or_default();
                return Ok(Some(Principal::person(user, groups, Via::Proxy)));
            }
        }
        Ok(None)
    }

    async fn bearer(&self, bearer: &str) -> Result<Principal, DomainError> {
        if bearer.starts_with(tokens::PREFIX) {
            return self.api_token(bearer).await;
        }
        let Some(o) = &self.oidc else {
            return Err(DomainError::Unauthenticated(
                "this bearer token is not an API token (mzm_…), and no OIDC issuer is configured to verify ID tokens".into(),
            ));
        };
        let claims = o.issuer.verify(bearer, &o.audiences, None).await.map_err(refused)?;
        let name =
            oidc::username(&claims, &o.username_claim).ok_or_else(|| DomainError::Unauthenticated("the ID token names no user".into()))?;
        Ok(Principal::person(&name, oidc::groups(&claims, &o.groups_claim), Via::IdToken))
    }

    /// Records a use of `key` (a session or token id) at most every minute.
    fn due_for_touch(&self, key: &str) -> bool {
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match touched.get(key) {
            Some(t) if now.duration_since(*t) < TOUCH_EVERY => false,
            _ => {
                touched.insert(key.to_string(), now);
                true
            }
        }
    }

    /// Forgets sessions that ended and sign-ins left unfinished, every few minutes.
    pub fn start_purger(self: &std::sync::Arc<Self>) {
        let auth = self.clone();
        tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let idle = chrono::Duration::minutes(auth.session.idle_minutes as i64);
                if let Err(e) = auth.db.purge_auth(now, now - idle, now - login::LOGIN_TTL).await {
                    tracing::warn!(error = %e, "cannot purge ended sessions");
                }
                tokio::time::sleep(Duration::from_secs(300)).await;
            }
        });
    }
}

/// A credential that was checked and refused: 401 with the reason; an
/// identity provider that cannot be asked: 503.
fn refused(e: AdapterError) -> DomainError {
    match e {
        AdapterError::Rejected(m) => DomainError::Unauthenticated(m),
        other => DomainError::Unavailable(format!("cannot verify the credential: {other}")),
    }
}

/// Hashes a presented secret the way the database keeps it.
fn hashed(secret: &str) -> String {
    secrets::hash(secret)
}
