//! The domain: what the panel knows and does, independent of HTTP and of the
//! SDKs behind the adapters.
//!
//! - [`envs`]: the configured environments and their reachability.
//! - [`dns`]: an environment's public hostnames, pointed at its load balancer or at the asleep page.
//! - [`audit`]: reading the audit log.
//! - [`capacity`]: node groups, Auto Scaling groups and their nodes (AWS described in the background).
//! - [`deploys`]: the chain app commit → image → manifest commit → Argo CD sync → rollout (git indexed in the background).
//! - [`topology`]: the live topology of each environment (watch cache, model, feed).
//! - [`cronjobs`]: CronJobs, their runs, running one by hand.
//! - [`lifecycle`]: waking environments and putting them to sleep (runs, steps, settings, state).
//! - [`notify`]: webhooks told of wakes and sleeps (an outbox, retried).
//! - [`auth`]: sign-in, API tokens, roles per environment and the permission rule.
//! - [`closing`]: waiting for a shutdown flag.
//! - [`served`]: a view serialized once, plain and gzipped; [`changes`]: cues that a view may have changed.

pub mod audit;
pub mod auth;
pub mod capacity;
pub mod changes;
pub mod closing;
pub mod cronjobs;
pub mod deploys;
pub mod dns;
pub mod envs;
mod error;
pub mod lifecycle;
pub mod notify;
pub mod served;
pub mod topology;

pub use error::DomainError;
