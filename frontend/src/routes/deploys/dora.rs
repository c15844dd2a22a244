//! DORA's four keys of the microservice the page is filtered on, in the
//! page's environment, over 7, 30 or 90 days: four figures and two small SVG
//! charts (deploys per day, failed in red; lead time of each deploy), re-read
//! on each of the page's cues (`cued`).

use leptos::prelude::*;
use mezame_shared::dora::Dora;

use super::duration;
use crate::api;

const W: f64 = 560.0;
const H: f64 = 60.0;

#[component]
pub fn DoraPanel(env: Signal<Option<String>>, ms: RwSignal<String>, cued: RwSignal<u32>) -> impl IntoView {
    let window = RwSignal::new("30d".to_string());
    let dora = LocalResource::new(move || {
        let (env, ms, window) = (env.get(), ms.get(), window.get());
        cued.track();
        async move {
            match env {
                Some(env) if !ms.is_empty() => Some(api::get_dora(env, ms, window).await),
                _ => None,
            }
        }
    });
    move || {
        (!ms.get().is_empty()).then(|| {
            view! {
                <section class="dora" data-testid="dora">
                    <h3>"DORA of " {move || ms.get()} " "
                        <select class="small" aria-label="Window" on:change=move |ev| window.set(event_target_value(&ev))>
                            <option value="7d">"7 days"</option>
                            <option value="30d" selected>"30 days"</option>
                            <option value="90d">"90 days"</option>
                        </select>
                    </h3>
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match dora.await {
                                None => ().into_any(),
                                Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                                Some(Ok(d)) => figures(d).into_any(),
                            }
                        })}
                    </Transition>
                </section>
            }
        })
    }
}

fn secs(s: Option<i64>) -> String {
    s.map_or_else(|| "—".into(), duration)
}

fn figures(d: Dora) -> impl IntoView {
    let l = &d.lead_time;
    let rate = d.change_failure_rate.map_or_else(|| "—".into(), |r| format!("{:.0} %", r * 100.0));
    let lead_parts = format!(
        "CI {} · first env {} · promotion {} · {} commit(s){}",
        secs(l.ci_median_secs),
        secs(l.first_env_median_secs),
        secs(l.promotion_median_secs),
        l.commits,
        if l.unmeasured > 0 { format!(", {} not timed", l.unmeasured) } else { String::new() }
    );
    let title = lead_parts.clone();
    let (bars, leads) = (bars(&d), leads(&d));
    view! {
        <div class="dora-keys">
            <div data-testid="dora-frequency"><b>{format!("{:.2}/day", d.per_day)}</b><span>{format!("{} deploys", d.deploys)}</span></div>
            <div data-testid="dora-lead"><b>{secs(l.median_secs)}</b><span title=title>"lead time (median) · " {lead_parts}</span></div>
            <div data-testid="dora-failure"><b>{rate}</b><span>{format!("{} failed", d.failed)}</span></div>
            <div data-testid="dora-recovery"><b>{secs(d.recovery_median_secs)}</b><span>"recovery (median)"</span></div>
        </div>
        {bars}
        {leads}
        <ul class="small muted">{d.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
    }
}

/// Deploys per day, the failed part in red.
fn bars(d: &Dora) -> impl IntoView + use<> {
    let most = d.daily.iter().map(|c| c.deploys).max().unwrap_or(0).max(1) as f64;
    let step = W / d.daily.len().max(1) as f64;
    let rects = d
        .daily
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (h, hf) = (H * c.deploys as f64 / most, H * c.failed as f64 / most);
            let x = i as f64 * step;
            view! {
                <g><title>{format!("{}: {} deploy(s), {} failed", c.day, c.deploys, c.failed)}</title>
                    <rect class="ok" x=x y=H - h width=(step - 1.0).max(1.0) height=h/>
                    <rect class="failed" x=x y=H - hf width=(step - 1.0).max(1.0) height=hf/>
                </g>
            }
        })
        .collect_view();
    view! { <svg class="dora-chart" data-testid="dora-daily" viewBox=format!("0 0 {W} {H}") role="img" aria-label="Deploys per day">{rects}</svg> }
}

/// Each deploy's median lead time, in time order.
fn leads(d: &Dora) -> impl IntoView + use<> {
    let span = (d.until - d.since).num_seconds().max(1) as f64;
    let most = d.points.iter().filter_map(|p| p.lead_median_secs).max().unwrap_or(1).max(1) as f64;
    let dots = d
        .points
        .iter()
        .filter_map(|p| {
            let lead = p.lead_median_secs?;
            let x = W * (p.at - d.since).num_seconds() as f64 / span;
            let y = H - 4.0 - (H - 8.0) * lead as f64 / most;
            let class = if p.failure.is_some() { "failed" } else { "ok" };
            Some(view! { <circle class=class cx=x cy=y r="3"><title>{format!("{}: {}", &p.tag[..p.tag.len().min(8)], duration(lead))}</title></circle> })
        })
        .collect_view();
    view! { <svg class="dora-chart" data-testid="dora-leads" viewBox=format!("0 0 {W} {H}") role="img" aria-label="Lead time of each deploy">{dots}</svg> }
}
