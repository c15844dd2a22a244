//! mezame, the server: an axum API over Kubernetes, AWS, git and its own
//! database, which also serves the WASM web UI.
//!
//! Module tour, from the outside world inwards:
//! - [`config`]: the TOML file + `MEZAME_*` variables + flags.
//! - [`adapters`]: Kubernetes (`kube`), AWS (SDK), the database (sqlx). The
//!   only code that does I/O to the outside; returns plain values.
//! - [`domain`]: what the panel knows and does (environments, audit log),
//!   independent of HTTP and of SDK types.
//! - [`app`]: [`app::App`], the state handle every handler gets.
//! - [`http`]: routes (one handler per file), OpenAPI, JSON errors, metrics, UI.
//! - [`telemetry`]: logging set-up.
//! - [`serve`]: binds the listener and runs until Ctrl-C / SIGTERM.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod serve;
pub mod telemetry;
