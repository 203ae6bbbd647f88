//! The catalog: every product with an add-to-cart form.

use crate::server_fns::AddToCart;
use crate::{
    components::error_message::{last_error, ActionError},
    format::format_price,
    model::Product,
    server_fns::list_products,
    server_resource::server_resource,
    state::ShopContext,
    url_credential::form_action,
};
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let shop = ShopContext::get();
    let products = server_resource(|| (), |_| list_products());
    view! {
        <Title text="Shop · Session Strategies"/>
        <h1>"Shop"</h1>
        <p class="lede">
            "Fill a cart, log in, then move the same session between strategies with the switch in the header."
        </p>
        <ActionError error=last_error(shop.add.value())/>
        <Suspense fallback=|| view! { <p>"Loading the catalog…"</p> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(products) => view! {
                        <ul class="products">
                            {products.into_iter().map(|product| view! { <ProductCard product/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductCard(product: Product) -> impl IntoView {
    let shop = ShopContext::get();
    let heading = format!("product-{}", product.id);
    let labelled_by = heading.clone();
    view! {
        <li class="product" aria-labelledby=labelled_by>
            <img src=product.image.clone() alt="" width="160" height="120"/>
            <h2 id=heading>{product.name.clone()}</h2>
            <p class="price">{format_price(product.price_cents)}</p>
            <ActionForm action=shop.add>
                <input type="hidden" name="product_id" value=product.id/>
                <input type="hidden" name="quantity" value="1"/>
                // The product's name is read out but not shown: the card's heading shows it.
                <button type="submit" class="button" formaction=form_action(AddToCart::url())>
                    "Add " <span class="visually-hidden">{product.name.clone()} " "</span> "to cart"
                </button>
            </ActionForm>
        </li>
    }
}
