//! The cart: change quantities, remove lines, empty it, check out.

use crate::server_fns::{Checkout, EmptyCart, RemoveFromCart, SetQuantity, ShareCart};
use crate::{
    components::error_message::{last_error, ActionError},
    format::format_price,
    model::CartItemView,
    state::ShopContext,
    url_credential::{form_action, link},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[component]
pub fn CartPage() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <Title text="Cart · Session Strategies"/>
        <h1>"Cart"</h1>
        <ActionError error=Signal::derive(move || {
            last_error(shop.set_quantity.value()).get().or(last_error(shop.checkout.value()).get())
        })/>
        <Suspense fallback=|| view! { <p>"Loading the cart…"</p> }>
            {move || Suspend::new(async move {
                let session = match shop.session.await {
                    Ok(session) => session,
                    Err(error) => {
                        return view! { <p class="form-error" role="alert">{error.message}</p> }.into_any()
                    }
                };
                if session.cart.items.is_empty() {
                    return view! {
                        <p class="empty" data-testid="empty-cart">"Your cart is empty. " <a href=link("/")>"Browse the shop"</a></p>
                    }
                    .into_any();
                }
                let logged_in = session.user.is_some();
                view! {
                    <table class="cart">
                        <caption class="visually-hidden">"Items in your cart"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Product"</th>
                                <th scope="col">"Price"</th>
                                <th scope="col">"Quantity"</th>
                                <th scope="col">"Total"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {session.cart.items.into_iter().map(|item| view! { <CartRow item/> }).collect_view()}
                        </tbody>
                        <tfoot>
                            <tr>
                                <th scope="row" colspan="3">"Total"</th>
                                <td data-testid="cart-total">{format_price(session.cart.total_cents)}</td>
                                <td></td>
                            </tr>
                        </tfoot>
                    </table>
                    <ShareCart/>
                    <div class="cart-actions">
                        <ActionForm action=shop.empty>
                            <button type="submit" class="button secondary" formaction=form_action(EmptyCart::url())>"Empty cart"</button>
                        </ActionForm>
                        {if logged_in {
                            view! {
                                <ActionForm action=shop.checkout>
                                    <button type="submit" class="button primary" formaction=form_action(Checkout::url())>"Check out"</button>
                                </ActionForm>
                            }
                            .into_any()
                        } else {
                            view! { <a class="button primary" href=link("/login")>"Log in to check out"</a> }.into_any()
                        }}
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// "Share this cart": a signed link that gives its opener a copy of the cart for an hour. The
/// server answers with `?shared=token`, so the link shows with or without JavaScript.
#[component]
fn ShareCart() -> impl IntoView {
    let share = ServerAction::<ShareCart>::new();
    let query = use_query_map();
    let shared = move || {
        query
            .read()
            .get("shared")
            .map(|token| format!("/share/{token}"))
    };
    view! {
        <section class="share" aria-label="Share this cart">
            <ActionForm action=share attr:class="inline">
                <button type="submit" class="button secondary" formaction=form_action(ShareCart::url())>
                    "Share this cart"
                </button>
            </ActionForm>
            {move || shared().map(|path| view! {
                <p class="link-out">
                    "Anyone with this link gets a copy of the cart for an hour: "
                    <a data-testid="share-link" href=path.clone()>{path.clone()}</a>
                </p>
            })}
            {move || share.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error.message}</p>
            })}
        </section>
    }
}

#[component]
fn CartRow(item: CartItemView) -> impl IntoView {
    let shop = ShopContext::get();
    let input_id = format!("qty-{}", item.product_id);
    let quantity_label = format!("Quantity of {}", item.name);
    let remove_label = format!("Remove {}", item.name);
    view! {
        <tr data-product-id=item.product_id>
            <th scope="row">{item.name.clone()}</th>
            <td>{format_price(item.unit_price_cents)}</td>
            <td>
                <ActionForm action=shop.set_quantity attr:class="quantity">
                    <input type="hidden" name="product_id" value=item.product_id/>
                    <label class="visually-hidden" for=input_id.clone()>{quantity_label}</label>
                    <input id=input_id type="number" name="quantity" min="0" max="99" value=item.quantity required/>
                    <button type="submit" class="button small" formaction=form_action(SetQuantity::url())>"Update"</button>
                </ActionForm>
            </td>
            <td>{format_price(item.line_total_cents)}</td>
            <td>
                <ActionForm action=shop.remove>
                    <input type="hidden" name="product_id" value=item.product_id/>
                    <button type="submit" class="button small secondary" aria-label=remove_label formaction=form_action(RemoveFromCart::url())>
                        "Remove"
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}
