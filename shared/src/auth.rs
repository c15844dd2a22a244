//! Who is signed in, what they may do, and their API tokens and sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a person (or a token) may do in an environment. Ordered: each role
/// may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything of the environment.
    Viewer,
    /// Also wakes, sleeps, cancels and retries runs, runs CronJobs — in environments that are not protected.
    Operator,
    /// Also changes power settings, acts in protected environments (where anything is allowed at all), manages others' tokens and sessions.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How the caller was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// mezame's own sign-in (OpenID Connect), a session cookie.
    Session,
    /// An API token (`Authorization: Bearer mzm_…`).
    Token,
    /// An ID token of the configured issuer, as an authenticating proxy passes it (`Authorization: Bearer`).
    IdToken,
    /// The AWS load balancer's signed `x-amzn-oidc-data`.
    Alb,
    /// `X-Forwarded-User` from a trusted proxy address.
    Proxy,
    /// Sign-in is off (`auth = "none"`).
    NoAuth,
}

/// A role in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvRole {
    pub env: String,
    /// `None`: no access to that environment.
    pub role: Option<Role>,
}

/// Answer of `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub name: String,
    pub groups: Vec<String>,
    pub via: Via,
    /// The caller's role in each environment.
    pub roles: Vec<EnvRole>,
    /// Whether the caller may create API tokens (people signed in, not tokens).
    pub may_create_tokens: bool,
    /// Shown on every page when set (e.g. sign-in is off).
    pub banner: Option<String>,
    /// Whether mezame's own sign-in is configured (then sign out ends the session).
    pub sign_in: bool,
}

/// Body of `POST /api/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, e.g. `ci-wake-dev`.
    pub name: String,
    pub role: Role,
    /// Environments it may act in (`*`: all); each must allow the creator at least `role`.
    pub envs: Vec<String>,
    /// Days until it expires, 1 to 365.
    pub expires_in_days: u32,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub role: Role,
    pub envs: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Declared in the configuration (`[[auth.token]]`): revoked by editing it, not here.
    pub from_config: bool,
}

/// Answer of `POST /api/tokens`: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCreated {
    /// Send it as `Authorization: Bearer <token>`. It is stored hashed: copy it now.
    pub token: String,
    pub info: TokenInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// A sign-in session as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// It ends then, whatever the activity.
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    /// The session of the request that listed it.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// Answer of `POST /auth/logout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedOut {
    /// Where the browser goes next.
    pub redirect: String,
}

/// Body of mutations that a protected environment asks to be confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// In a protected environment: its name, typed by the person (e.g. `"prod"`).
    #[serde(default)]
    pub confirm: Option<String>,
}
