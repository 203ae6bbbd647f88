//! The cluster run as the `/cluster` page sees it: the supervisor's view of every process, the
//! visitor's balancing mode, and the demo actions, which only a visitor on this machine may
//! take. Outside the cluster run there is no supervisor, and no page.

use super::Shop;
use crate::{
    error::{AppError, ErrorCode},
    model::{ClusterOutcome, ClusterProcess, ClusterView},
};
use http::request::Parts;
use serde::Deserialize;
use session_strategies::{Session, Strategy};
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The header that carries the cluster run's secret to the supervisor's control API.
pub const SECRET_HEADER: &str = "x-cluster-secret";

/// The cookie HAProxy reads to pick the visitor's balancing mode.
pub const MODE_COOKIE: &str = "lb_mode";
pub const STICKY: &str = "sticky";
pub const ROUND_ROBIN: &str = "round-robin";

/// Restarting every instance waits for each to answer again.
const ACTION_LIMIT: Duration = Duration::from_secs(120);

/// A demo action on the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    Stop(&'a str),
    Start(&'a str),
    RestartAll,
    RestartRedis,
    FlushRedis,
    KillRedisPrimary,
    StartRedis(&'a str),
    StopMemcached(&'a str),
    StartMemcached(&'a str),
    RestartMemcached,
    FillMemcached,
}

impl<'a> Action<'a> {
    /// `stop:app-2`, `start:app-2` (or `orders-1`), `restart-all`, `restart-redis`, `flush-redis`,
    /// `kill-redis-primary`, `start:redis-1`, `stop:memcached-1`, `start:memcached-1`,
    /// `restart-memcached`, `fill-memcached`.
    pub fn parse(text: &'a str) -> Result<Self, AppError> {
        let numbered = |name: &'a str, prefix: &str| {
            let valid = name.strip_prefix(prefix).is_some_and(|number| {
                !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit())
            });
            valid.then_some(name)
        };
        let process = |name: &'a str, instance: fn(&'a str) -> Self, node: fn(&'a str) -> Self| {
            numbered(name, "app-")
                .or_else(|| numbered(name, "orders-"))
                .map(instance)
                .or_else(|| numbered(name, "memcached-").map(node))
        };
        match text.split_once(':') {
            Some(("stop", name)) => process(name, Self::Stop, Self::StopMemcached),
            Some(("start", name)) => process(name, Self::Start, Self::StartMemcached)
                .or_else(|| numbered(name, "redis-").map(Self::StartRedis)),
            None if text == "restart-all" => Some(Self::RestartAll),
            None if text == "restart-redis" => Some(Self::RestartRedis),
            None if text == "flush-redis" => Some(Self::FlushRedis),
            None if text == "kill-redis-primary" => Some(Self::KillRedisPrimary),
            None if text == "restart-memcached" => Some(Self::RestartMemcached),
            None if text == "fill-memcached" => Some(Self::FillMemcached),
            _ => None,
        }
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest, format!("no cluster action {text:?}")))
    }

    /// The supervisor's path, and the action in words. Stopping instances is deferred a moment
    /// (`after_ms`): the instance answering this very request may be one of them. A fill
    /// sizes its items on `victim`'s, the visitor's session under `memcached`, if there is one.
    fn request(self, victim: Option<&str>) -> (String, String) {
        match self {
            Self::Stop(name) => (
                format!("/instances/{name}/stop?after_ms=300"),
                format!("{name} stopped"),
            ),
            Self::Start(name) => (
                format!("/instances/{name}/start"),
                format!("{name} started"),
            ),
            Self::RestartAll => (
                "/restart-all?after_ms=300".into(),
                "every instance restarted".into(),
            ),
            Self::RestartRedis => ("/redis/restart".into(), "Redis restarted".into()),
            Self::FlushRedis => ("/redis/flush".into(), "Redis flushed".into()),
            Self::KillRedisPrimary => (
                "/redis/kill-primary".into(),
                "the Redis primary killed (SIGKILL)".into(),
            ),
            Self::StartRedis(name) => (
                format!("/redis/{name}/start"),
                format!("{name} started again, as a replica of the primary"),
            ),
            Self::StopMemcached(name) => {
                (format!("/memcached/{name}/stop"), format!("{name} stopped"))
            }
            Self::StartMemcached(name) => (
                format!("/memcached/{name}/start"),
                format!("{name} started again, empty"),
            ),
            Self::RestartMemcached => ("/memcached/restart".into(), "Memcached restarted".into()),
            Self::FillMemcached => (
                match victim {
                    Some(id) => format!("/memcached/fill?victim={id}"),
                    None => "/memcached/fill".into(),
                },
                "Memcached filled until it evicted".into(),
            ),
        }
    }

    fn outcome(self, action: String) -> ClusterOutcome {
        let strategies = Strategy::ALL
            .iter()
            .map(|strategy| {
                let cluster = strategy.meta().cluster;
                let said = match self {
                    Self::Stop(name) if name.starts_with("orders-") => {
                        "kept: the orders service keeps no session, and HAProxy sends order calls to its other instance"
                    }
                    Self::Stop(_) => cluster.instance_stop,
                    Self::Start(_) => {
                        "as before: a started instance begins with empty memory and joins in"
                    }
                    Self::RestartAll => cluster.restart_all,
                    Self::RestartRedis => cluster.redis_restart,
                    Self::FlushRedis => cluster.redis_flush,
                    Self::KillRedisPrimary => cluster.redis_primary_killed,
                    Self::StartRedis(_) => "as before: the node rejoins as a replica",
                    Self::StopMemcached(_) => cluster.memcached_node_stop,
                    Self::StartMemcached(_) => {
                        "as when it stopped: a Memcached node comes back empty"
                    }
                    Self::RestartMemcached => cluster.memcached_restart,
                    Self::FillMemcached => cluster.memcached_full,
                };
                (strategy.id().to_owned(), said.to_owned())
            })
            .collect();
        ClusterOutcome { action, strategies }
    }
}

/// What the supervisor says about its processes.
#[derive(Deserialize)]
struct SupervisorState {
    load_balancer: ClusterProcess,
    redis: Vec<ClusterProcess>,
    sentinels: Vec<ClusterProcess>,
    failover: Option<Failover>,
    memcached: Vec<ClusterProcess>,
    instances: Vec<ClusterProcess>,
    orders: Vec<ClusterProcess>,
}

/// The supervisor's measure of the last kill of the primary.
#[derive(Deserialize)]
struct Failover {
    killed: String,
    promoted: Option<String>,
    after_ms: u64,
    redis_back_after_ms: Option<u64>,
}

impl Failover {
    fn said(&self) -> String {
        match &self.promoted {
            Some(promoted) => {
                let back = match self.redis_back_after_ms {
                    Some(ms) => format!(
                        "; redis sessions answered 503 until about {ms} ms (cache-aside's came from \
                         SQL), and their writes do until a replica is back to confirm them"
                    ),
                    None => String::new(),
                };
                format!(
                    "{} was killed; the Sentinels promoted {promoted} {} ms later{back}",
                    self.killed, self.after_ms
                )
            }
            None => format!(
                "{} was killed; the Sentinels had promoted no replica {} ms later",
                self.killed, self.after_ms
            ),
        }
    }
}

fn supervisor(shop: &Shop) -> Result<&super::ClusterControl, AppError> {
    shop.cluster_control.as_ref().ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            "this is not a cluster run: start one with scripts/run.sh cluster",
        )
    })
}

/// The page's view: the processes, which of them served the session's recent requests, and
/// the visitor's mode (from `request`'s cookies).
pub async fn view(
    shop: &Shop,
    session: &Session,
    request: &Parts,
) -> Result<ClusterView, AppError> {
    let control = supervisor(shop)?;
    let mut state = call(control, "GET", "/state").await?;
    let recent = shop.registry.traces().recent(session.tracing().ring).await;
    for instance in &mut state.instances {
        instance.served = recent
            .iter()
            .filter(|request| request.instance == instance.name)
            .count();
    }
    Ok(cluster_view(shop, request, state, None))
}

/// Takes `action` (from this machine only) and says what it did to every strategy.
pub async fn act(
    shop: &Shop,
    session: &Session,
    request: &Parts,
    action: &str,
) -> Result<ClusterView, AppError> {
    let control = supervisor(shop)?;
    if !from_this_machine(request) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "the cluster controls answer only to a browser on this machine",
        ));
    }
    let action = Action::parse(action)?;
    // A fill watches the visitor's session if Memcached holds it. A session id is a URL-safe
    // token (tower-sessions' `Id`): it goes in the query as it is.
    let victim = session
        .key()
        .filter(|_| session.strategy() == Strategy::Memcached)
        .map(|key| key.0);
    let (path, done) = action.request(victim.as_deref());
    let state = call(control, "POST", &path).await?;
    let mut view = cluster_view(shop, request, state, Some(action.outcome(done)));
    if !still_held(shop, session).await {
        view.notice = Some("session_invalid".to_owned());
    }
    Ok(view)
}

/// Whether the visitor's session is still where its strategy keeps it: the action may just
/// have lost it (a Memcached eviction, a Redis flush), and the page says so at once.
async fn still_held(shop: &Shop, session: &Session) -> bool {
    let (Some(key), Ok(backend)) = (session.key(), shop.registry.get(session.strategy())) else {
        return true;
    };
    for attempt in 0..2 {
        match backend.stored(&key).await {
            Ok(session_strategies::Stored::Gone) => return false,
            Ok(_) => return true,
            // The store did not answer (a node still busy after the action, and left alone a
            // moment): once more, past that moment.
            Err(error) if attempt == 0 => {
                tracing::debug!(%error, "the session's store did not answer; asking again");
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            Err(_) => return true,
        }
    }
    true
}

fn cluster_view(
    shop: &Shop,
    request: &Parts,
    state: SupervisorState,
    outcome: Option<ClusterOutcome>,
) -> ClusterView {
    ClusterView {
        mode: mode_of(request).to_owned(),
        served_by: shop.instance.to_string(),
        load_balancer: state.load_balancer,
        redis: state.redis,
        sentinels: state.sentinels,
        failover: state.failover.as_ref().map(Failover::said),
        memcached: state.memcached,
        instances: state.instances,
        orders: state.orders,
        controls: from_this_machine(request),
        outcome,
        notice: None,
    }
}

/// The balancing mode the request's `lb_mode` cookie asks for.
pub fn mode_of(request: &Parts) -> &'static str {
    let sticky = request
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == MODE_COOKIE && value == STICKY);
    if sticky {
        STICKY
    } else {
        ROUND_ROBIN
    }
}

/// The `Set-Cookie` that picks `mode` for the visitor's next requests.
pub fn mode_cookie(mode: &str) -> Result<String, AppError> {
    match mode {
        STICKY => Ok(format!(
            "{MODE_COOKIE}={STICKY}; Path=/; SameSite=Lax; HttpOnly"
        )),
        ROUND_ROBIN => Ok(format!(
            "{MODE_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly"
        )),
        other => Err(AppError::new(
            ErrorCode::BadRequest,
            format!("no balancing mode {other:?}: round-robin or sticky"),
        )),
    }
}

/// Whether the visitor is on this machine ([`super::visitor::Visitor::on_this_machine`]).
fn from_this_machine(request: &Parts) -> bool {
    super::visitor::Visitor::of(request).on_this_machine
}

/// One request to the supervisor's control API, over plain HTTP/1.1 on loopback.
async fn call(
    control: &super::ClusterControl,
    method: &str,
    path: &str,
) -> Result<SupervisorState, AppError> {
    let address = &*control.address;
    let unavailable = |error: &dyn std::fmt::Display| {
        tracing::warn!(%error, "the cluster supervisor did not answer");
        AppError::new(
            ErrorCode::StrategyUnavailable,
            "the cluster supervisor did not answer",
        )
    };
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             {SECRET_HEADER}: {secret}\r\nContent-Length: 0\r\n\r\n",
            secret = control.secret
        );
        stream.write_all(request.as_bytes()).await?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    let reply = tokio::time::timeout(ACTION_LIMIT, exchange)
        .await
        .map_err(|error| unavailable(&error))?
        .map_err(|error| unavailable(&error))?;
    let text = String::from_utf8_lossy(&reply);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| unavailable(&"no header block"))?;
    if !head.starts_with("HTTP/1.1 200") {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|body| body["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| head.lines().next().unwrap_or_default().to_owned());
        return Err(AppError::new(ErrorCode::Internal, message));
    }
    serde_json::from_str(body).map_err(|error| unavailable(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_nothing_else_does() {
        assert_eq!(Action::parse("stop:app-2").unwrap(), Action::Stop("app-2"));
        assert_eq!(Action::parse("restart-all").unwrap(), Action::RestartAll);
        assert_eq!(
            Action::parse("stop:memcached-2").unwrap(),
            Action::StopMemcached("memcached-2")
        );
        assert_eq!(
            Action::parse("fill-memcached").unwrap(),
            Action::FillMemcached
        );
        assert_eq!(
            Action::parse("kill-redis-primary").unwrap(),
            Action::KillRedisPrimary
        );
        assert_eq!(
            Action::parse("start:redis-1").unwrap(),
            Action::StartRedis("redis-1")
        );
        for bad in [
            "stop:",
            "stop:app-",
            "stop:../x",
            "start:app-1/x",
            "reboot",
            "flush-redis:x",
            "stop:memcached-",
            "stop:redis",
            "stop:redis-1",
            "start:redis-",
            "kill-redis-primary:x",
        ] {
            assert!(Action::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_action_says_what_happened_to_every_strategy() {
        let outcome = Action::FlushRedis.outcome("Redis flushed".into());
        assert_eq!(outcome.strategies.len(), Strategy::ALL.len());
        assert!(outcome
            .strategies
            .iter()
            .any(|(id, said)| id == "redis" && said.starts_with("lost")));
    }
}
