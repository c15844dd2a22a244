//! Rows of the sign-in tables: sessions, logins in progress, API tokens.
//! Only hashes of secrets are stored; the callers hash.

use chrono::{DateTime, Utc};
use mezame_shared::auth::Role;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::adapters::AdapterError;

/// A session row.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub groups: Vec<String>,
    pub created: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub user_agent: Option<String>,
}

/// A login between `/auth/login` and `/auth/callback`.
#[derive(Debug, Clone)]
pub struct LoginRow {
    pub verifier: String,
    pub nonce: String,
    pub return_to: String,
    pub created: DateTime<Utc>,
}

/// An API token row (never the secret).
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub owner_groups: Vec<String>,
    pub role: Role,
    pub envs: Vec<String>,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

fn time(ms: i64) -> Result<DateTime<Utc>, AdapterError> {
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| AdapterError::Corrupt(format!("time {ms}")))
}

fn list(json: &str) -> Result<Vec<String>, AdapterError> {
    serde_json::from_str(json).map_err(|e| AdapterError::Corrupt(format!("a list of names: {e}")))
}

fn session_from_row(r: &AnyRow) -> Result<SessionRow, AdapterError> {
    Ok(SessionRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        groups: list(&r.try_get::<String, _>("groups_json")?)?,
        created: time(r.try_get("created_ms")?)?,
        last_seen: time(r.try_get("last_seen_ms")?)?,
        expires: time(r.try_get("expires_ms")?)?,
        user_agent: r.try_get("user_agent")?,
    })
}

fn token_from_row(r: &AnyRow) -> Result<TokenRow, AdapterError> {
    let role: String = r.try_get("role")?;
    Ok(TokenRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        owner: r.try_get("owner")?,
        owner_groups: list(&r.try_get::<String, _>("owner_groups_json")?)?,
        role: Role::parse(&role).ok_or_else(|| AdapterError::Corrupt(format!("token role {role:?}")))?,
        envs: list(&r.try_get::<String, _>("envs_json")?)?,
        created: time(r.try_get("created_ms")?)?,
        expires: time(r.try_get("expires_ms")?)?,
        revoked: r.try_get::<Option<i64>, _>("revoked_ms")?.map(time).transpose()?,
        last_used: r.try_get::<Option<i64>, _>("last_used_ms")?.map(time).transpose()?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, owner, owner_groups_json, role, envs_json, created_ms, expires_ms, revoked_ms, last_used_ms";
const SESSION_COLUMNS: &str = "id, username, groups_json, created_ms, last_seen_ms, expires_ms, user_agent";

impl Db {
    pub async fn create_session(&self, s: &SessionRow, secret_hash: &str) -> Result<(), AdapterError> {
        sqlx::query(
            "INSERT INTO auth_sessions (id, secret_hash, username, groups_json, created_ms, last_seen_ms, expires_ms, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id)
        .bind(secret_hash)
        .bind(&s.username)
        .bind(serde_json::to_string(&s.groups).unwrap_or_else(|_| "[]".into()))
        .bind(s.created.timestamp_millis())
        .bind(s.last_seen.timestamp_millis())
        .bind(s.expires.timestamp_millis())
        .bind(&s.user_agent)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session whose secret hashes to `secret_hash`, if it exists.
    pub async fn session_by_secret(&self, secret_hash: &str) -> Result<Option<SessionRow>, AdapterError> {
        let row = sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE secret_hash = $1"))
            .bind(secret_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn touch_session(&self, id: &str, at: DateTime<Utc>) -> Result<(), AdapterError> {
        sqlx::query("UPDATE auth_sessions SET last_seen_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(at.timestamp_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sessions of `user` (all users with `None`), newest first.
    pub async fn sessions(&self, user: Option<&str>) -> Result<Vec<SessionRow>, AdapterError> {
        let rows = match user {
            Some(u) => {
                sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE username = $1 ORDER BY created_ms DESC"))
                    .bind(u)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM auth_sessions ORDER BY created_ms DESC")).fetch_all(self.pool()).await?
            }
        };
        rows.iter().map(session_from_row).collect()
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, AdapterError> {
        let row =
            sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Ends a session (sign-out, revocation); true if it existed.
    pub async fn delete_session(&self, id: &str) -> Result<bool, AdapterError> {
        let done = sqlx::query("DELETE FROM auth_sessions WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets sessions that ended and logins never completed.
    pub async fn purge_auth(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        logins_before: DateTime<Utc>,
    ) -> Result<(), AdapterError> {
        sqlx::query("DELETE FROM auth_sessions WHERE expires_ms < $1 OR last_seen_ms < $2")
            .bind(now.timestamp_millis())
            .bind(idle_before.timestamp_millis())
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM auth_logins WHERE created_ms < $1").bind(logins_before.timestamp_millis()).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn create_login(&self, state_hash: &str, l: &LoginRow) -> Result<(), AdapterError> {
        sqlx::query("INSERT INTO auth_logins (state_hash, verifier, nonce, return_to, created_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(state_hash)
            .bind(&l.verifier)
            .bind(&l.nonce)
            .bind(&l.return_to)
            .bind(l.created.timestamp_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a login: a `state` can be used once.
    pub async fn take_login(&self, state_hash: &str) -> Result<Option<LoginRow>, AdapterError> {
        let row = sqlx::query("DELETE FROM auth_logins WHERE state_hash = $1 RETURNING verifier, nonce, return_to, created_ms")
            .bind(state_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(LoginRow { verifier: r.try_get(0)?, nonce: r.try_get(1)?, return_to: r.try_get(2)?, created: time(r.try_get(3)?)? }))
            .transpose()
    }

    pub async fn create_token(&self, t: &TokenRow, secret_hash: &str) -> Result<(), AdapterError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, owner, owner_groups_json, role, envs_json, secret_hash, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.owner)
        .bind(serde_json::to_string(&t.owner_groups).unwrap_or_else(|_| "[]".into()))
        .bind(t.role.as_str())
        .bind(serde_json::to_string(&t.envs).unwrap_or_else(|_| "[]".into()))
        .bind(secret_hash)
        .bind(t.created.timestamp_millis())
        .bind(t.expires.timestamp_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn token_by_secret(&self, secret_hash: &str) -> Result<Option<TokenRow>, AdapterError> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1"))
            .bind(secret_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRow>, AdapterError> {
        let row =
            sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Tokens of `owner` (everyone's with `None`), newest first.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRow>, AdapterError> {
        let rows = match owner {
            Some(o) => {
                sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE owner = $1 ORDER BY created_ms DESC"))
                    .bind(o)
                    .fetch_all(self.pool())
                    .await?
            }
            None => sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_ms DESC")).fetch_all(self.pool()).await?,
        };
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes a token; false if it did not exist or was revoked already.
    pub async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool, AdapterError> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id)
            .bind(at.timestamp_millis())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn token_used(&self, id: &str, at: DateTime<Utc>) -> Result<(), AdapterError> {
        sqlx::query("UPDATE api_tokens SET last_used_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(at.timestamp_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
