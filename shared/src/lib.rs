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

/// An enum stored and sent as snake_case words: `as_str` and `parse` (the
/// database's text columns) agree with serde by construction.
macro_rules! worded {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),* }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

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
