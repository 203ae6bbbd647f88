//! Log in with a demo user; the guest cart comes along.

use crate::{
    components::error_message::{last_error, ActionError},
    server_fns::{Login, MagicLink as MagicLinkFn},
    state::ShopContext,
    url_credential::form_action,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
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
        <MagicLink/>
        <p class="hint">"Demo users: " <code>"alice / wonderland"</code> " and " <code>"bob / builder"</code> "."</p>
    }
}

/// A magic login link, sent to the user's mailbox (the demo outbox), never shown to whoever
/// asked for it. The server answers with `?magic=sent`, so the notice shows with or without
/// JavaScript.
#[component]
fn MagicLink() -> impl IntoView {
    let magic = ServerAction::<MagicLinkFn>::new();
    let query = use_query_map();
    let sent = move || {
        query.read().get("magic").as_deref() == Some("sent")
            || matches!(magic.value().get(), Some(Ok(())))
    };
    view! {
        <section class="magic" aria-labelledby="magic-heading">
            <h2 id="magic-heading">"Or log in with a magic link"</h2>
            <ActionForm action=magic attr:class="inline">
                <label for="magic-user">"Demo user"</label>
                <select id="magic-user" name="username">
                    <option value="alice">"alice"</option>
                    <option value="bob">"bob"</option>
                </select>
                <button type="submit" class="button secondary" formaction=form_action(MagicLinkFn::url())>
                    "Get a magic link"
                </button>
            </ActionForm>
            {move || sent().then(|| view! {
                <p class="link-out" role="status" data-testid="magic-sent">
                    "If that user exists, a login link (one use, 15 minutes) is on its way to their mailbox. "
                    "This demo keeps the mail in its "
                    <a href="/outbox">"outbox"</a>
                    "."
                </p>
            })}
            {move || magic.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error.message}</p>
            })}
        </section>
    }
}
