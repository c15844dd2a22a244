//! Audit: the actions taken through the panel, newest first (`GET /api/audit`).

use leptos::prelude::*;
use mezame_shared::audit::{AuditEntry, AuditOutcome};

use crate::api;
use crate::components::nav::selected_env;

#[component]
pub fn Audit() -> impl IntoView {
    let env = selected_env();
    let page = LocalResource::new(move || api::get_audit(env.get(), None));
    view! {
        <section class="audit">
            <div class="page-title">
                <h1>"Audit log"</h1>
                <span class="hint">{move || match env.get() {
                    Some(e) => format!("environment {e}"),
                    None => "all environments".to_string(),
                }}</span>
            </div>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) if p.entries.is_empty() => view! {
                            <p class="empty">"No actions recorded yet. Actions taken through the panel (waking an environment, running a CronJob, …) appear here."</p>
                        }.into_any(),
                        Ok(p) => view! {
                            <table class="table">
                                <thead><tr>
                                    <th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th>
                                    <th>"Env"</th><th>"Target"</th><th>"Result"</th>
                                </tr></thead>
                                <tbody>{p.entries.into_iter().map(|e| view! { <Row e/> }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Row(e: AuditEntry) -> impl IntoView {
    let ok = e.outcome == AuditOutcome::Ok;
    view! {
        <tr>
            <td>{crate::components::time::fmt(&e.at, "%Y-%m-%d %H:%M:%S")}</td>
            <td>{e.actor}</td>
            <td><code>{e.action}</code></td>
            <td>{e.env.unwrap_or_default()}</td>
            <td>{e.target.unwrap_or_default()}</td>
            <td class=if ok { "ok" } else { "error" }>
                {if ok { "ok".to_string() } else { format!("error: {}", e.message.unwrap_or_default()) }}
            </td>
        </tr>
    }
}
