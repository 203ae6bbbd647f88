//! The shop's user interface: pages, components and server functions, rendered on the server
//! and hydrated in the browser. Every form is an `ActionForm`, so it also works before (or
//! without) the WebAssembly.
#![forbid(unsafe_code)]
// Deeply nested views are deeply nested types; hydrate builds need the headroom.
#![recursion_limit = "256"]

pub mod components;
#[cfg(feature = "ssr")]
pub mod content_security;
pub mod error;
pub mod format;
pub mod json_text;
pub mod model;
pub mod pages;
pub mod routes;
pub mod server_fns;
pub mod server_resource;
#[cfg(feature = "ssr")]
pub mod shop;
pub mod state;
pub mod url_credential;

use components::{header::Header, inspector::Inspector, notice::NoticeBanner};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy, SsrMode,
};
use pages::not_found::NotFound;
use routes::{
    CartRoute, CatalogRoute, ClusterRoute, CompareRoute, GuideIndexRoute, GuideRoute, LoginRoute,
    OrdersRoute, OutboxRoute, SessionsRoute,
};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security::set_policy(&options);
    let styles = options.clone();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // The stylesheet under its hashed name in a release build (`hash-files`), so
                // that it can be cached for a year.
                <HashedStylesheet options=styles id="leptos"/>
                // A page whose URLs carry the session is served as plain HTML: links and forms
                // then keep the token without any client-side state.
                {url_credential::url_credential()
                    .is_none()
                    .then(|| view! {
                        <AutoReload options=options.clone()/>
                        <HydrationScripts options/>
                    })}
                <MetaTags/>
                <script src="/inspector.js" defer></script>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: header, notices and the pages. Pages render with `SsrMode::Async` so the HTML is
/// complete when it arrives: the shop works with JavaScript disabled. Each page is a lazy
/// route ([`routes`]): its code arrives with the first visit.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    state::ShopContext::provide();

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title text="Session Strategies"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <NoticeBanner/>
            <Inspector/>
            <main id="main" class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("") view={Lazy::<CatalogRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("cart") view={Lazy::<CartRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("orders") view={Lazy::<OrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("compare") view={Lazy::<CompareRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("cluster") view={Lazy::<ClusterRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("strategies") view={Lazy::<GuideIndexRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("strategies/:id") view={Lazy::<GuideRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The WebAssembly entry point. Hydration waits for the current page's chunk (the lazy routes),
/// so it finishes asynchronously.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = document().body() else {
        // A document without a body (not one this server rendered): nothing to hydrate.
        return;
    };
    // hydrate_from_async starts Leptos's executor itself; this future only has to be driven.
    wasm_bindgen_futures::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(body, App).await;
        owner.forget();
        // Lets tests (and curious readers) tell the interactive page from its HTML fallback.
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
