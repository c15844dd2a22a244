//! mezame's sandbox: the platform of `PLATFORM.md`, for real, on one machine.
//!
//! Per environment (dev and prod by default, qa by flag): a Kubernetes control
//! plane run by kwokctl (kwok plays the kubelets), the real Argo CD syncing from
//! real git repositories, and a moto server playing the environment's AWS
//! account. A controller process closes the loops that AWS and the cluster's
//! add-ons close in reality. Nothing here is linked into `mezame`.
//!
//! Module tour:
//! - [`paths`], [`state`]: where things live; what runs where (`sandbox.json`).
//! - [`parts`]: building the real programs from their registries, cached by version.
//! - [`platform`]: the platform as data (17 microservices, env shapes).
//! - [`manifests`], [`git`], [`repos`]: the manifest repository and app repositories.
//! - [`cluster`]: kwokctl clusters. [`bootstrap`]: what a cluster gets before GitOps.
//! - [`aws`]: moto and the AWS resources seeded into it.
//! - [`controller`]: nodes follow capacity, Argo CD gating, load balancer controller.
//! - [`config`]: mezame's configuration for this sandbox (`[[env]]` with power settings).
//! - [`oidc`]: the OpenID provider (npm oidc-provider) and the seeded users, one per role.
//! - [`ci`]: the platform's CI (commit, image tag rewrite, webhook).
//! - [`interrupt`]: a spot interruption (or rebalance recommendation) of one
//!   node, as AWS and aws-node-termination-handler play it.
//! - [`up`]: `up`, `down`, `status`.
//! - [`process`], [`kube`]: process and Kubernetes helpers.

pub mod aws;
pub mod bootstrap;
pub mod ci;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod git;
pub mod interrupt;
pub mod kube;
pub mod manifests;
pub mod oidc;
pub mod parts;
pub mod paths;
pub mod platform;
pub mod process;
pub mod repos;
pub mod state;
pub mod up;
