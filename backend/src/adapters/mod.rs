//! Adapters: the only code that talks to the outside world.
//!
//! - [`kube`]: a Kubernetes API server, through the `kube` crate and a kubeconfig context.
//! - [`aws`]: an AWS account, through the AWS SDK for Rust (or moto in the sandbox).
//! - [`cloudflare`]: a Cloudflare zone's DNS records (the `cloudflare` DNS provider).
//! - [`db`]: the panel's own database (SQLite or PostgreSQL), through sqlx.
//! - [`git`]: git repositories, through local mirrors kept with the `git` command.
//! - [`oidc`]: an OpenID Connect issuer (discovery, keys, code exchange, ID
//!   token verification) and the AWS load balancer's signed identity header.
//! - [`seal`]: encryption at rest of backed-up Secrets (key rotation).
//! - [`secrets`]: random secrets and their hashes (sessions, tokens, PKCE).
//! - [`waited`]: time spent in Kubernetes and AWS calls, counted per run.
//! - [`webhook`]: posting a message to a webhook (notifications).
//!
//! Adapters translate library types into plain Rust values and [`AdapterError`];
//! nothing above this layer sees an AWS SDK or sqlx type.

pub mod aws;
pub mod cloudflare;
pub mod db;
mod error;
pub mod git;
pub mod kube;
pub mod oidc;
pub mod seal;
pub mod secrets;
pub mod waited;
pub mod webhook;

pub use error::{AdapterError, error_chain};
