//! `/outbox`: the demo's mailbox, where the magic login links the shop "sends" arrive. On with
//! `DEMO_OUTBOX=true` (the run command's default); a deployment leaves it off.

use crate::{
    pages::not_found::NotFound, server_fns::list_outbox, server_resource::server_resource,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let messages = server_resource(|| (), |_| list_outbox());
    view! {
        <Suspense fallback=|| view! { <p>"Opening the outbox…"</p> }>
            {move || Suspend::new(async move {
                match messages.await {
                    Ok(messages) => view! { <Outbox messages/> }.into_any(),
                    Err(_) => view! { <NotFound/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Outbox(messages: Vec<crate::model::OutboxMessage>) -> impl IntoView {
    let empty = messages.is_empty();
    view! {
        <Title text="Outbox · Session Strategies"/>
        <h1>"Outbox"</h1>
        <p class="lede">
            "The mail this demo shop has sent in the last hour. A real shop would hand it to a mail "
            "server; what matters is that a login link reaches the user's mailbox and never the "
            "response to whoever asked for it."
        </p>
        {empty.then(|| view! { <p data-testid="outbox-empty">"Nothing sent yet."</p> })}
        <ul class="outbox">
            {messages
                .into_iter()
                .map(|message| view! {
                    <li data-testid="outbox-message" data-recipient=message.recipient.clone()>
                        <p>
                            <strong>{format!("To {}", message.recipient)}</strong>
                            " · " {message.subject}
                            " · " <time>{message.sent_at}</time>
                        </p>
                        <a href=message.link.clone()>{message.link.clone()}</a>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}
