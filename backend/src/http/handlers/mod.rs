//! One request handler per file, each with its `#[utoipa::path]` so that the
//! OpenAPI document is generated from the handlers themselves.

pub mod debug;
pub mod delete_session;
pub mod delete_token;
pub mod get_audit;
pub mod get_callback;
pub mod get_capacity;
pub mod get_cronjob_list;
pub mod get_env_list;
pub mod get_health;
pub mod get_login;
pub mod get_me;
pub mod get_metrics;
pub mod get_openapi;
pub mod get_power;
pub mod get_run;
pub mod get_run_events;
pub mod get_run_list;
pub mod get_service;
pub mod get_session_list;
pub mod get_token_list;
pub mod get_topology;
pub mod get_topology_events;
pub mod get_version;
pub mod patch_capacity_group;
pub mod post_cronjob_run;
pub mod post_env_sleep;
pub mod post_env_wake;
pub mod post_logout;
pub mod post_node_cordon;
pub mod post_node_uncordon;
pub mod post_run_cancel;
pub mod post_run_retry;
pub mod post_token;
pub mod put_keep_awake;
pub mod put_power;
