//! The shapes the browser and the JSON API see, shared by server and client.

use crate::json_text::JsonText;
use serde::{Deserialize, Serialize};
use session_strategies::Strategy;

/// A catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price_cents: i64,
    /// Path of the thumbnail under the site root.
    pub image: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartItemView {
    pub product_id: i64,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartView {
    pub items: Vec<CartItemView>,
    pub count: i64,
    pub total_cents: i64,
}

/// The current session, as every session route of the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub strategy: String,
    pub user: Option<UserView>,
    pub cart: CartView,
    /// RFC 3339, or null while nothing is stored.
    pub expires_at: Option<String>,
    pub credential: Option<String>,
    /// The query parameter that carries `credential`, when it travels in URLs (signed-url):
    /// then every link must carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_param: Option<String>,
    /// A new refresh token (JWT, API clients only): present right after login or a refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Bytes of session credential the client sends with every request.
    #[serde(default)]
    pub client_bytes: usize,
    /// `session_expired` or `session_invalid` when the request's session could not be used.
    pub notice: Option<String>,
    /// The instance that answered (behind a load balancer, any of them).
    #[serde(default)]
    pub instance: String,
}

impl SessionView {
    /// The credential as every URL must carry it, when it travels in URLs.
    pub fn url_credential(&self) -> Option<session_strategies::UrlCredential> {
        Some(session_strategies::UrlCredential {
            param: self.url_param.clone()?,
            value: self.credential.clone()?,
        })
    }
}

/// One credential the client sends for its session (`GET /inspect`'s `client`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClientArtifactView {
    pub transport: String,
    pub name: String,
    pub bytes: usize,
    /// The first and last characters only: an HttpOnly credential never reaches a page whole.
    pub preview: String,
    /// The attributes the server set a cookie with; none for headers and URLs.
    pub flags: Option<String>,
    /// A JWT's header and claims, never its signature.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub decoded: Option<JsonText>,
}

/// The server's copy of the session (`GET /inspect`'s `server`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServerCopyView {
    pub store: String,
    pub key: String,
    pub ttl_seconds: i64,
    /// Where and at what revision, in the store's own terms (Memcached: the node and the CAS
    /// token), where they say more than the store's name.
    pub detail: Option<String>,
    pub bytes: usize,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub value: JsonText,
}

/// One step the session layer took (`GET /inspect`'s `trace[].steps`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceStepView {
    pub operation: String,
    pub outcome: String,
    pub micros: f64,
}

/// What the session layer did for one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestTraceView {
    pub request: String,
    pub strategy: String,
    pub at_ms: i64,
    pub steps: Vec<TraceStepView>,
    pub session_micros: f64,
    /// The instance that served the request.
    #[serde(default)]
    pub instance: String,
}

/// Where the session lives right now, and which instance answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InspectionView {
    pub strategy: String,
    pub client: Vec<ClientArtifactView>,
    pub server: Option<ServerCopyView>,
    pub instance: String,
    /// The session's last requests, oldest first, ending with the one that inspected it.
    #[serde(default)]
    pub trace: Vec<RequestTraceView>,
    /// Unix seconds on the server when inspected: the countdowns start from here.
    pub inspected_at: i64,
}

/// One strategy's row on `/compare`, every figure measured by saving the current session with
/// that strategy's backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompareRow {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: Strategy,
    pub name: String,
    pub state_location: String,
    /// Bytes the client sends with each request for the current cart; `None` when unavailable.
    pub client_bytes: Option<usize>,
    /// Bytes stored on the server (the value as JSON); 0 when nothing is stored.
    pub server_bytes: Option<usize>,
    /// Bytes of credentials the response to a cart change sets on the client.
    pub change_bytes: Option<usize>,
    /// Tokens the server signs for a cart change.
    pub change_signatures: Option<usize>,
    pub survives_restart: bool,
    pub shared_across_instances: bool,
    pub revocable: String,
    pub without_cookies: String,
    /// What becomes of two changes made at once (two tabs).
    pub concurrent_writes: String,
    /// How a second service (orders) checks its sessions, and what it needs: `method: needs`.
    pub second_service: String,
    /// How soon that service refuses a session logged out at the shop, `verdict: why`.
    pub learns_of_logout: String,
    /// Where the size stops, measured, as `verdict: why`: the cart lines that fit in a
    /// 4096-byte cookie.
    pub size_limit: String,
    /// Why the strategy cannot be measured right now (Redis down).
    pub unavailable: Option<String>,
}

/// Credential size against cart lines for one strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SizeSeries {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: Strategy,
    pub name: String,
    /// `[lines, bytes, refused]`: the cart's lines, the credential's bytes, and whether the
    /// backend refused to store it (a cookie over its limit).
    #[cfg_attr(feature = "ssr", schema(schema_with = size_points))]
    pub points: Vec<(usize, usize, bool)>,
}

/// The schema of [`SizeSeries::points`]: an array of `[integer, integer, boolean]` triples.
#[cfg(feature = "ssr")]
fn size_points() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, Object, Type};
    let point = ArrayBuilder::new()
        .prefix_items([
            Object::with_type(Type::Integer),
            Object::with_type(Type::Integer),
            Object::with_type(Type::Boolean),
        ])
        .items(ArrayItems::False)
        .min_items(Some(3))
        .max_items(Some(3));
    ArrayBuilder::new().items(point).build()
}

/// Everything `/compare` shows before a latency run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompareView {
    /// Lines in the current cart, which the table's figures are for.
    pub cart_lines: usize,
    pub cookie_limit: usize,
    pub rows: Vec<CompareRow>,
    pub series: Vec<SizeSeries>,
}

/// Round trips per strategy in a latency run: enough for a stable p95, short enough to watch.
pub const LATENCY_ROUNDS: usize = 40;

/// One strategy's measured load and save latency, in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LatencyView {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: Strategy,
    pub name: String,
    pub rounds: usize,
    pub load_median: f64,
    pub load_p95: f64,
    pub save_median: f64,
    pub save_p95: f64,
    /// Why it could not be measured.
    pub unavailable: Option<String>,
}

/// A strategy as `GET /strategies` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StrategyInfo {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub state_location: String,
    pub survives_restart: bool,
    pub shared_across_instances: bool,
    pub revocable: String,
    /// The server keeps a copy, written with compare-and-set: concurrent changes all land.
    /// Without one the client holds the session and the last response wins.
    pub server_copy: bool,
    /// Where the client carries the session's credentials, the one that names it first.
    pub credentials: Vec<CarrierView>,
    /// The file the strategy's guide points a reader to.
    pub guide_source: String,
    pub available: bool,
    /// How the orders service checks its sessions: `local signature`, `shared key`, `store
    /// read`, `introspection call`, or `refused` (it cannot).
    pub second_service: String,
}

/// One place a credential travels: a cookie, the `Authorization` header, a URL parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CarrierView {
    /// `cookie`, `header` or `url`.
    pub transport: String,
    /// The cookie's or the parameter's name, or `Authorization`.
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderItemView {
    pub product_id: i64,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_id: i64,
    /// RFC 3339.
    pub created_at: String,
    pub total_cents: i64,
    pub items: Vec<OrderItemView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutView {
    pub order_id: i64,
    pub total_cents: i64,
    pub session: SessionView,
    /// The orders service that placed the order; `None` where the shop placed it itself
    /// (`ORDERS_URL=off`, and tests that run the shop alone in one process).
    pub orders_service: Option<ServedBy>,
}

/// An order the orders service placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlacedOrder {
    pub order_id: i64,
    pub total_cents: i64,
}

/// Which instance of the orders service answered, and how it checked the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServedBy {
    /// `orders-1`.
    pub instance: String,
    /// `local signature`, `store read`, `shared key`, `introspection call`.
    pub verified: String,
    /// How long the check took there, in microseconds.
    pub micros: u64,
}

/// How long a logout at the shop took to reach the orders service, for one strategy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutReach {
    pub strategy: String,
    /// From the end of the logout to the orders service's first refusal.
    pub micros: Option<u64>,
    /// Why there is no figure (the orders service cannot check the strategy's sessions).
    pub note: Option<String>,
}

/// The Orders page: the user's orders, and which orders service listed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersView {
    pub orders: Vec<OrderView>,
    pub served_by: Option<ServedBy>,
}

/// A message the shop "sent", as the demo outbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    pub id: i64,
    /// The username it was sent to.
    pub recipient: String,
    pub subject: String,
    /// The path the message links to.
    pub link: String,
    /// RFC 3339.
    pub sent_at: String,
}

/// One of the signed-in user's sessions, whatever strategy keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionListing {
    /// The login's handle: names the session without opening it.
    pub id: String,
    pub strategy: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; noted at most once a minute.
    pub last_seen: String,
    /// The instance that saw it last.
    pub instance: String,
    /// The browser it was signed in from, as its user agent describes itself.
    pub browser: String,
    /// The session this request belongs to.
    pub current: bool,
}

/// The signed-in user's sessions, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionsView {
    pub sessions: Vec<SessionListing>,
}

/// The `/cluster` page: the processes of a cluster run, the visitor's balancing mode, and what
/// the last demo action did to each strategy's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// `round-robin` or `sticky`: the visitor's `lb_mode` cookie.
    pub mode: String,
    /// The instance that answered this request.
    pub served_by: String,
    pub load_balancer: ClusterProcess,
    /// The two Redis nodes, each with its role now (`primary` or `replica`).
    pub redis: Vec<ClusterProcess>,
    /// The orders service's instances.
    pub orders: Vec<ClusterProcess>,
    /// The three Sentinels that watch the primary and promote the replica.
    pub sentinels: Vec<ClusterProcess>,
    /// The last kill of the primary, as measured: which node the Sentinels promoted, and after
    /// how long.
    pub failover: Option<String>,
    /// The two Memcached nodes the instances spread the `memcached` strategy's sessions over.
    pub memcached: Vec<ClusterProcess>,
    pub instances: Vec<ClusterProcess>,
    /// Whether this visitor may use the demo controls (only from this machine).
    pub controls: bool,
    /// What the action just taken did, per strategy.
    pub outcome: Option<ClusterOutcome>,
    /// `session_invalid` when the action just taken lost the visitor's session (a Memcached
    /// eviction, a Redis flush): where its strategy kept it, it is gone.
    pub notice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterProcess {
    pub name: String,
    pub port: u16,
    /// `up`, `stopped` or `down`.
    pub state: String,
    /// How many of this session's recent requests (the inspector's trace) it served.
    #[serde(default)]
    pub served: usize,
    /// A Redis node's role: `primary` or `replica`.
    #[serde(default)]
    pub role: Option<String>,
    /// A replica's distance behind its primary, in bytes of the replication stream.
    #[serde(default)]
    pub lag_bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOutcome {
    /// What was done, in words.
    pub action: String,
    /// Strategy id and what its sessions did, and why.
    pub strategies: Vec<(String, String)>,
}
