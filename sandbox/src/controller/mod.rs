//! The sandbox controller: a background process per environment that closes
//! the loops AWS and the cluster's add-ons close in reality.
//!
//! - [`nodes`]: nodes follow capacity — EKS node groups and Auto Scaling groups
//!   in moto become kwok `Node`s (with EKS labels), after a boot delay; removed
//!   instances take their node and its pods with them. The delay can be
//!   changed while it runs (`mezame-sandbox boot-delay`: slow nodes on demand).
//! - [`nodegroups`]: each managed node group's Auto Scaling group, created as
//!   EKS creates it, its sizes kept equal to the node group's both ways.
//! - [`gate`]: the real Argo CD processes, and the real external-dns where
//!   it owns the records (prod), run only while their kwok pods are Running.
//!   No node for Argo CD, no sync; none for external-dns, no record changes.
//! - [`alb`]: the AWS Load Balancer Controller, emulated with its conventions,
//!   and only while its kwok pod is Running.
//! - [`dns`]: dev's and qa's public hostnames, registered once by hand (prod's are external-dns's).
//! - [`traffic`]: each load balancer's requests per minute in CloudWatch (what idle sleep reads).
//! - [`faults`]: mezame's AWS endpoint, a proxy in front of moto that fails a
//!   share of calls on demand (`mezame-sandbox aws-faults`).
//!
//! Each part is a level-triggered reconcile, run every second; an error is
//! logged and retried on the next tick.

mod alb;
mod dns;
pub mod faults;
mod gate;
mod nodegroups;
mod nodes;
mod traffic;

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

use crate::aws::Aws;
use crate::parts;
use crate::platform::env_spec;
use crate::state::State;

/// Runs the controller of `env` until SIGTERM or SIGINT.
pub async fn run(state_dir: &Path, env: &str) -> Result<()> {
    let state = State::load(state_dir)?.ok_or_else(|| anyhow::anyhow!("no sandbox in {}", state_dir.display()))?;
    let es = state.env(env)?.clone();
    let spec = env_spec(env).ok_or_else(|| anyhow::anyhow!("unknown environment {env}"))?;
    let parts = parts::ensure()?;
    let client = crate::kube::client(&state.cluster_kubeconfig(env)).await?;
    let aws = Aws::connect(&es.moto_url()).await;
    let mut nodes = nodes::Nodes::new(client.clone(), aws.clone(), spec);
    let mut gate = gate::Gate::new(client.clone(), &parts, &state, &es, spec);
    let mut alb = alb::Alb::new(client.clone(), aws.clone(), spec);
    let mut dns = dns::Dns::new(client.clone(), aws.clone(), spec);
    let mut traffic = traffic::Traffic::new(aws.clone());
    let proxy_state = state.clone();
    let proxy_env = env.to_string();
    tokio::spawn(async move {
        if let Err(e) = faults::serve(proxy_state, &proxy_env).await {
            tracing::error!("the AWS proxy stopped: {e:#}");
        }
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(env, "sandbox controller started");
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tick.tick() => {
                if let Err(e) = nodes.reconcile(Duration::from_secs(state.boot_delay(env))).await {
                    tracing::warn!("nodes: {e:#}");
                }
                if let Err(e) = gate.reconcile().await {
                    tracing::warn!("argocd gate: {e:#}");
                }
                if let Err(e) = alb.reconcile().await {
                    tracing::warn!("load balancer controller: {e:#}");
                }
                if let Err(e) = dns.reconcile().await {
                    tracing::warn!("dns: {e:#}");
                }
                if let Err(e) = traffic.reconcile().await {
                    tracing::warn!("traffic: {e:#}");
                }
            }
        }
    }
    tracing::info!(env, "stopping");
    gate.stop_all();
    Ok(())
}

/// Whether a pod with label `app.kubernetes.io/name=<name>` is Running in `namespace`.
pub async fn addon_running(client: &kube::Client, namespace: &str, name: &str) -> Result<bool> {
    use k8s_openapi::api::core::v1::Pod;
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let list = pods.list(&kube::api::ListParams::default().labels(&format!("app.kubernetes.io/name={name}"))).await?;
    Ok(list
        .items
        .iter()
        .any(|p| p.metadata.deletion_timestamp.is_none() && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")))
}
