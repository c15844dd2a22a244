//! mezame, the server: an axum API over Kubernetes, AWS, git and its own
//! database, which also serves the WASM web UI.
//!
//! Module tour, from the outside world inwards:
//! - [`config`]: the TOML file + `MEZAME_*` variables + flags; secrets redacted
//!   in `Debug`; every rule checked before anything starts.
//! - [`adapters`]: the only code that does I/O to the outside — a cluster
//!   ([`adapters::kube::Cluster`]: watches, reads and writes), an AWS account
//!   ([`adapters::aws::Account`]), the database ([`adapters::db::Db`]), the
//!   OpenID provider, sealing. Returns plain values and `AdapterError`.
//! - [`domain`]: what the panel knows and does — environments, the live
//!   topology, wake/sleep runs ([`domain::lifecycle`]), CronJobs, sign-in and
//!   permissions ([`domain::auth`]), the audit log — free of HTTP and SDK types.
//! - [`app`]: [`app::App`], the state handle every handler gets.
//! - [`http`]: routes (one handler per file, each with its permission declared
//!   once in `http/mod.rs`), the guard, `EnvPath`, OpenAPI, JSON errors,
//!   security headers and limits, metrics, the UI.
//! - [`telemetry`]: logging set-up; the kernel's clocks for measurements.
//! - [`serve`]: binds the listener, serves HTTP/1.1 with a header-read timeout,
//!   shuts down gracefully on Ctrl-C / SIGTERM.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod serve;
pub mod telemetry;
