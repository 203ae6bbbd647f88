//! The control that moves the current session to another strategy.

use crate::{
    server_fns::SwitchStrategy,
    state::ShopContext,
    url_credential::{form_action, with_credential},
};
use leptos::prelude::*;
use server_fn::ServerFn;

#[component]
pub fn StrategySwitcher() -> impl IntoView {
    let shop = ShopContext::get();
    // Moving into a strategy whose token travels in the URL: load the page afresh with it, since
    // such pages run without client-side state.
    Effect::new(move |_| {
        if let Some(Ok(view)) = shop.switch.value().get() {
            if let Some(token) = view.url_credential() {
                let path = window()
                    .location()
                    .pathname()
                    .unwrap_or_else(|_| "/".into());
                let _ = window()
                    .location()
                    .set_href(&with_credential(&path, Some(&token)));
            }
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let strategies = shop.strategies.await.unwrap_or_default();
                let (current, bytes) = shop
                    .session
                    .await
                    .map(|session| (session.strategy, session.client_bytes))
                    .unwrap_or_default();
                view! {
                    <ActionForm action=shop.switch attr:class="switcher">
                        <label for="strategy-select">"Session strategy"</label>
                        <select id="strategy-select" name="strategy">
                            {strategies
                                .into_iter()
                                .map(|strategy| {
                                    let selected = strategy.id == current;
                                    view! {
                                        <option value=strategy.id.clone() selected=selected>
                                            {strategy.name}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                        <button type="submit" class="button secondary" formaction=form_action(SwitchStrategy::url())>
                            "Switch"
                        </button>
                        <output class="current-strategy" data-testid="current-strategy">
                            {current}
                        </output>
                        <span
                            class="wire-bytes"
                            data-testid="client-bytes"
                            title="Session bytes your browser sends with every request"
                        >
                            {format!("{bytes} B per request")}
                        </span>
                    </ActionForm>
                }
            })}
        </Suspense>
    }
}
