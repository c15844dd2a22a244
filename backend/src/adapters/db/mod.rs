//! The panel's own database: SQLite by default, PostgreSQL for several replicas.
//!
//! Both go through sqlx's `Any` driver with `$N` placeholders (understood by
//! both), so every query is written once. Schemas differ only where the two
//! dialects do (identity columns); see `backend/migrations/{sqlite,postgres}`.
//! Times are stored as Unix milliseconds, JSON as text.

mod audit;
mod auth;
mod changes;
mod deploys;
mod interruptions;
mod notify;
mod power;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::{AuditFilter, AuditScope, NewAuditEntry};
pub use auth::{LoginRow, SessionRow, TokenRow};
pub use deploys::{DeployRow, HealthRow, RepoIndex, SyncRow};
pub use notify::{Due, Queued};
pub use power::{RestorePoint, StepUpdate};

use super::AdapterError;
use crate::config::expand_home;

/// Which database sits behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects to `database` (a file path, a `sqlite:` URL or a `postgres://`
    /// URL), creating the SQLite file and its directory if needed, and applies
    /// pending migrations.
    pub async fn connect(database: &str) -> Result<Db, AdapterError> {
        Self::open(database, 4, 10, true).await
    }

    /// A small pool of its own for the wake/sleep runners (on a database
    /// already migrated by [`Db::connect`]): however busy the requests keep the
    /// main pool, a runner can always renew its lease and write its steps.
    pub async fn connect_runner_pool(database: &str) -> Result<Db, AdapterError> {
        Self::open(database, 2, 4, false).await
    }

    async fn open(database: &str, sqlite_max: u32, postgres_max: u32, migrate: bool) -> Result<Db, AdapterError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            (database.to_string(), Backend::Postgres)
        } else if database.starts_with("sqlite:") {
            (database.to_string(), Backend::Sqlite)
        } else {
            let path = expand_home(database);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    AdapterError::from(sqlx::Error::Configuration(
                        format!("cannot create database directory {}: {e}", dir.display()).into(),
                    ))
                })?;
            }
            (format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite)
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { sqlite_max } else { postgres_max })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            _ if !migrate => {}
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's clock, in Unix milliseconds, as an SQL expression:
    /// leases are compared on one clock, whatever the replicas' clocks say.
    pub(crate) fn now_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<(), AdapterError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Runs one statement on a database URL without migrating it (test set-up:
/// `CREATE DATABASE`, or probing the schema's constraints).
pub async fn admin_execute(url: &str, statement: &str) -> Result<(), AdapterError> {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await?;
    conn.execute(statement).await?;
    Ok(())
}
