//! Pieces shared by several pages.

pub mod graph;
pub mod header;
pub mod live;
pub mod live_run;
pub mod nav;
pub mod power;
pub mod refresh;
pub mod schedule;
pub mod signin;
pub mod sse;
