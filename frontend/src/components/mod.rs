//! Pieces shared by several pages.

pub mod apply;
pub mod cues;
pub mod graph;
pub mod header;
pub mod live;
pub mod nav;
pub mod perf;
pub mod refresh;
pub mod signin;
pub mod sse;
pub mod time;
