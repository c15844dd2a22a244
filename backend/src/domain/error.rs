//! The error type of the domain layer.

use crate::adapters::AdapterError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing asked for does not exist (unknown environment, ...).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be carried out as given; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// Well-formed, but not something that can be done: outside what the
    /// configuration allows (settings naming another cluster's node group), or
    /// against the target's rules (min > desired); nothing was changed.
    #[error("{0}")]
    Unprocessable(String),
    /// No identity, or a credential that was refused (with why).
    #[error("{0}")]
    Unauthenticated(String),
    /// The environment cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// Not allowed, whoever asks (e.g. putting a protected environment to sleep).
    #[error("{0}")]
    Forbidden(String),
    /// In the way of another operation (e.g. a run already active), with that run.
    #[error("{message}")]
    Conflict { message: String, run_id: Option<i64> },
    /// An adapter failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}
