//! One file per page.

pub mod audit;
pub mod envs;
pub mod not_built;
pub mod not_found;
