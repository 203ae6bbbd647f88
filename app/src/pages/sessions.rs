//! `/sessions`: every session of the signed-in user, whatever strategy keeps it, with where
//! and when it was last seen; end one, or all but this one.

use crate::{
    components::error_message::{last_error, ActionError},
    model::SessionListing,
    server_fns::{list_sessions, EndSession, LogOutEverywhere},
    server_resource::server_resource,
    url_credential::{form_action, link},
};
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let end = ServerAction::<EndSession>::new();
    let everywhere = ServerAction::<LogOutEverywhere>::new();
    let sessions = server_resource(
        move || (end.version().get(), everywhere.version().get()),
        |_| list_sessions(),
    );
    view! {
        <Title text="Your sessions · Session Strategies"/>
        <h1>"Your sessions"</h1>
        <p class="lede">
            "Every place you are signed in, whichever strategy keeps the session. Ending one "
            "makes it a guest on its next request, on every instance, within about a second."
        </p>
        <ActionError error=Signal::derive(move || {
            last_error(end.value()).get().or(last_error(everywhere.value()).get())
        })/>
        <Suspense fallback=|| view! { <p>"Loading your sessions…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(view) => {
                        let others = view.sessions.iter().filter(|listed| !listed.current).count();
                        view! {
                            <ul class="sessions" data-testid="sessions">
                                {view
                                    .sessions
                                    .into_iter()
                                    .map(|listed| view! { <Listed listed end/> })
                                    .collect_view()}
                            </ul>
                            {(others > 0).then(|| view! {
                                <ActionForm action=everywhere>
                                    <button type="submit" class="button primary" formaction=form_action(LogOutEverywhere::url())>
                                        "Log out everywhere else"
                                    </button>
                                </ActionForm>
                            })}
                        }
                        .into_any()
                    }
                    Err(_) => view! {
                        <p>"Log in to see your sessions. " <a href=link("/login")>"Log in"</a></p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Listed(listed: SessionListing, end: ServerAction<EndSession>) -> impl IntoView {
    let label = format!("End the session in {}", listed.browser);
    view! {
        <li data-testid="session" data-current=listed.current.to_string()>
            <p>
                <strong>{listed.browser}</strong>
                " · " {listed.strategy}
                " · on " <code>{listed.instance}</code>
                {listed.current.then_some(" · this session")}
            </p>
            <p class="muted">
                "Signed in " <time>{listed.created_at}</time>
                ", last seen " <time>{listed.last_seen}</time>
            </p>
            {(!listed.current).then(|| view! {
                <ActionForm action=end attr:class="inline">
                    <input type="hidden" name="id" value=listed.id/>
                    <button type="submit" class="button small secondary" aria-label=label formaction=form_action(EndSession::url())>
                        "End"
                    </button>
                </ActionForm>
            })}
        </li>
    }
}
