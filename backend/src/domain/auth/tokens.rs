//! API tokens for automation: made by a signed-in person (never by another
//! token), shown once, stored hashed, scoped to a role and environments (never
//! beyond the maker's own role there), expiring, revocable, their last use
//! recorded. Tokens declared in the configuration work the same way.

use chrono::Utc;
use mezame_shared::auth::{NewToken, TokenCreated, TokenInfo, Via};

use super::access::covers;
use super::remembered::Recall;
use super::{Auth, Principal, TokenScope, hashed};
use crate::adapters::db::TokenRow;
use crate::adapters::secrets;
use crate::domain::DomainError;

/// Every API token starts with this, so a bearer token is recognised as one.
pub const PREFIX: &str = "mzm_";

fn info(t: &TokenRow) -> TokenInfo {
    TokenInfo {
        id: t.id.clone(),
        name: t.name.clone(),
        owner: t.owner.clone(),
        role: t.role,
        envs: t.envs.clone(),
        created_at: t.created,
        expires_at: Some(t.expires),
        last_used_at: t.last_used,
        revoked_at: t.revoked,
        from_config: false,
    }
}

impl Auth {
    /// The principal of an API token, or why it is refused.
    pub(super) async fn api_token(&self, token: &str) -> Result<Principal, DomainError> {
        let hash = hashed(token);
        if let Some(t) = self.static_tokens.iter().find(|t| secrets::same(&t.sha256.to_ascii_lowercase(), &hash)) {
            let mut p = Principal::person(&t.owner, Vec::new(), Via::Token);
            p.token = Some(TokenScope { id: format!("config:{}", t.name), role: t.role, envs: t.envs.clone(), capped_by_owner: false });
            return Ok(p);
        }
        let _one = match self.remembered.recall(&hash).await {
            Recall::Known(p) => return Ok(p),
            Recall::Check(one) => one,
        };
        let t = self.db.token_by_secret(&hash).await?.ok_or_else(|| DomainError::Unauthenticated("unknown API token".into()))?;
        let now = Utc::now();
        if let Some(at) = t.revoked {
            return Err(DomainError::Unauthenticated(format!("API token {:?} was revoked at {at}", t.name)));
        }
        if now >= t.expires {
            return Err(DomainError::Unauthenticated(format!("API token {:?} expired at {}", t.name, t.expires)));
        }
        if self.due_for_touch(&t.id) {
            self.db.token_used(&t.id, now).await?;
        }
        let mut p = Principal::person(&t.owner, t.owner_groups, Via::Token);
        p.token = Some(TokenScope { id: t.id.clone(), role: t.role, envs: t.envs, capped_by_owner: true });
        self.remembered.put(&hash, &t.id, &p, t.expires);
        Ok(p)
    }

    /// Makes a token for the caller; every problem is reported, nothing is stored on any.
    pub async fn create_token(&self, who: &Principal, new: NewToken, envs: &[&str]) -> Result<TokenCreated, DomainError> {
        if matches!(who.via, Via::Token) {
            return Err(DomainError::Forbidden("API tokens are made by a person signed in, not by another token".into()));
        }
        let mut problems = Vec::new();
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push("name: 1 to 100 characters".to_string());
        }
        if !(1..=365).contains(&new.expires_in_days) {
            problems.push(format!("expires_in_days {}: 1 to 365", new.expires_in_days));
        }
        if new.envs.is_empty() {
            problems.push("envs: name at least one environment, or \"*\"".into());
        }
        for e in new.envs.iter().filter(|e| *e != "*" && !envs.contains(&e.as_str())) {
            problems.push(format!("envs: unknown environment {e:?}"));
        }
        let scope: Vec<&str> = if envs.is_empty() { vec!["*"] } else { envs.iter().copied().filter(|e| covers(&new.envs, e)).collect() };
        for e in scope {
            let mine = who.role_in(&self.access, e);
            if mine.is_none_or(|m| m < new.role) {
                problems.push(format!(
                    "role {} in {e}: beyond yours ({}); a token never has more than its maker",
                    new.role.as_str(),
                    mine.map(|r| r.as_str()).unwrap_or("no access")
                ));
            }
        }
        if !problems.is_empty() {
            return Err(DomainError::Invalid(format!("token not created: {}", problems.join("; "))));
        }
        let now = Utc::now();
        let row = TokenRow {
            id: secrets::random(9),
            name: name.to_string(),
            owner: who.name.clone(),
            owner_groups: who.groups.clone(),
            role: new.role,
            envs: new.envs,
            created: now,
            expires: now + chrono::Duration::days(new.expires_in_days as i64),
            revoked: None,
            last_used: None,
        };
        let token = format!("{PREFIX}{}", secrets::random(32));
        self.db.create_token(&row, &hashed(&token)).await?;
        Ok(TokenCreated { token, info: info(&row) })
    }

    /// The caller's tokens; everyone's (and the configuration's) for an admin of every environment asking for `all`.
    pub async fn tokens(&self, who: &Principal, all: bool, envs: &[&str]) -> Result<Vec<TokenInfo>, DomainError> {
        if all && !who.is_admin_everywhere(&self.access, envs) {
            return Err(DomainError::Forbidden("listing everyone's tokens needs the admin role in every environment".into()));
        }
        let mut out: Vec<TokenInfo> = self.db.tokens((!all).then_some(who.name.as_str())).await?.iter().map(info).collect();
        out.extend(self.static_tokens.iter().filter(|t| all || t.owner == who.name).map(|t| TokenInfo {
            id: format!("config:{}", t.name),
            name: t.name.clone(),
            owner: t.owner.clone(),
            role: t.role,
            envs: t.envs.clone(),
            created_at: chrono::DateTime::<Utc>::UNIX_EPOCH,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            from_config: true,
        }));
        Ok(out)
    }

    /// Revokes a token: one's own, or anyone's for an admin of every environment.
    pub async fn revoke_token(&self, who: &Principal, id: &str, envs: &[&str]) -> Result<TokenInfo, DomainError> {
        if id.starts_with("config:") {
            return Err(DomainError::Conflict { message: format!("{id} is declared in the configuration: remove it there"), run_id: None });
        }
        let t = self.db.token(id).await?.ok_or_else(|| DomainError::NotFound(format!("no API token {id}")))?;
        if t.owner != who.name && !who.is_admin_everywhere(&self.access, envs) {
            return Err(DomainError::Forbidden("only its owner or an admin of every environment may revoke a token".into()));
        }
        let revoked = self.db.revoke_token(id, Utc::now()).await?;
        self.remembered.forget(id);
        if !revoked {
            return Err(DomainError::Conflict { message: format!("API token {id} is already revoked"), run_id: None });
        }
        Ok(info(&self.db.token(id).await?.unwrap_or(t)))
    }
}
