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
pub mod model;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod shop;
pub mod state;
pub mod url_token;

use components::{header::Header, inspector::Inspector, notice::NoticeBanner};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};
use pages::{
    cart::CartPage,
    catalog::CatalogPage,
    cluster::ClusterPage,
    compare::ComparePage,
    guide::{GuideIndexPage, GuidePage},
    login::LoginPage,
    not_found::NotFound,
    orders::OrdersPage,
    outbox::OutboxPage,
    sessions::SessionsPage,
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
                {url_token::url_token()
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
/// complete when it arrives: the shop works with JavaScript disabled.
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
                    <Route path=path!("") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("cart") view=CartPage ssr=SsrMode::Async/>
                    <Route path=path!("login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("outbox") view=OutboxPage ssr=SsrMode::Async/>
                    <Route path=path!("sessions") view=SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("compare") view=ComparePage ssr=SsrMode::Async/>
                    <Route path=path!("cluster") view=ClusterPage ssr=SsrMode::Async/>
                    <Route path=path!("strategies") view=GuideIndexPage ssr=SsrMode::Async/>
                    <Route path=path!("strategies/:id") view=GuidePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The WebAssembly entry point.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets tests (and curious readers) tell the interactive page from its HTML fallback.
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
