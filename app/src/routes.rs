//! The pages as lazily loaded routes: each page's code is its own WebAssembly chunk
//! (`cargo leptos build --split`), fetched the first time the page is visited, so the first
//! download holds the framework, the header and the inspector but not ten pages. On the
//! server nothing changes: the page renders as before and its chunks are named in preload
//! links, so hydration does not wait on a second round trip.

use crate::pages::{
    cart::CartPage,
    catalog::CatalogPage,
    cluster::ClusterPage,
    compare::ComparePage,
    guide::{GuideIndexPage, GuidePage},
    login::LoginPage,
    orders::OrdersPage,
    outbox::OutboxPage,
    sessions::SessionsPage,
};
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A route whose view is one page component, loaded on first use. The pages fetch their own
/// data (resources in the component), so there is no route data to start early.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(
    /// `/`: the catalog.
    CatalogRoute => CatalogPage
);
lazy_page!(
    /// `/cart`.
    CartRoute => CartPage
);
lazy_page!(
    /// `/login`.
    LoginRoute => LoginPage
);
lazy_page!(
    /// `/orders`.
    OrdersRoute => OrdersPage
);
lazy_page!(
    /// `/outbox`: the demo mail.
    OutboxRoute => OutboxPage
);
lazy_page!(
    /// `/sessions`: your sessions on other devices.
    SessionsRoute => SessionsPage
);
lazy_page!(
    /// `/compare`: the strategies side by side.
    CompareRoute => ComparePage
);
lazy_page!(
    /// `/cluster`: the instances behind the load balancer.
    ClusterRoute => ClusterPage
);
lazy_page!(
    /// `/strategies`: the guides' index.
    GuideIndexRoute => GuideIndexPage
);
lazy_page!(
    /// `/strategies/{id}`: one guide.
    GuideRoute => GuidePage
);
