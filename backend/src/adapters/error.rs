//! The error type of the adapter layer.

use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The Kubernetes API server could not be reached or refused the request.
    #[error("{0}")]
    Kube(String),
    /// The object asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An AWS API call failed.
    #[error("{0}")]
    Aws(String),
    /// AWS refused an action to mezame's credentials (its IAM policy lacks it).
    #[error("{0}")]
    Denied(String),
    /// The database failed (sqlx's error stays inside this layer).
    #[error("database: {0}")]
    Db(DbError),
    #[error("database migration: {0}")]
    Migrate(DbError),
    /// A value read back from the database is not what was written.
    #[error("database holds an invalid value: {0}")]
    Corrupt(String),
    /// The identity provider (or the load balancer's key server) could not be asked.
    #[error("identity provider: {0}")]
    Oidc(String),
    /// A git command failed (the repository named, its URL without credentials).
    #[error("git: {0}")]
    Git(String),
    /// A credential was checked and refused (bad signature, expired, another audience...).
    #[error("{0}")]
    Rejected(String),
    /// A DNS provider's API (other than AWS's) failed.
    #[error("{0}")]
    Dns(String),
    /// A webhook did not take a message (its status, a timeout, a refused connection).
    #[error("webhook: {0}")]
    Webhook(String),
}

/// A database driver's error, opaque above the adapters.
#[derive(Debug)]
pub struct DbError(Box<dyn StdError + Send + Sync>);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<sqlx::Error> for AdapterError {
    fn from(e: sqlx::Error) -> AdapterError {
        AdapterError::Db(DbError(Box::new(e)))
    }
}

impl From<sqlx::migrate::MigrateError> for AdapterError {
    fn from(e: sqlx::migrate::MigrateError) -> AdapterError {
        AdapterError::Migrate(DbError(Box::new(e)))
    }
}

/// `error: cause: cause ...` — library errors often hide the useful part
/// (`connection refused`, `certificate unknown`) in their sources.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
