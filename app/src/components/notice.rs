//! The banner that says a session could not be used and a new one began.

use crate::state::ShopContext;
use leptos::prelude::*;

#[component]
pub fn NoticeBanner() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let notice = shop.session.await.ok().and_then(|session| session.notice);
                notice.map(|notice| {
                    let text = match notice.as_str() {
                        "session_expired" => "Your session expired, so a new one has started.",
                        _ => "Your session could not be read (altered or unknown), so a new one has started.",
                    };
                    view! {
                        <div class="notice" role="status" data-notice=notice>{text}</div>
                    }
                })
            })}
        </Suspense>
    }
}
