//! The site header: navigation with the cart count, who is logged in, and the strategy switcher.

use super::strategy_switcher::StrategySwitcher;
use crate::{
    server_fns::Logout,
    state::ShopContext,
    url_credential::{form_action, link},
};
use leptos::prelude::*;
use server_fn::ServerFn;

#[component]
pub fn Header() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <header class="site-header">
            <a class="brand" href=link("/")>"Session Strategies"</a>
            <nav aria-label="Main">
                <a href=link("/")>"Shop"</a>
                <a href=link("/cart")>
                    "Cart "
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let count = shop.session.await.map(|s| s.cart.count).unwrap_or(0);
                            view! {
                                <span class="badge" data-testid="cart-count" aria-label=format!("{count} items")>
                                    {count}
                                </span>
                            }
                        })}
                    </Suspense>
                </a>
                <a href=link("/orders")>"Orders"</a>
                <a href=link("/strategies")>"Strategies"</a>
                <a href=link("/compare")>"Compare"</a>
                <a href=link("/cluster")>"Cluster"</a>
            </nav>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    shop.session.await.ok().map(|session| view! {
                        <span class="served-by" data-testid="instance" title="The instance that served this page">
                            "served by " <code>{session.instance}</code>
                        </span>
                    })
                })}
            </Suspense>
            <div class="account">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match shop.session.await.ok().and_then(|s| s.user) {
                            Some(user) => view! {
                                <span class="who" data-testid="who">"Signed in as " <strong>{user.username}</strong></span>
                                <a class="button link" href=link("/sessions")>"Your sessions"</a>
                                <ActionForm action=shop.logout attr:class="inline">
                                    <button type="submit" class="button link" formaction=form_action(Logout::url())>"Log out"</button>
                                </ActionForm>
                            }.into_any(),
                            None => view! {
                                <span class="who" data-testid="who">"Guest"</span>
                                <a class="button link" href=link("/login")>"Log in"</a>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
            <StrategySwitcher/>
        </header>
    }
}
