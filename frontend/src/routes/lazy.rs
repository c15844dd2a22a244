//! The pages off the first screen. Each is a `#[lazy_route]`: its code is cut
//! out of the main WASM module into a chunk of its own by `cargo xtask dist`
//! (`wasm_split_cli_support`), fetched when the page is first opened; what
//! a page reads can start in `data`, which runs before the fetch. The
//! Environments page, the first screen, stays in the main module.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};
use mezame_shared::topology::PodFields;

use crate::components::live::{LiveTopology, use_live_topology};
use crate::components::nav::env_or_first;

use super::{
    audit::Audit, deploys::DeploysPage, jobs::JobsPage, nodegroups::NodeGroupsPage, service::ServicePage, tokens::TokensPage,
    topology::TopologyPage,
};

/// The page's live topology, opened in `data` — in the main module, before
/// the page's chunk is fetched — so the snapshot streams while it loads.
pub struct Topology {
    env: Signal<Option<String>>,
    live: LiveTopology,
}

#[lazy_route]
impl LazyRoute for Topology {
    fn data() -> Self {
        let env = env_or_first();
        // Brief pods: the page draws no pod's image, zone or age.
        Topology { env, live: use_live_topology(env, PodFields::Brief) }
    }
    fn view(this: Self) -> AnyView {
        view! { <TopologyPage env=this.env live=this.live/> }.into_any()
    }
}

pub struct Service;

#[lazy_route]
impl LazyRoute for Service {
    fn data() -> Self {
        Service
    }
    fn view(_this: Self) -> AnyView {
        view! { <ServicePage/> }.into_any()
    }
}

pub struct NodeGroups;

#[lazy_route]
impl LazyRoute for NodeGroups {
    fn data() -> Self {
        NodeGroups
    }
    fn view(_this: Self) -> AnyView {
        view! { <NodeGroupsPage/> }.into_any()
    }
}

pub struct Deploys;

#[lazy_route]
impl LazyRoute for Deploys {
    fn data() -> Self {
        Deploys
    }
    fn view(_this: Self) -> AnyView {
        view! { <DeploysPage/> }.into_any()
    }
}

pub struct Jobs;

#[lazy_route]
impl LazyRoute for Jobs {
    fn data() -> Self {
        Jobs
    }
    fn view(_this: Self) -> AnyView {
        view! { <JobsPage/> }.into_any()
    }
}

pub struct AuditLog;

#[lazy_route]
impl LazyRoute for AuditLog {
    fn data() -> Self {
        AuditLog
    }
    fn view(_this: Self) -> AnyView {
        view! { <Audit/> }.into_any()
    }
}

pub struct Tokens;

#[lazy_route]
impl LazyRoute for Tokens {
    fn data() -> Self {
        Tokens
    }
    fn view(_this: Self) -> AnyView {
        view! { <TokensPage/> }.into_any()
    }
}
