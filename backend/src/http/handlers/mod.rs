//! One request handler per file, each with its `#[utoipa::path]` so that the
//! OpenAPI document is generated from the handlers themselves.

pub mod debug;
pub mod get_env_list;
pub mod get_audit;
pub mod get_cronjob_list;
pub mod get_health;
pub mod get_metrics;
pub mod get_openapi;
pub mod get_service;
pub mod get_topology;
pub mod get_topology_events;
pub mod get_version;
pub mod post_cronjob_run;
