//! mezame's own sign-in: the OpenID Connect authorization code flow with
//! PKCE (S256), `state` bound to the browser by a short cookie and `nonce`
//! checked in the ID token; then a session in the database (shared by
//! replicas, revocable) with an idle and an absolute timeout.

use chrono::{DateTime, Utc};
use mezame_shared::auth::{SessionInfo, Via};

use super::remembered::Recall;
use super::{Auth, Principal, hashed, refused};
use crate::adapters::db::{LoginRow, SessionRow};
use crate::adapters::{oidc, secrets};
use crate::domain::DomainError;

/// A sign-in must come back from the issuer within this time.
pub const LOGIN_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// What starting a sign-in gives the browser.
pub struct LoginStart {
    /// The issuer's authorization URL to go to.
    pub redirect: String,
    /// The `state`, also set as a short cookie to bind the flow to this browser.
    pub state: String,
}

/// A finished sign-in.
pub struct LoggedIn {
    /// The session cookie's value.
    pub secret: String,
    pub return_to: String,
    pub user: String,
}

/// A session has ended at its absolute end, or once unused for `idle`.
fn ended(now: DateTime<Utc>, last_seen: DateTime<Utc>, expires: DateTime<Utc>, idle: chrono::Duration) -> bool {
    now >= expires || now - last_seen > idle
}

/// A local path to come back to, never another site (`//evil`, `https://…`).
pub fn safe_return_to(r: Option<&str>) -> String {
    match r {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n']) && p.len() < 2000 => {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

impl Auth {
    fn sign_in(&self) -> Result<&super::OidcSetup, DomainError> {
        self.oidc
            .as_ref()
            .filter(|o| o.login)
            .ok_or_else(|| DomainError::NotFound("mezame's own sign-in is not configured ([auth.oidc] with login = true)".into()))
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// Starts a sign-in: remembers the PKCE verifier and nonce under the state.
    pub async fn begin_login(&self, return_to: Option<&str>) -> Result<LoginStart, DomainError> {
        let o = self.sign_in()?;
        let state = secrets::random(32);
        let login = LoginRow {
            verifier: secrets::random(48),
            nonce: secrets::random(24),
            return_to: safe_return_to(return_to),
            created: Utc::now(),
        };
        let redirect = o
            .issuer
            .authorize_url(&o.client_id, &self.redirect_uri(), &o.scopes, &state, &login.nonce, &secrets::pkce_challenge(&login.verifier))
            .await
            .map_err(|e| DomainError::Unavailable(format!("cannot start the sign-in: {e}")))?;
        self.db.create_login(&hashed(&state), &login).await?;
        Ok(LoginStart { redirect, state })
    }

    /// Finishes a sign-in: the browser's state cookie must be the `state` the
    /// issuer sent back; the code is exchanged with the verifier; the ID token
    /// is verified with the nonce; a session is created.
    pub async fn complete_login(
        &self,
        code: &str,
        state: &str,
        iss: Option<&str>,
        cookie_state: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<LoggedIn, DomainError> {
        let o = self.sign_in()?;
        if let Some(iss) = iss {
            let expected = o.issuer.metadata().await.map_err(refused)?.issuer.clone();
            if iss.trim_end_matches('/') != expected.trim_end_matches('/') {
                return Err(DomainError::Unauthenticated(format!("the answer comes from issuer {iss:?}, not {expected:?}")));
            }
        }
        if !cookie_state.is_some_and(|c| secrets::same(c, state)) {
            return Err(DomainError::Unauthenticated(
                "this sign-in was not started in this browser (or its cookie expired): start again from the panel".into(),
            ));
        }
        let login =
            self.db.take_login(&hashed(state)).await?.filter(|l| Utc::now() - l.created < LOGIN_TTL).ok_or_else(|| {
                DomainError::Unauthenticated("this sign-in is unknown, used or older than 10 minutes: start again".into())
            })?;
        let secret = o.client_secret.as_deref().unwrap_or_default();
        let id_token = o.issuer.exchange(code, &login.verifier, &self.redirect_uri(), &o.client_id, secret).await.map_err(refused)?;
        let claims = o.issuer.verify(&id_token, std::slice::from_ref(&o.client_id), Some(&login.nonce)).await.map_err(refused)?;
        let user =
            oidc::username(&claims, &o.username_claim).ok_or_else(|| DomainError::Unauthenticated("the ID token names no user".into()))?;
        let now = Utc::now();
        let session = SessionRow {
            id: secrets::random(12),
            username: user.clone(),
            groups: oidc::groups(&claims, &o.groups_claim),
            created: now,
            last_seen: now,
            expires: now + chrono::Duration::hours(self.session.max_hours as i64),
            user_agent: user_agent.map(|u| u.chars().take(200).collect()),
        };
        let secret = secrets::random(32);
        self.db.create_session(&session, &hashed(&secret)).await?;
        tracing::info!(user, groups = ?session.groups, session = session.id, "signed in");
        Ok(LoggedIn { secret, return_to: login.return_to, user })
    }

    /// The person of a session cookie, unless the session ended (idle or absolute timeout, revoked).
    pub(super) async fn session_principal(&self, secret: &str) -> Result<Option<Principal>, DomainError> {
        let hash = hashed(secret);
        let _one = match self.remembered.recall(&hash).await {
            Recall::Known(p) => return Ok(Some(p)),
            Recall::Check(one) => one,
        };
        let Some(s) = self.db.session_by_secret(&hash).await? else { return Ok(None) };
        let now = Utc::now();
        if ended(now, s.last_seen, s.expires, chrono::Duration::minutes(self.session.idle_minutes as i64)) {
            self.db.delete_session(&s.id).await?;
            return Ok(None);
        }
        if self.due_for_touch(&s.id) {
            self.db.touch_session(&s.id, now).await?;
        }
        let mut p = Principal::person(&s.username, s.groups, Via::Session);
        p.session_id = Some(s.id.clone());
        self.remembered.put(&hash, &s.id, &p, s.expires);
        Ok(Some(p))
    }

    /// Sign-out: the session is deleted (on every replica at once: they share the database).
    pub async fn logout(&self, who: &Principal) -> Result<(), DomainError> {
        if let Some(id) = &who.session_id {
            self.db.delete_session(id).await?;
            self.remembered.forget(id);
            tracing::info!(user = who.name, session = id, "signed out");
        }
        Ok(())
    }

    /// Sessions of the caller, or everyone's for an admin of every environment asking for `all`.
    pub async fn sessions(&self, who: &Principal, all: bool, envs: &[&str]) -> Result<Vec<SessionInfo>, DomainError> {
        if all && !who.is_admin_everywhere(&self.access, envs) {
            return Err(DomainError::Forbidden("listing everyone's sessions needs the admin role in every environment".into()));
        }
        let rows = self.db.sessions((!all).then_some(who.name.as_str())).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                current: who.session_id.as_deref() == Some(s.id.as_str()),
                id: s.id,
                user: s.username,
                created_at: s.created,
                last_seen_at: s.last_seen,
                expires_at: s.expires,
                user_agent: s.user_agent,
            })
            .collect())
    }

    /// Ends a session: one's own, or anyone's for an admin of every environment.
    pub async fn revoke_session(&self, who: &Principal, id: &str, envs: &[&str]) -> Result<String, DomainError> {
        let s = self.db.session(id).await?.ok_or_else(|| DomainError::NotFound(format!("no session {id}")))?;
        if s.username != who.name && !who.is_admin_everywhere(&self.access, envs) {
            return Err(DomainError::Forbidden("only its owner or an admin of every environment may end another's session".into()));
        }
        self.db.delete_session(id).await?;
        self.remembered.forget(id);
        Ok(s.username)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sessions_end_when_idle_or_at_their_absolute_end() {
        use chrono::{Duration, TimeZone, Utc};
        let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        let (idle, end) = (Duration::minutes(480), t0 + Duration::hours(24));
        assert!(!super::ended(t0 + Duration::hours(2), t0 + Duration::hours(1), end, idle), "active");
        assert!(super::ended(t0 + Duration::hours(9), t0, end, idle), "unused for 9 h > 8 h idle");
        assert!(super::ended(end, end - Duration::minutes(1), end, idle), "used a minute ago, but at its absolute end");
    }

    #[test]
    fn return_to_stays_on_this_site() {
        use super::safe_return_to as r;
        assert_eq!(r(Some("/envs?env=dev")), "/envs?env=dev");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "envs", "/x\r\nSet-Cookie: a=b"] {
            assert_eq!(r(Some(bad)), "/", "{bad}");
        }
        assert_eq!(r(None), "/");
    }
}
