//! One file per page.

pub mod asleep;
pub mod audit;
pub mod deploys;
pub mod envs;
pub mod jobs;
pub mod lazy;
pub mod nodegroups;
pub mod not_found;
pub mod service;
pub mod tokens;
pub mod topology;
