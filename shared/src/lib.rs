//! The types of mezame's HTTP API.
//!
//! Every JSON body that crosses the wire between the `mezame` server and the
//! WASM frontend is defined here, once, so that both sides agree by
//! construction. The crate does no I/O. With the `openapi` feature the types
//! also derive `utoipa::ToSchema`, which the server uses to publish
//! `/api/openapi.json`.
//!
//! Module tour:
//! - [`error`]: the `{ "error": { "code", "message" } }` body of every failure.
//! - [`meta`]: health and version of the server.
//! - [`envs`]: configured environments and their reachability.
//! - [`audit`]: the audit log of actions taken through the panel.
//! - [`topology`]: what runs where: Ingress → gateway → microservices → pods, with the zero-downtime audit.
//! - [`cronjobs`]: CronJobs, their recent Jobs, and running one by hand.
//! - [`power`]: waking and putting environments to sleep: settings, state, runs and steps.
//! - [`notify`]: the webhook messages of a run and their delivery.
//! - [`auth`]: roles, who is signed in, API tokens and sessions.
//! - [`deploys`]: deploys as chains: app commit → image → manifest commit → Argo CD sync → rollout.
//! - [`capacity`]: node groups and Auto Scaling groups, their nodes, the on-demand/spot mix.

pub mod audit;
pub mod auth;
pub mod capacity;
pub mod cronjobs;
pub mod deploys;
pub mod dora;
pub mod envs;
pub mod error;
pub mod meta;
pub mod notify;
pub mod power;
pub mod spot;
pub mod topology;

/// Derives `utoipa::ToSchema` only when the `openapi` feature is on.
#[macro_export]
#[doc(hidden)]
macro_rules! __schema {
    ($item:item) => {
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $item
    };
}
