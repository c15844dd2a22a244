//! The end of a dialog that changes something (used by the node groups' and
//! the deploys' dialogs): why the last try failed, the protected
//! environment's name typed back, Apply and Cancel.

use leptos::prelude::*;

#[component]
pub fn ApplyBar(
    failed: RwSignal<Option<String>>,
    is_protected: Signal<bool>,
    typed: RwSignal<String>,
    #[prop(into)] may_apply: Signal<bool>,
    apply: Callback<()>,
    cancel: Callback<()>,
) -> impl IntoView {
    view! {
        {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || is_protected.get().then(|| view! {
            <label class="confirm-type">"This environment is protected: type its name to confirm "
                <input data-testid="confirm-env" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev))/>
            </label>
        })}
        <button class="primary" data-testid="apply" disabled=move || !may_apply.get() on:click=move |_| apply.run(())>"Apply"</button>
        <button class="secondary" on:click=move |_| cancel.run(())>"Cancel"</button>
    }
}
