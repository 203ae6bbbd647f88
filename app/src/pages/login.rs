//! Log in with a demo user; the guest cart comes along.

use crate::{
    api::Login,
    components::error_message::{last_error, ActionError},
    state::ShopContext,
    url_token::form_action,
};
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn LoginPage() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <Title text="Log in · Session Strategies"/>
        <h1>"Log in"</h1>
        <ActionError error=last_error(shop.login.value())/>
        <ActionForm action=shop.login attr:class="login">
            <label for="username">"Username"</label>
            <input id="username" name="username" autocomplete="username" required maxlength="64"/>
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"/>
            <button type="submit" class="button primary" formaction=form_action(Login::url())>"Log in"</button>
        </ActionForm>
        <p class="hint">"Demo users: " <code>"alice / wonderland"</code> " and " <code>"bob / builder"</code> "."</p>
    }
}
