//! mezame's web UI (Leptos, client-side rendered).
//!
//! - [`App`] (here): the shell — header with the environment selector, the
//!   navigation, and the router. One file per page under [`routes`]; the pages
//!   off the first screen are lazy routes ([`routes::lazy`]: loaded when opened).
//! - [`api`]: every call to the server's `/api`, typed with `mezame-shared`, and
//!   the API data several pages share ([`api::EnvsResource`], [`api::MeResource`]).
//! - [`components`]: pieces shared by several pages; a piece one page uses lives
//!   with that page (e.g. `routes/envs/`: the power panel, the schedule, a live run).
//!
//! The selected environment lives in the URL (`?env=dev`), so a link or a
//! reload keeps it; [`components::nav`] carries it across pages.

pub mod api;
pub mod components;
pub mod routes;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, ParamSegment, StaticSegment};

use api::{EnvsResource, MeResource};
use components::header::{Banner, Header};
use components::signin::SignedOut;
use routes::lazy;
use routes::{envs::Environments, not_found::NotFound};

#[component]
pub fn App() -> impl IntoView {
    let envs = LocalResource::new(api::get_envs);
    provide_context(EnvsResource(envs));
    provide_context(MeResource(LocalResource::new(api::get_me)));
    // The page is drawn one task after the shell: a cold start's first task
    // (the WASM instantiated, the header drawn) stays short.
    let ready = RwSignal::new(false);
    set_timeout(
        move || {
            components::perf::mark("routes_ms");
            ready.set(true);
        },
        std::time::Duration::ZERO,
    );
    view! {
        <Router>
            <Header/>
            <Banner/>
            <main class="page">
                <Show when=move || ready.get()>
                    <Routes fallback=NotFound>
                        <Route path=StaticSegment("") view=Environments/>
                        <Route path=StaticSegment("envs") view=Environments/>
                        <Route path=StaticSegment("audit") view={Lazy::<lazy::AuditLog>::new()}/>
                        <Route path=StaticSegment("topology") view={Lazy::<lazy::Topology>::new()}/>
                        <Route path=(StaticSegment("services"), ParamSegment("name")) view={Lazy::<lazy::Service>::new()}/>
                        <Route path=StaticSegment("nodegroups") view={Lazy::<lazy::NodeGroups>::new()}/>
                        <Route path=StaticSegment("deploys") view={Lazy::<lazy::Deploys>::new()}/>
                        <Route path=StaticSegment("jobs") view={Lazy::<lazy::Jobs>::new()}/>
                        <Route path=StaticSegment("tokens") view={Lazy::<lazy::Tokens>::new()}/>
                        <Route path=StaticSegment("signed-out") view=SignedOut/>
                        <Route path=(StaticSegment("asleep"), ParamSegment("env")) view=routes::asleep::Asleep/>
                    </Routes>
                </Show>
            </main>
        </Router>
    }
}
