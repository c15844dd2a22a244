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
    /// The environment cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// An adapter failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}
