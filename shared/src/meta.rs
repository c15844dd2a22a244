//! Health and version of the server itself.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` when the server and its database answer.
    pub status: String,
    /// `ok`, or the database error.
    pub database: String,
}

/// Answer of `GET /api/live`: the server answers (nothing else is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Live {
    /// Always `ok`.
    pub status: String,
}

/// Answer of `GET /api/version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInfo {
    /// The crate version of the `mezame` binary.
    pub version: String,
    /// Git commit the binary was built from, when known.
    pub git_commit: Option<String>,
    /// `debug` or `release`.
    pub profile: String,
    /// Whether the web UI is embedded in the binary (release) or read from disk (debug).
    pub ui_embedded: bool,
}
