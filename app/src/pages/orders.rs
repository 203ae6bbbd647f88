//! The logged-in user's orders, newest first.

use crate::{
    error::ErrorCode, format::format_price, server_fns::list_orders,
    server_resource::server_resource, state::ShopContext, url_credential::link,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let shop = ShopContext::get();
    let orders = server_resource(
        move || {
            (
                shop.checkout.version().get(),
                shop.login.version().get(),
                shop.logout.version().get(),
            )
        },
        |_| list_orders(),
    );
    view! {
        <Title text="Orders · Session Strategies"/>
        <h1>"Orders"</h1>
        <Suspense fallback=|| view! { <p>"Loading orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(view) => {
                        let served = view.served_by.map(|served| view! {
                            <p class="served-by" data-testid="orders-served-by">
                                "Listed by the orders service " <code>{served.instance}</code>
                                ", which checked the session by " {served.verified}
                                " in " {format!("{} µs", served.micros)} "."
                            </p>
                        });
                        view! { {served} <OrderList orders=view.orders/> }.into_any()
                    }
                    Err(error) if error.code == ErrorCode::Unauthenticated => view! {
                        <p class="empty"><a href=link("/login")>"Log in"</a> " to see your orders."</p>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderList(orders: Vec<crate::model::OrderView>) -> impl IntoView {
    if orders.is_empty() {
        return view! { <p class="empty">"No orders yet."</p> }.into_any();
    }
    view! {
                        <ol class="orders">
                            {orders.into_iter().map(|order| view! {
                                <li class="order" data-testid="order">
                                    <h2>{format!("Order #{}", order.order_id)}</h2>
                                    <p class="meta">
                                        <time datetime=order.created_at.clone()>{order.created_at.clone()}</time>
                                        " · " {format_price(order.total_cents)}
                                    </p>
                                    <ul>
                                        {order.items.into_iter().map(|item| view! {
                                            <li>{format!("{} × {} at {}", item.quantity, item.name, format_price(item.unit_price_cents))}</li>
                                        }).collect_view()}
                                    </ul>
                                </li>
                            }).collect_view()}
                        </ol>
    }
    .into_any()
}
