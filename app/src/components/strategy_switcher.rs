//! The control that moves the current session to another strategy.

use crate::state::ShopContext;
use leptos::prelude::*;

#[component]
pub fn StrategySwitcher() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let strategies = shop.strategies.await.unwrap_or_default();
                let current = shop
                    .session
                    .await
                    .map(|session| session.strategy)
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
                        <button type="submit" class="button secondary">"Switch"</button>
                        <output class="current-strategy" data-testid="current-strategy">
                            {current}
                        </output>
                    </ActionForm>
                }
            })}
        </Suspense>
    }
}
