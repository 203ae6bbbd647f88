//! Server functions: what the pages call. Each is a thin wrapper over the shop services that
//! the JSON API calls too.

use crate::{
    error::AppError,
    model::{
        CheckoutView, CompareView, InspectionView, LatencyView, OrdersView, Product, SessionView,
        StrategyInfo,
    },
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::{
        error::AppError,
        shop::{session_of, AppState, Shop},
        url_credential::with_credential,
    };
    use http::{header, request::Parts, StatusCode};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use session_strategies::Session;

    /// The shop and the request's session.
    pub fn context() -> Result<(Shop, Session), AppError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| AppError::internal("the app state is not provided"))?;
        let parts = use_context::<Parts>()
            .ok_or_else(|| AppError::internal("the request parts are not provided"))?;
        Ok((state.shop.clone(), session_of(&parts.extensions)?))
    }

    /// The request, as the server function received it.
    pub fn request() -> Result<Parts, AppError> {
        use_context::<Parts>()
            .ok_or_else(|| AppError::internal("the request parts are not provided"))
    }

    /// Who is asking, for the login limits and "Your sessions".
    pub fn visitor() -> crate::shop::visitor::Visitor {
        use_context::<Parts>()
            .map(|parts| crate::shop::visitor::Visitor::of(&parts))
            .unwrap_or_default()
    }

    /// Whether this is a plain HTML form post (no JavaScript): then the answer is a redirect.
    fn plain_form_post(parts: &Parts) -> bool {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    }

    /// The path part of the Referer, never another site.
    fn referer_path(parts: &Parts) -> String {
        let referer = parts
            .headers
            .get(header::REFERER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("/");
        let after_scheme = referer.split_once("://").map_or(referer, |(_, rest)| rest);
        let path = after_scheme
            .find('/')
            .map_or("/", |start| &after_scheme[start..]);
        let path = path.split(['?', '#']).next().unwrap_or("/");
        if path.starts_with('/') && !path.starts_with("//") {
            path.to_owned()
        } else {
            "/".to_owned()
        }
    }

    /// What a page may see of the session.
    pub fn browser(view: crate::model::SessionView) -> crate::model::SessionView {
        crate::shop::session_view::browser_view(view)
    }

    /// Where a plain form post goes back to: `return_to` (URL-token pages have no Referer),
    /// else the Referer's path; only ever a path on this site.
    fn return_path(parts: &Parts) -> String {
        let from_query = parts.uri.query().and_then(|query| {
            query.split('&').find_map(|pair| {
                pair.strip_prefix(crate::url_credential::RETURN_PARAM)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_owned)
            })
        });
        let path = from_query.unwrap_or_else(|| referer_path(parts));
        if path.starts_with('/') && !path.starts_with("//") && !path.contains(['\\', '?', '#']) {
            path
        } else {
            "/".to_owned()
        }
    }

    /// Sends a result back. A plain form post (no JavaScript, or a URL-token page) is redirected:
    /// on success to `success` or back where it came from, on failure back with `?error=code`,
    /// carrying the URL token when the session travels in URLs. A script gets the value, or the
    /// error with its status code.
    pub fn respond<T>(result: Result<T, AppError>, success: Option<&str>) -> Result<T, AppError> {
        let Some(parts) = use_context::<Parts>() else {
            return result;
        };
        let plain = plain_form_post(&parts);
        let token = session_of(&parts.extensions)
            .ok()
            .and_then(|session| session.url_credential());
        match &result {
            Ok(_) if plain => {
                let target = success.map_or_else(|| return_path(&parts), str::to_owned);
                leptos_axum::redirect(&with_credential(&target, token.as_ref()));
            }
            Ok(_) => {
                if let Some(target) = success {
                    leptos_axum::redirect(target);
                }
            }
            Err(error) if plain => {
                let target = format!("{}?error={}", return_path(&parts), error.code.name());
                leptos_axum::redirect(&with_credential(&target, token.as_ref()));
            }
            Err(error) => {
                if let Some(response) = use_context::<ResponseOptions>() {
                    response.set_status(
                        StatusCode::from_u16(error.status())
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    );
                    if let Some(seconds) = error.retry_after {
                        response.insert_header(
                            http::header::RETRY_AFTER,
                            http::HeaderValue::from(seconds),
                        );
                    }
                }
            }
        }
        result
    }
}

#[server(prefix = "/sfn", endpoint = "session")]
pub async fn get_session() -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    Ok(ssr::browser(crate::shop::session_view::view(
        &shop, &session,
    )))
}

#[server(prefix = "/sfn", endpoint = "inspect")]
pub async fn inspect_session() -> Result<InspectionView, AppError> {
    let (shop, session) = ssr::context()?;
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| AppError::internal("the request parts are not provided"))?;
    crate::shop::inspection::inspect(&shop, &session, &parts).await
}

/// `/compare`'s table and size chart, measured on the visitor's current session.
#[server(prefix = "/sfn", endpoint = "compare")]
pub async fn compare_strategies() -> Result<CompareView, AppError> {
    let (shop, session) = ssr::context()?;
    crate::shop::compare::compare_rationed(&shop, &session, &ssr::visitor()).await
}

/// Load and save latency of one strategy against its live stores.
#[server(prefix = "/sfn", endpoint = "latency")]
pub async fn measure_latency(strategy: String) -> Result<LatencyView, AppError> {
    let (shop, session) = ssr::context()?;
    let strategy = strategy
        .parse::<session_strategies::Strategy>()
        .map_err(session_strategies::SessionError::from)?;
    crate::shop::compare::latency_rationed(&shop, &session, &ssr::visitor(), strategy).await
}

/// How long a logout takes to reach the orders service, per strategy, measured now.
#[server(prefix = "/sfn", endpoint = "logout_reach")]
pub async fn measure_logout_reach() -> Result<Vec<crate::model::LogoutReach>, AppError> {
    let (shop, session) = ssr::context()?;
    crate::shop::logout_reach::measure(&shop, &session, &ssr::visitor()).await
}

#[server(prefix = "/sfn", endpoint = "products")]
pub async fn list_products() -> Result<Vec<Product>, AppError> {
    let (shop, _) = ssr::context()?;
    Ok(shop.catalog.products().to_vec())
}

#[server(prefix = "/sfn", endpoint = "strategies")]
pub async fn list_strategies() -> Result<Vec<StrategyInfo>, AppError> {
    let (shop, _) = ssr::context()?;
    Ok(crate::shop::strategies::list(&shop).await)
}

#[server(prefix = "/sfn", endpoint = "cart_add")]
pub async fn add_to_cart(product_id: i64, quantity: i64) -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::cart::add_item(&shop, &session, product_id, quantity).await;
    ssr::respond(result.map(ssr::browser), None)
}

#[server(prefix = "/sfn", endpoint = "cart_set")]
pub async fn set_quantity(product_id: i64, quantity: i64) -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::cart::set_quantity(&shop, &session, product_id, quantity).await;
    ssr::respond(result.map(ssr::browser), None)
}

#[server(prefix = "/sfn", endpoint = "cart_remove")]
pub async fn remove_from_cart(product_id: i64) -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::cart::remove_item(&shop, &session, product_id).await;
    ssr::respond(result.map(ssr::browser), None)
}

#[server(prefix = "/sfn", endpoint = "cart_empty")]
pub async fn empty_cart() -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::cart::empty_cart(&shop, &session).await;
    ssr::respond(result.map(ssr::browser), None)
}

#[server(prefix = "/sfn", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let visitor = ssr::visitor();
    let result =
        crate::shop::session_actions::log_in(&shop, &session, &username, &password, &visitor).await;
    ssr::respond(result.map(ssr::browser), Some("/"))
}

#[server(prefix = "/sfn", endpoint = "logout")]
pub async fn logout() -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::session_actions::log_out(&shop, &session).await;
    ssr::respond(result.map(ssr::browser), Some("/"))
}

#[server(prefix = "/sfn", endpoint = "checkout")]
pub async fn checkout() -> Result<CheckoutView, AppError> {
    let (shop, session) = ssr::context()?;
    let request = ssr::request()?;
    let result = crate::shop::orders::checkout(&shop, &session, &request)
        .await
        .map(|mut checkout| {
            checkout.session = ssr::browser(checkout.session);
            checkout
        });
    ssr::respond(result, Some("/orders"))
}

#[server(prefix = "/sfn", endpoint = "orders")]
pub async fn list_orders() -> Result<OrdersView, AppError> {
    let (shop, session) = ssr::context()?;
    let request = ssr::request()?;
    crate::shop::orders::list(&shop, &session, &request).await
}

#[server(prefix = "/sfn", endpoint = "share")]
pub async fn share_cart() -> Result<String, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::links::share_cart(&shop, &session);
    // The link is shown by the cart page from its URL, with or without JavaScript.
    let target = result
        .as_ref()
        .ok()
        .map(|token| format!("/cart?shared={token}"));
    ssr::respond(result, target.as_deref())
}

/// Sends a magic login link to the user's mailbox; the answer never holds the link.
#[server(prefix = "/sfn", endpoint = "magic_link")]
pub async fn magic_link(username: String) -> Result<(), AppError> {
    let (shop, _) = ssr::context()?;
    let result = crate::shop::links::send_magic_link(&shop, &username, &ssr::visitor()).await;
    ssr::respond(result, Some("/login?magic=sent"))
}

/// The demo outbox: the mail the shop sent, newest first; `not_found` where it is off.
#[server(prefix = "/sfn", endpoint = "outbox")]
pub async fn list_outbox() -> Result<Vec<crate::model::OutboxMessage>, AppError> {
    let (shop, _) = ssr::context()?;
    crate::shop::outbox::visible(&shop, &ssr::visitor()).await
}

#[server(prefix = "/sfn", endpoint = "strategy")]
pub async fn switch_strategy(strategy: String) -> Result<SessionView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::session_actions::switch_strategy(&shop, &session, &strategy).await;
    ssr::respond(result.map(ssr::browser), None)
}

/// The signed-in user's sessions, whatever strategy keeps each.
#[server(prefix = "/sfn", endpoint = "sessions")]
pub async fn list_sessions() -> Result<crate::model::SessionsView, AppError> {
    let (shop, session) = ssr::context()?;
    crate::shop::your_sessions::list(&shop, &session).await
}

/// Ends one of the user's other sessions.
#[server(prefix = "/sfn", endpoint = "session_end")]
pub async fn end_session(id: String) -> Result<crate::model::SessionsView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::your_sessions::end_one(&shop, &session, &id).await;
    ssr::respond(result, Some("/sessions"))
}

/// Ends every session of the user but this one.
#[server(prefix = "/sfn", endpoint = "logout_everywhere")]
pub async fn log_out_everywhere() -> Result<crate::model::SessionsView, AppError> {
    let (shop, session) = ssr::context()?;
    let result = crate::shop::your_sessions::end_all_others(&shop, &session).await;
    ssr::respond(result, Some("/sessions"))
}

/// The cluster run's processes and the visitor's balancing mode; `not_found` outside it.
#[server(prefix = "/sfn", endpoint = "cluster")]
pub async fn cluster_state() -> Result<crate::model::ClusterView, AppError> {
    let (shop, session) = ssr::context()?;
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| AppError::internal("the request parts are not provided"))?;
    crate::shop::cluster::view(&shop, &session, &parts).await
}

/// A demo action on the cluster (`stop:app-2`, `restart-all`, …), from this machine only.
#[server(prefix = "/sfn", endpoint = "cluster_act")]
pub async fn cluster_act(what: String) -> Result<crate::model::ClusterView, AppError> {
    let (shop, session) = ssr::context()?;
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| AppError::internal("the request parts are not provided"))?;
    let result = crate::shop::cluster::act(&shop, &session, &parts, &what).await;
    ssr::respond(result, None)
}

/// Picks the visitor's balancing mode (`round-robin` or `sticky`) for the next request: the
/// load balancer reads the `lb_mode` cookie this sets.
#[server(prefix = "/sfn", endpoint = "cluster_mode")]
pub async fn cluster_mode(mode: String) -> Result<String, AppError> {
    let result = crate::shop::cluster::mode_cookie(&mode).and_then(|cookie| {
        let response = use_context::<leptos_axum::ResponseOptions>()
            .ok_or_else(|| AppError::internal("the response options are not provided"))?;
        let value = http::HeaderValue::from_str(&cookie).map_err(AppError::internal)?;
        response.append_header(http::header::SET_COOKIE, value);
        Ok(mode)
    });
    ssr::respond(result, Some("/cluster"))
}
