//! Every end-to-end test, one module per file, in one binary: one link
//! instead of one per file. `cargo xtask test` runs them one at a time
//! (`RUST_TEST_THREADS=1`), in the order of their names — as when each file
//! was a binary of its own, run after the one before; the sandbox tests also
//! take `cluster::LOCK`. `fuzz` and `sandbox_down` are `#[ignore]`d and run
//! last, by name (`cargo test --test all -- --ignored fuzz::`).
//!
//! One file's tests: `cargo test --release -p mezame-e2e --test all -- topology::`.

mod api;
mod auth;
mod capacity;
mod chart;
mod cronjobs;
mod degraded;
mod deploys;
mod drain;
mod envs;
mod external_dns;
mod freeze;
mod fuzz;
mod gitops;
mod iam;
mod image;
mod interrupt;
mod lifecycle;
mod notify;
mod permissions;
mod promote;
mod replicas;
mod sandbox;
mod sandbox_down;
mod scale_in_managed;
mod schedule;
mod sleep_saving;
mod storage;
mod topology;
