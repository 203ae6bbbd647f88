//! Error messages: from a failed action (with JavaScript) or from `?error=` after a plain form
//! post redirected back (without).

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What to tell the user for an error code in the URL.
pub fn message_for(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "Wrong username or password.",
        "invalid_quantity" => "Quantities go from 1 to 99.",
        "not_found" => "That product does not exist.",
        "unauthenticated" => "Please log in first.",
        "cookie_too_large" => {
            "The cart no longer fits in a 4096-byte cookie. Remove something or pick a server-side strategy."
        }
        "strategy_unknown" => "There is no such strategy.",
        "strategy_unavailable" => "That strategy is unavailable right now.",
        "link_invalid" => "That link is not valid.",
        "link_expired" => "That link has expired.",
        "link_used" => "That link has already been used.",
        "bad_request" => "That request could not be handled. Check what you entered.",
        _ => "Something went wrong. Please try again.",
    }
}

/// The error of an action's latest result, if it failed.
pub fn last_error<T, V>(value: V) -> Signal<Option<AppError>>
where
    T: Clone + Send + Sync + 'static,
    V: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err))
}

/// The latest error of an action, or of a plain form post that came back with `?error=`.
#[component]
pub fn ActionError(error: Signal<Option<AppError>>) -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        error.get().map(|error| error.message).or_else(|| {
            query
                .read()
                .get("error")
                .map(|code| message_for(&code).to_owned())
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="form-error" role="alert">{message}</p>
        </Show>
    }
}
