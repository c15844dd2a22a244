//! What changed between two deploys of a microservice, asked from a row of the
//! history: the app commits between their tags and the manifest diff per file.

use leptos::prelude::*;

use super::short;
use crate::api;

/// (env, ms, from manifest commit, to manifest commit).
pub type Compare = (String, String, String, String);

#[component]
pub fn DiffPanel(comparing: RwSignal<Option<Compare>>) -> impl IntoView {
    let diff = LocalResource::new(move || {
        let c = comparing.get();
        async move {
            match c {
                Some((env, ms, from, to)) => Some(api::get_diff(env, ms, from, to).await),
                None => None,
            }
        }
    });
    move || {
        comparing.get().map(|(_, ms, ..)| {
            view! {
                <section class="deploy-diff" data-testid="deploy-diff">
                    <h3>{format!("Changes of {ms}")}" "<button class="secondary small" on:click=move |_| comparing.set(None)>"Close"</button></h3>
                    <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match diff.await {
                                None => ().into_any(),
                                Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                                Some(Ok(d)) => view! {
                                    <p class="small">{format!("{} → {}: {} app commit(s){}", short(&d.from.tag), short(&d.to.tag), d.commits.len(),
                                        if d.backwards { ", taken away" } else { "" })}</p>
                                    <ul class="small">{d.commits.into_iter().map(|c| view! { <li>{format!("{} {} — {}", short(&c.sha), c.subject, c.author)}</li> }).collect_view()}</ul>
                                    {d.files.into_iter().map(|f| view! { <pre class="patch" title=f.path>{f.patch}</pre> }).collect_view()}
                                    {d.truncated.then(|| view! { <p class="small muted">"(the diff is longer: cut)"</p> })}
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                </section>
            }
        })
    }
}
