//! The topology bench's measuring rounds: GETs by each kind of client in
//! turn (sign-in off, API token, session cookie), each beside the server's
//! own times of the same requests (its request histogram). The worst round of
//! each kind is the figure: a lucky round proves nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bench::{Load, Until, load, say};
use crate::served::Histogram;

/// One kind of client and the panel it asks.
pub struct Target<'a> {
    pub label: &'static str,
    pub http: &'a reqwest::Client,
    /// The topology's URL.
    pub url: String,
    /// The panel's `/metrics`.
    pub metrics: String,
}

/// One round of one target: the clients' times and the server's.
pub struct Measured {
    pub load: Load,
    pub served: Histogram,
    /// Pods the churn replaced during the round.
    pub replaced: usize,
}

impl Measured {
    /// The server's part, in words.
    pub fn words(&self) -> String {
        let legs = self.load.slowest.map_or(String::new(), |l| {
            format!("; slowest 1%: way in {:.1} · server {:.1} · way out {:.1} · body {:.1} ms", l.way_in, l.server, l.way_out, l.body)
        });
        format!(
            "{} requests in {:.1} s, {} pods replaced meanwhile; p99.9 {:.2} ms, max {:.2} ms; headers p99 {:.2} ms; server p99 ≤ {} ms, {:.1}% over 10 ms{legs}; the clients' runtime late p99 {:.1} ms",
            self.load.requests,
            self.load.wall.as_secs_f64(),
            self.replaced,
            self.load.p999,
            self.load.max,
            self.load.headers_p99,
            self.served.quantile_bound_ms(0.99),
            self.served.share_over(10.0) * 100.0,
            self.load.clients_late_p99
        )
    }
}

/// One round of `target`: GETs by `clients` concurrent clients `until` it
/// ends; `replaced` counts the pods the churn replaces.
pub async fn measure(target: &Target<'_>, clients: usize, until: Until, replaced: &AtomicUsize) -> Measured {
    let route = "/api/envs/{env}/topology";
    let before = Histogram::read(target.http, &target.metrics, route).await;
    let replaced_before = replaced.load(Ordering::Relaxed);
    let load = load(target.http, &target.url, clients, until).await;
    let replaced = replaced.load(Ordering::Relaxed) - replaced_before;
    Measured { load, served: Histogram::read(target.http, &target.metrics, route).await.since(&before), replaced }
}

/// How the rounds are run: how many, by how many clients, each until when.
#[derive(Clone, Copy)]
pub struct Plan {
    pub rounds: usize,
    pub clients: usize,
    pub until: Until,
}

/// `plan.rounds` rounds of every target in turn, each round said as it ends
/// (`what` names the rounds); by round, then target.
pub async fn rounds(targets: &[Target<'_>], plan: Plan, replaced: &AtomicUsize, what: &str) -> Vec<Vec<Measured>> {
    let mut all = Vec::new();
    for round in 1..=plan.rounds {
        let mut these = Vec::new();
        for t in targets {
            these.push(measure(t, plan.clients, plan.until, replaced).await);
        }
        let each: Vec<String> =
            targets.iter().zip(&these).map(|(t, m)| format!("{} {:.2} ms ({})", t.label, m.load.p99, m.words())).collect();
        say(&format!("{what} round {round}: p99 {}", each.join(" · ")));
        all.push(these);
    }
    all
}

/// The worst p99 of target `i` over the rounds.
pub fn worst(rounds: &[Vec<Measured>], i: usize) -> f64 {
    rounds.iter().map(|r| r[i].load.p99).fold(0.0, f64::max)
}

/// The largest share of requests the server took over 10 ms to answer, in
/// any round of any target.
pub fn worst_share_over_10ms(rounds: &[Vec<Measured>]) -> f64 {
    rounds.iter().flatten().map(|m| m.served.share_over(10.0)).fold(0.0, f64::max)
}
