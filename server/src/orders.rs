//! The orders service (`server orders`): a second process with a job of its own in the shop,
//! the order history and placing orders, that trusts the sessions the shop creates the way a
//! real second service would. [`session_strategies::trust`] says how, per strategy: it holds
//! no signing key (the token strategies' public keys come from the shop's JWKS), reads the
//! stores without writing, and asks the shop about signed-URL tokens. It shares the shop's
//! database (the orders tables, and the catalogue for prices) and the revocation ledger.
//!
//! Every answer names the instance (`X-Instance`) and says how the session was checked and
//! how long that took (`Server-Timing: session;desc="store read";dur=0.41`).

use crate::{
    config::Config,
    http_client::HttpClient,
    startup::{self, backends, StartupError},
};
use app::{
    error::{AppError, ErrorCode},
    model::OrderView,
    shop::{catalog::Catalog, orders},
};
use async_trait::async_trait;
use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderName, HeaderValue},
    middleware::{from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use http_body_util::Full;
use serde::Serialize;
use session_strategies::{
    backends::signed_url,
    crypto::published_keys::{FetchKeys, PublishedKeys},
    session::layer::STRATEGY_COOKIE,
    strategy::Trust,
    trust::{self, Introspect, Refused, Verifier},
    SessionData, Strategy, STRATEGY_HEADER,
};
use sqlx::AnyPool;
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

/// Where the orders service listens unless `ORDERS_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3100";
/// How long the service waits for the shop's key set at start.
const KEYS_AT_START: Duration = Duration::from_secs(60);
/// A call to the shop gives up after this.
const SHOP_DEADLINE: Duration = Duration::from_secs(2);
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

/// Reads the configuration, connects, fetches the shop's keys and serves until told to stop.
pub async fn run() -> Result<(), StartupError> {
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
    let app = build(&config).await?;
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

/// The service's router, ready to serve: the shop must be up (its key set is fetched here).
pub async fn build(config: &Config) -> Result<Router, StartupError> {
    let pool = startup::connect(&config.database_url).await?;
    let catalog = Catalog::load(&pool).await?;
    let redis = backends::connect_redis(&config.redis_url, 0).await;
    let (ingredients, _mirror) = backends::shared_ingredients(config, &pool, redis).await?;
    let http = HttpClient::new(SHOP_DEADLINE);
    let published = fetch_keys_at_start(&http, &config.shop_url).await?;
    let shop: Arc<dyn Introspect> = Arc::new(ShopIntrospection {
        http,
        url: format!("{}/api/v1/introspect", config.shop_url),
        authorization: format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                crate::api::introspect::SERVICE_USER,
                config.service_secret
            ))
        ),
    });
    let verifiers = Strategy::ALL
        .into_iter()
        .filter_map(|strategy| {
            trust::build(strategy, &ingredients, &published, &shop).map(|v| (strategy, v))
        })
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
    Ok(Router::new()
        .route("/api/v1/orders", get(history).post(place))
        .route("/api/v1/orders/health", get(health))
        .fallback(|| async { AppError::not_found("no such route in the orders service") })
        .layer(from_fn_with_state(instance, name_instance))
        .with_state(orders))
}

/// Fetches the shop's key set, trying again while the shop starts.
async fn fetch_keys_at_start(
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
            Err(error) if started.elapsed() < KEYS_AT_START => {
                tracing::info!(%error, "waiting for the shop's key set");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => {
                return Err(StartupError::Strategy(
                    Strategy::Jwt,
                    format!("the shop's key set: {error}"),
                ))
            }
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
        let form = format!("token={token}&token_type_hint={strategy}");
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

/// `X-Instance` on every answer, as the shop's instances send it.
async fn name_instance(
    State(instance): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-instance", instance);
    response
}

/// A session checked: what it holds, how, and how long that took.
struct Checked {
    data: SessionData,
    trust: Trust,
    took: Duration,
}

impl Checked {
    /// `Server-Timing` and `X-Session-Verified` on `response`.
    fn stamp(&self, mut response: Response) -> Response {
        let method = self.trust.method();
        let timing = format!(
            "session;desc=\"{method}\";dur={:.3}",
            self.took.as_secs_f64() * 1000.0
        );
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&timing) {
            headers.insert("server-timing", value);
        }
        headers.insert(VERIFIED_HEADER, HeaderValue::from_static(method));
        response
    }
}

/// The strategy a request's session is kept with, as the shop tells: the header, else a
/// signed-URL token, else the shop's strategy cookie, else the shop's default.
fn strategy_of(request: &Parts, default: Strategy) -> Result<Strategy, AppError> {
    if let Some(header) = request.headers.get(STRATEGY_HEADER) {
        return header
            .to_str()
            .unwrap_or_default()
            .parse()
            .map_err(|error| AppError::bad_request(format!("{error}")));
    }
    if signed_url::CARRIERS[0].peek(request).is_some() {
        return Ok(Strategy::SignedUrl);
    }
    Ok(
        session_strategies::session::transport::request_cookie(request, STRATEGY_COOKIE)
            .and_then(|id| id.parse().ok())
            .unwrap_or(default),
    )
}

impl Orders {
    /// The logged-in session `request` carries, checked the way its strategy is trusted here.
    async fn check(&self, request: &Parts) -> Result<Checked, Response> {
        let strategy =
            strategy_of(request, self.0.default_strategy).map_err(IntoResponse::into_response)?;
        let verifier = self.0.verifiers.get(&strategy).ok_or_else(|| {
            AppError::new(
                ErrorCode::StrategyUnavailable,
                format!("the orders service cannot reach the {strategy} store"),
            )
            .into_response()
        })?;
        let started = Instant::now();
        let verified = verifier.verify(strategy, request).await;
        let checked = |data| Checked {
            data,
            trust: verifier.trust(),
            took: started.elapsed(),
        };
        let refused = |code, message: String| {
            let response = AppError::new(code, message).into_response();
            checked(SessionData::guest()).stamp(response)
        };
        match verified {
            Ok(data) if data.user.is_some() => Ok(checked(data)),
            Ok(_) => Err(refused(ErrorCode::Unauthenticated, "not logged in".into())),
            Err(Refused::Unavailable(reason)) => {
                Err(refused(ErrorCode::StrategyUnavailable, reason))
            }
            Err(refusal) => Err(refused(ErrorCode::Unauthenticated, refusal.to_string())),
        }
    }
}

/// `GET /api/v1/orders`: the logged-in user's orders, newest first.
async fn history(State(orders): State<Orders>, request: Parts) -> Response {
    let checked = match orders.check(&request).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let user_id = checked.data.user.as_ref().map_or(0, |user| user.id);
    let answer: Result<Json<Vec<OrderView>>, AppError> =
        orders::history(&orders.0.pool, user_id).await.map(Json);
    checked.stamp(answer.into_response())
}

/// What placing an order answers.
#[derive(Serialize)]
struct Placed {
    order_id: i64,
    total_cents: i64,
}

/// `POST /api/v1/orders`: an order of the session's cart, priced from the catalogue. The cart
/// stays as it is: emptying it is a change to the session, the shop's job.
async fn place(State(orders): State<Orders>, request: Parts) -> Response {
    let checked = match orders.check(&request).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let user_id = checked.data.user.as_ref().map_or(0, |user| user.id);
    let answer = orders::place(
        &orders.0.pool,
        &orders.0.catalog,
        user_id,
        &checked.data.cart,
    )
    .await
    .map(|(order_id, total_cents)| {
        Json(Placed {
            order_id,
            total_cents,
        })
    });
    checked.stamp(answer.into_response())
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
