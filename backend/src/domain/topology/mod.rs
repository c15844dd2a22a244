//! The live topology of each environment.
//!
//! - [`store`]: the watch cache (slim objects by kind, and each watch's health).
//! - [`live`]: the task per environment feeding the cache, and [`live::Topologies`].
//! - [`build`]: the topology derived from the cache (pure), whole or only
//!   the rows a batch of updates [`touched`].
//! - [`body`]: the topology as served, assembled from per-microservice pieces.
//! - [`ambassador`]: how a Mapping's `service` resolves to a Service.
//! - [`audit`]: the zero-downtime audit of a Deployment.
//! - [`hpa`]: an HPA explained, formula filled in.
//! - [`feed`]: the published snapshot and the deltas for the SSE stream.
//! - [`detail`]: one microservice in depth (rollout history, events).
//! - [`interruptions`]: nodes aws-node-termination-handler taints (spot
//!   interruptions, rebalance recommendations), noticed in the watch, with what ran there.

pub mod ambassador;
pub mod audit;
pub mod body;
pub mod build;
pub mod detail;
pub mod feed;
#[cfg(test)]
pub mod fixtures;
pub mod hpa;
pub mod interruptions;
pub mod live;
pub mod store;
pub mod touched;

pub use live::{Live, Topologies};
