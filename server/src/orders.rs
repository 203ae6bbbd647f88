//! The orders service (`server orders`): a second process with a job of its own in the shop,
//! the order history and placing orders, that trusts the sessions the shop creates the way a
//! real second service would. [`session_strategies::trust`] says how, per strategy: it holds
//! no signing key (the token strategies' public keys come from the shop's JWKS), reads the
//! stores without writing, and asks the shop about signed-URL tokens. It shares the shop's
//! database (the orders tables, and the catalogue for prices) and the revocation ledger.
//!
//! Every answer names the instance (`X-Instance`) and says how the session was checked and
//! how long that took (`X-Session-Verified`, `Server-Timing: session;desc="store read";dur=0.41`).
//! A session it does not accept is `401 session_invalid` with the reason; no session, or a
//! guest's, `401 unauthenticated`. Like the shop, it refuses state-changing requests from
//! other sites and sends the same security headers.

use crate::{
    config::Config,
    csrf,
    http_client::HttpClient,
    observability, security_headers,
    startup::{self, backends, StartupError},
};
use app::{
    error::{AppError, ErrorCode},
    model::{OrderView, PlacedOrder},
    shop::{catalog::Catalog, orders},
};
use async_trait::async_trait;
use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderName, HeaderValue},
    middleware::{from_fn, from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use http_body_util::Full;
use serde::Serialize;
use session_strategies::{
    backends::jwt::JwtSettings,
    crypto::published_keys::{FetchKeys, PublishedKeys},
    revocation::logins::Logins,
    session::{layer::strategy_asked, transport::HostPrefixedCookies},
    strategy::Trust,
    trust::{self, Introspect, Refused, Verifier},
    SessionData, Strategy,
};
use sqlx::AnyPool;
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the orders service listens unless `ORDERS_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3100";
/// How long the service waits for the shop at start.
const SHOP_AT_START: Duration = Duration::from_secs(180);
/// A call to the shop gives up after this.
const SHOP_DEADLINE: Duration = Duration::from_secs(2);
/// It never writes a session: it waits for no Redis replica.
const NO_REPLICAS_AWAITED: u8 = 0;
/// How long it waits at start to hear the revocation ledger's announcements.
const ANNOUNCEMENTS_AT_START: Duration = Duration::from_secs(5);
/// The header that names how the session was checked.
pub const VERIFIED_HEADER: HeaderName = HeaderName::from_static("x-session-verified");

#[derive(Clone)]
struct Orders(Arc<Inner>);

struct Inner {
    pool: AnyPool,
    catalog: Catalog,
    verifiers: BTreeMap<Strategy, Verifier>,
    published: Arc<PublishedKeys>,
    instance: String,
    /// The strategy of a request that names none, as the shop's default.
    default_strategy: Strategy,
}

/// Waits for the shop and fetches its keys, reads the configuration, connects and serves until
/// told to stop. The shop comes first: it creates the session key file the two share when no
/// `SESSION_KEYS` is set.
pub async fn run() -> Result<(), StartupError> {
    let shop_url =
        std::env::var("SHOP_URL").unwrap_or_else(|_| crate::config::DEFAULT_SHOP_URL.into());
    let http = HttpClient::new(SHOP_DEADLINE);
    let published = keys_of_the_shop(&http, &shop_url).await?;
    let config = Config::from_env()?;
    let addr: SocketAddr = std::env::var("ORDERS_ADDR")
        .unwrap_or_else(|_| DEFAULT_ADDR.into())
        .parse()
        .map_err(|error| {
            StartupError::Config(crate::config::ConfigError::Invalid {
                name: "ORDERS_ADDR",
                reason: format!("{error}"),
            })
        })?;
    let app = build(&config, http, published).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| StartupError::Bind(addr, error))?;
    tracing::info!(
        instance = config.instance_id,
        "the orders service listens on http://{addr}"
    );
    let threads = crate::serving::Threads {
        count: config.serving_threads,
        placement: config.serving_placement,
        on_start: startup::on_serving_thread_start(),
    };
    crate::serving::serve(app, listener, threads, crate::shutdown::requested())
        .await
        .map_err(StartupError::Serve)
}

/// The service's router, trusting the shop whose keys `published` holds, asking it through
/// `http`.
pub async fn build(
    config: &Config,
    http: HttpClient,
    published: Arc<PublishedKeys>,
) -> Result<Router, StartupError> {
    let pool = startup::connect(&config.database_url).await?;
    let catalog = Catalog::load(&pool).await?;
    let redis = backends::connect_redis(&config.redis_url, NO_REPLICAS_AWAITED).await;
    let (mut ingredients, mirror) = backends::shared_ingredients(config, &pool, redis).await?;
    // Revocations come through the ledger's announcements: listen before answering, or a
    // logout made meanwhile would be heard of only at the next read of the ledger.
    if ingredients.redis.is_some() && !mirror.until_subscribed(ANNOUNCEMENTS_AT_START).await {
        tracing::warn!("not subscribed to revocations yet: until then they arrive with each re-read of the ledger");
    }
    // It verifies tokens with the published keys alone: no signing key of the shop's here.
    ingredients.jwt = JwtSettings {
        keys: Vec::new(),
        ..ingredients.jwt
    };
    let shop: Arc<dyn Introspect> = Arc::new(ShopIntrospection {
        http,
        url: format!("{}/api/v1/introspect", config.shop_url),
        authorization: format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                crate::api::introspect::SERVICE_USER,
                config.service_secrets.first().map_or("", String::as_str)
            ))
        ),
    });
    let given = trust::Given {
        published: published.clone(),
        shop,
        logins: Arc::new(Logins::new(ingredients.revocations.clone())),
    };
    let verifiers = Strategy::ALL
        .into_iter()
        .filter_map(|strategy| Some((strategy, trust::build(strategy, &ingredients, &given)?)))
        .collect();
    let orders = Orders(Arc::new(Inner {
        pool,
        catalog,
        verifiers,
        published,
        instance: config.instance_id.clone(),
        default_strategy: config.default_strategy,
    }));
    let instance = HeaderValue::from_str(&config.instance_id)
        .unwrap_or_else(|_| HeaderValue::from_static("orders"));
    let secure_cookies = config.secure_cookies;
    let router = Router::new()
        .route("/api/v1/orders", get(history).post(place))
        .route("/api/v1/orders/health", get(health))
        .route_layer(from_fn(csrf::same_origin_only))
        .fallback(|| async { AppError::not_found("no such route in the orders service") })
        // Order histories are the visitor's own.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(from_fn(
            move |mut request: Request, next: Next| async move {
                // The shop's cookies carry the `__Host-` prefix behind HTTPS: read them so.
                if secure_cookies {
                    request.extensions_mut().insert(HostPrefixedCookies);
                }
                next.run(request).await
            },
        ));
    Ok(security_headers::add(router, secure_cookies)
        .layer(from_fn_with_state(instance, observability::stamp_and_log))
        .with_state(orders))
}

/// The shop's published keys, fetched once the shop answers.
async fn keys_of_the_shop(
    http: &HttpClient,
    shop_url: &str,
) -> Result<Arc<PublishedKeys>, StartupError> {
    let url = format!("{shop_url}/.well-known/jwks.json");
    let fetch: FetchKeys = {
        let http = http.clone();
        Arc::new(move || {
            let (http, url) = (http.clone(), url.clone());
            Box::pin(async move { http.get_json(&url).await })
        })
    };
    let started = Instant::now();
    loop {
        match PublishedKeys::fetch_with(fetch.clone()).await {
            Ok(keys) => return Ok(keys),
            Err(error) if started.elapsed() < SHOP_AT_START => {
                if started.elapsed() < Duration::from_millis(250) {
                    tracing::info!(%error, "waiting for the shop");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => return Err(StartupError::Shop(error)),
        }
    }
}

/// RFC 7662 introspection at the shop, with the service credential.
struct ShopIntrospection {
    http: HttpClient,
    url: String,
    authorization: String,
}

#[derive(serde::Deserialize)]
struct IntrospectionAnswer {
    active: bool,
    session: Option<SessionData>,
}

#[async_trait]
impl Introspect for ShopIntrospection {
    async fn introspect(
        &self,
        strategy: Strategy,
        token: &str,
    ) -> Result<Option<SessionData>, String> {
        let form = format!("token={}&token_type_hint={strategy}", form_encoded(token));
        let request = http::Request::post(&self.url)
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::from(form))
            .map_err(|error| error.to_string())?;
        let answer = self.http.send(request).await?;
        if answer.status != http::StatusCode::OK {
            return Err(format!(
                "the shop's introspection answered {}",
                answer.status
            ));
        }
        let answer: IntrospectionAnswer = answer.json()?;
        Ok(answer.session.filter(|_| answer.active))
    }
}

/// `value` percent-encoded for a form, every byte but the unreserved ones (RFC 3986).
fn form_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `Server-Timing` and `X-Session-Verified` on `response`: how the session was checked and
/// how long that took.
fn stamped(mut response: Response, trust: Trust, took: Duration) -> Response {
    let method = trust.method();
    let timing = format!(
        "session;desc=\"{method}\";dur={:.3}",
        took.as_secs_f64() * 1000.0
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&timing) {
        headers.insert("server-timing", value);
    }
    headers.insert(VERIFIED_HEADER, HeaderValue::from_static(method));
    response
}

/// A logged-in session, checked: what it holds, how, and how long that took.
struct Checked {
    user_id: i64,
    data: SessionData,
    trust: Trust,
    took: Duration,
}

impl Orders {
    /// The strategy a request's session is kept with, chosen as the shop chooses it, the
    /// credentials recognized by this service's verifiers.
    fn strategy_of(&self, request: &Parts) -> Result<Strategy, AppError> {
        let recognizing = || {
            let verifiers = self.0.verifiers.iter();
            verifiers
                .filter(|(_, verifier)| verifier.recognizes(request))
                .map(|(strategy, _)| *strategy)
                .next()
        };
        Ok(strategy_asked(
            request,
            recognizing,
            self.0.default_strategy,
        )?)
    }

    /// The logged-in session `request` carries, checked the way its strategy is trusted here;
    /// else the refusal to answer with.
    async fn check(&self, request: &Parts) -> Result<Checked, Response> {
        let strategy = self
            .strategy_of(request)
            .map_err(IntoResponse::into_response)?;
        let verifier = self.0.verifiers.get(&strategy).ok_or_else(|| {
            AppError::new(
                ErrorCode::StrategyUnavailable,
                format!("the orders service cannot reach the {strategy} store"),
            )
            .into_response()
        })?;
        let started = Instant::now();
        let verified = verifier.verify(request).await;
        let (trust, took) = (verifier.trust(), started.elapsed());
        let refused = |code, message: String| {
            stamped(AppError::new(code, message).into_response(), trust, took)
        };
        match verified {
            Ok(data) => match data.user.as_ref().map(|user| user.id) {
                Some(user_id) => Ok(Checked {
                    user_id,
                    data,
                    trust,
                    took,
                }),
                None => Err(refused(ErrorCode::Unauthenticated, "log in first".into())),
            },
            Err(refusal @ Refused::NoSession(_)) => {
                Err(refused(ErrorCode::Unauthenticated, refusal.to_string()))
            }
            Err(Refused::Unavailable(reason)) => {
                Err(refused(ErrorCode::StrategyUnavailable, reason))
            }
            Err(refusal @ (Refused::Invalid(_) | Refused::OutOfReach(_))) => {
                Err(refused(ErrorCode::SessionInvalid, refusal.to_string()))
            }
        }
    }
}

/// `GET /api/v1/orders`: the logged-in user's orders, newest first.
async fn history(State(orders): State<Orders>, request: Parts) -> Response {
    let checked = match orders.check(&request).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let answer: Result<Json<Vec<OrderView>>, AppError> =
        orders::history(&orders.0.pool, checked.user_id)
            .await
            .map(Json);
    stamped(answer.into_response(), checked.trust, checked.took)
}

/// `POST /api/v1/orders`: an order of the session's cart, priced from the catalogue. The cart
/// stays as it is: emptying it is a change to the session, the shop's job.
async fn place(State(orders): State<Orders>, request: Parts) -> Response {
    let checked = match orders.check(&request).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let pool = &orders.0.pool;
    let answer: Result<Json<PlacedOrder>, AppError> =
        orders::place(pool, &orders.0.catalog, checked.user_id, &checked.data.cart)
            .await
            .map(Json);
    stamped(answer.into_response(), checked.trust, checked.took)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    instance: String,
    /// How each strategy's sessions are checked here.
    strategies: BTreeMap<&'static str, &'static str>,
    /// The shop's public keys held now, and how often the set was fetched.
    keys: Keys,
}

#[derive(Serialize)]
struct Keys {
    kids: Vec<String>,
    fetches: u64,
}

/// `GET /api/v1/orders/health`.
async fn health(State(orders): State<Orders>) -> Json<Health> {
    Json(Health {
        status: "ok",
        instance: orders.0.instance.clone(),
        strategies: orders
            .0
            .verifiers
            .iter()
            .map(|(strategy, verifier)| (strategy.id(), verifier.trust().method()))
            .collect(),
        keys: Keys {
            kids: orders.0.published.kids(),
            fetches: orders.0.published.fetches(),
        },
    })
}
