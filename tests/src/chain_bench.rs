//! The live part of the deploys bench: `ci` runs against the sandbox's real
//! repositories and Argo CD, each timed from the moment the Deployment's
//! rollout finished (read from the API server) to the moment the chain shows
//! complete on the Deploys page — which reads the list again on each
//! `changed` event of `…/deploys/events`, as the page does.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use mezame_sandbox::platform::APP_NAMESPACE;

use crate::bench::say;
use crate::cluster::available;
use crate::manifests::{indexed, page};
use crate::sse::Sse;
use crate::{Server, kube, sandbox};

/// One `ci` run: seconds from the commit to the finished rollout, and ms from
/// that to the complete chain on the page (negative: the page was first).
pub struct ChainFigure {
    pub rollout_secs: f64,
    pub lag_ms: f64,
}

/// Whether `d` runs `image`, every replica updated and available
/// ([`available`]) and no replica of the old one left.
fn rolled_out(d: &Deployment, image: &str) -> bool {
    let spec = d.spec.as_ref();
    let runs = spec.and_then(|s| s.template.spec.as_ref()).is_some_and(|p| p.containers.iter().any(|c| c.image.as_deref() == Some(image)));
    let want = spec.and_then(|s| s.replicas).unwrap_or(1);
    runs && available(d)
        && d.status.as_ref().is_some_and(|s| s.observed_generation >= d.metadata.generation && s.replicas.unwrap_or(0) == want)
}

/// When `ms`'s Deployment in `env` has rolled out `image` (read every 20 ms).
async fn rollout_finished(env: &str, ms: &str, image: &str) -> Instant {
    let deployments: Api<Deployment> = Api::namespaced(kube(env).await, APP_NAMESPACE);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if deployments.get(ms).await.ok().is_some_and(|d| rolled_out(&d, image)) {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "{ms} did not roll out {image} in 5 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// When the page, reading the deploys of `ms` on each `changed` event, shows
/// the chain of `manifest_commit` complete.
async fn chain_complete(server: &Server, events: &mut Sse, env: &str, ms: &str, manifest_commit: &str) -> Instant {
    loop {
        let p = page(server, env, ms).await;
        if p.deploys.iter().any(|d| d.manifest.sha == manifest_commit && d.rollout.as_ref().is_some_and(|r| r.complete)) {
            return Instant::now();
        }
        events.next(Duration::from_secs(300)).await.unwrap_or_else(|| panic!("no `changed` event for 5 minutes ({ms} {manifest_commit})"));
    }
}

/// `rounds` `ci` runs of `ms` in `env` (dev: the repositories are indexed
/// first), each measured as [`ChainFigure`].
pub async fn ci_to_chain(server: &Server, env: &str, ms: &str, rounds: usize) -> Vec<ChainFigure> {
    let state = sandbox();
    indexed(server, ms).await;
    let mut figures = Vec::new();
    for round in 0..rounds {
        let mut events = Sse::open(&server.url(&format!("/api/envs/{env}/deploys/events"))).await;
        events.next(Duration::from_secs(10)).await.expect("the stream's first event");
        let t = Instant::now();
        let run = mezame_sandbox::ci::run(&state, ms, env, Some(&format!("perf: bench round {round}"))).await.unwrap();
        let (rolled, shown) =
            tokio::join!(rollout_finished(env, ms, &run.image), chain_complete(server, &mut events, env, ms, &run.manifest_commit));
        let lag_ms = if shown >= rolled { (shown - rolled).as_secs_f64() * 1000.0 } else { -((rolled - shown).as_secs_f64() * 1000.0) };
        let figure = ChainFigure { rollout_secs: (rolled - t).as_secs_f64(), lag_ms };
        say(&format!(
            "ci {ms} in {env}: rolled out {:.1} s after the commit; complete on the page {lag_ms:.0} ms later",
            figure.rollout_secs
        ));
        figures.push(figure);
    }
    figures
}
