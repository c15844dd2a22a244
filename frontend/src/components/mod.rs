//! Pieces shared by several pages.

pub mod header;
pub mod nav;
