//! The domain: what the panel knows and does, independent of HTTP and of the
//! SDKs behind the adapters.
//!
//! - [`envs`]: the configured environments and their reachability.
//! - [`audit`]: reading the audit log.

pub mod audit;
pub mod envs;
mod error;

pub use error::DomainError;
