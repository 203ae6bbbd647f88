//! The supervisor's control API, on loopback only: the state of every process and the demo
//! actions. The instances' `/cluster` page calls it with the run's secret, which only they are
//! told. Loopback alone keeps out no web page the developer visits: a page can send requests to
//! `127.0.0.1` (a form, `fetch` in `no-cors` mode) and, re-pointing its own name there (DNS
//! rebinding), read the answers. So every request must carry the secret, come without an
//! `Origin` (a browser's cross-origin request always has one; the instances' calls have none)
//! and name a loopback `Host`.

use super::{processes, SharedCluster};
use app::shop::cluster::SECRET_HEADER;
use axum::{
    extract::{Path, Query, Request, State},
    http::{
        header::{HOST, ORIGIN},
        StatusCode,
    },
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What the cluster looks like now.
#[derive(Debug, Serialize)]
pub struct ClusterState {
    pub load_balancer: Process,
    /// HAProxy's own page: per instance, its checks, sessions and bytes.
    pub stats_url: String,
    /// The Redis nodes, each with its role now.
    pub redis: Vec<RedisNode>,
    pub sentinels: Vec<Process>,
    /// What the last kill of the primary led to, measured.
    pub failover: Option<super::Failover>,
    pub memcached: Vec<Process>,
    pub instances: Vec<Process>,
    /// The orders service's instances.
    pub orders: Vec<Process>,
}

/// A Redis node: its process, and its place in replication when it answers.
#[derive(Debug, Serialize)]
pub struct RedisNode {
    #[serde(flatten)]
    pub process: Process,
    #[serde(flatten)]
    pub replication: Option<super::redis::Replication>,
}

#[derive(Debug, Serialize)]
pub struct Process {
    pub name: String,
    pub port: u16,
    /// `up`, `stopped` (on request) or `down` (exited or not answering).
    pub state: &'static str,
}

/// Why an action failed.
#[derive(Debug, Serialize)]
struct Failure {
    error: String,
}

type Answer = Result<Json<ClusterState>, (StatusCode, Json<Failure>)>;

/// `?after_ms=300`: answer now and act that much later. An instance asked to stop itself (or
/// to restart every instance) through the page would otherwise die in the middle of the
/// request, and the visitor would get the load balancer's 502 instead of the answer.
#[derive(Debug, serde::Deserialize)]
pub struct Later {
    after_ms: Option<u64>,
}

impl Later {
    fn delay(&self) -> Option<std::time::Duration> {
        self.after_ms
            .map(|ms| std::time::Duration::from_millis(ms.min(5_000)))
    }
}

pub fn router(cluster: SharedCluster, secret: String) -> Router {
    Router::new()
        .route("/state", get(state))
        .route("/instances/{name}/stop", post(stop_instance))
        .route("/instances/{name}/start", post(start_instance))
        .route("/restart-all", post(restart_all))
        .route("/redis/restart", post(restart_redis))
        .route("/redis/flush", post(flush_redis))
        .route("/redis/kill-primary", post(kill_redis_primary))
        .route("/redis/{name}/start", post(start_redis))
        .route("/memcached/{name}/stop", post(stop_memcached))
        .route("/memcached/{name}/start", post(start_memcached))
        .route("/memcached/restart", post(restart_memcached))
        .route("/memcached/fill", post(fill_memcached))
        .with_state(cluster)
        .layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(secret),
            callers_of_this_run,
        ))
}

/// Lets through only the instances of this run: the secret, no `Origin`, a loopback `Host`.
async fn callers_of_this_run(
    State(secret): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host_ok = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(app::shop::visitor::is_loopback_host);
    if !host_ok || headers.contains_key(ORIGIN) {
        return failed(StatusCode::FORBIDDEN, "not a caller of this cluster run").into_response();
    }
    let shown = headers
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !bool::from(shown.ct_eq(secret.as_bytes())) {
        return failed(
            StatusCode::UNAUTHORIZED,
            "the run's secret is missing or wrong",
        )
        .into_response();
    }
    next.run(request).await
}

async fn process_state(process: &mut processes::Managed) -> Process {
    let state = if process.stopped {
        "stopped"
    } else if process.running() && processes::answers(process.port).await {
        "up"
    } else {
        "down"
    };
    Process {
        name: process.name.clone(),
        port: process.port,
        state,
    }
}

async fn snapshot(cluster: &SharedCluster) -> ClusterState {
    let mut cluster = cluster.lock().await;
    let mut instances = Vec::new();
    for instance in &mut cluster.instances {
        instances.push(process_state(instance).await);
    }
    let mut orders = Vec::new();
    for instance in &mut cluster.orders {
        orders.push(process_state(instance).await);
    }
    let mut memcached = Vec::new();
    for node in &mut cluster.memcached {
        memcached.push(process_state(node).await);
    }
    let replication = super::redis::replication(&cluster.settings.redis_ports()).await;
    let mut redis = Vec::new();
    for (node, replication) in cluster.redis.iter_mut().zip(replication) {
        let process = process_state(node).await;
        let replication = replication.filter(|_| process.state == "up");
        redis.push(RedisNode {
            process,
            replication,
        });
    }
    let mut sentinels = Vec::new();
    for sentinel in &mut cluster.sentinels {
        sentinels.push(process_state(sentinel).await);
    }
    ClusterState {
        load_balancer: process_state(&mut cluster.balancer).await,
        stats_url: format!("http://127.0.0.1:{}/", cluster.settings.stats_port),
        redis,
        sentinels,
        failover: cluster.last_failover.clone(),
        memcached,
        instances,
        orders,
    }
}

fn failed(status: StatusCode, error: impl std::fmt::Display) -> (StatusCode, Json<Failure>) {
    (
        status,
        Json(Failure {
            error: error.to_string(),
        }),
    )
}

async fn state(State(cluster): State<SharedCluster>) -> Json<ClusterState> {
    Json(snapshot(&cluster).await)
}

async fn stop_instance(
    State(cluster): State<SharedCluster>,
    Path(name): Path<String>,
    Query(later): Query<Later>,
) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let instance = guard
            .instance(&name)
            .ok_or_else(|| failed(StatusCode::NOT_FOUND, format!("no instance {name}")))?;
        instance.stopped = true;
        match later.delay() {
            None => instance.stop().await,
            Some(delay) => {
                let cluster = cluster.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let mut guard = cluster.lock().await;
                    if let Some(instance) = guard.instance(&name) {
                        // Unless it was started again meanwhile.
                        if instance.stopped {
                            instance.stop().await;
                        }
                    }
                });
            }
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

async fn start_instance(State(cluster): State<SharedCluster>, Path(name): Path<String>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let instance = guard
            .instance(&name)
            .ok_or_else(|| failed(StatusCode::NOT_FOUND, format!("no instance {name}")))?;
        instance
            .start()
            .await
            .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?;
    }
    Ok(Json(snapshot(&cluster).await))
}

/// Every instance ends, then every instance starts again: the memory strategy's sessions are
/// all gone, every shared store's are kept.
async fn restart_all(State(cluster): State<SharedCluster>, Query(later): Query<Later>) -> Answer {
    match later.delay() {
        None => restart_instances(&cluster)
            .await
            .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?,
        Some(delay) => {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Err(error) = restart_instances(&cluster).await {
                    tracing::error!(%error, "an instance did not come back");
                }
            });
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

async fn restart_instances(cluster: &SharedCluster) -> Result<(), processes::ProcessError> {
    let mut guard = cluster.lock().await;
    for instance in &mut guard.instances {
        instance.stop().await;
    }
    for instance in &mut guard.instances {
        instance.start().await?;
    }
    Ok(())
}

/// Each Redis node shuts down (writing its append-only file) and starts again from it: the
/// replica first, in sync again before the primary goes, so that whichever the Sentinels name
/// afterwards holds every write. The primary is usually back before they act.
async fn restart_redis(State(cluster): State<SharedCluster>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let sentinels = guard.settings.sentinel_ports();
        let dir = guard.settings.dir.clone();
        let primary = super::redis::primary_port(&sentinels)
            .await
            .ok_or_else(|| failed(StatusCode::BAD_GATEWAY, "the Sentinels name no primary"))?;
        let mut order: Vec<usize> = (0..guard.redis.len()).collect();
        order.sort_by_key(|index| guard.redis[*index].port == primary);
        for index in order {
            let node = &mut guard.redis[index];
            node.stop().await;
            super::redis::start_node(node, Some(primary), &dir)
                .await
                .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?;
            if node.port != primary {
                super::redis::until_replica_in_sync(node.port).await;
            }
        }
        // The primary's restart made the replica sync afresh: answered once it has, since a
        // write awaiting it would be refused before.
        let replicas: Vec<u16> = guard
            .redis
            .iter()
            .map(|node| node.port)
            .filter(|port| *port != primary)
            .collect();
        for port in replicas {
            super::redis::until_replica_in_sync(port).await;
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

/// Every key is deleted, on the primary (the replica follows it).
async fn flush_redis(State(cluster): State<SharedCluster>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let port = guard
            .redis_primary()
            .await
            .map(|node| node.port)
            .ok_or_else(|| failed(StatusCode::BAD_GATEWAY, "the Sentinels name no primary"))?;
        let reply = processes::redis_command(port, "FLUSHALL")
            .await
            .map_err(|error| failed(StatusCode::BAD_GATEWAY, error))?;
        if reply != "+OK" {
            return Err(failed(
                StatusCode::BAD_GATEWAY,
                format!("Redis answered {reply}"),
            ));
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

/// The primary ends at once (`SIGKILL`, as when its machine dies); the answer waits until the
/// Sentinels name another ([`super::FAILOVER_LIMIT`] at most), then until a running instance
/// says its `redis` strategy answers again (as long again at most), and says which node, and
/// after how long each.
async fn kill_redis_primary(State(cluster): State<SharedCluster>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let sentinels = guard.settings.sentinel_ports();
        let primary = super::redis::primary_port(&sentinels).await;
        let mut replica_up = false;
        for node in &mut guard.redis {
            replica_up |= Some(node.port) != primary && node.running();
        }
        if !replica_up {
            return Err(failed(
                StatusCode::CONFLICT,
                "no replica is up to take over: start the other node first",
            ));
        }
        let node = guard
            .redis
            .iter_mut()
            .find(|node| Some(node.port) == primary)
            .ok_or_else(|| failed(StatusCode::BAD_GATEWAY, "the Sentinels name no primary"))?;
        let (killed, killed_port) = (node.name.clone(), node.port);
        node.kill().await;
        let at = std::time::Instant::now();
        let mut promoted = None;
        while at.elapsed() < super::FAILOVER_LIMIT {
            match super::redis::primary_port(&sentinels).await {
                Some(port) if port != killed_port => {
                    promoted = Some(port);
                    break;
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        let after_ms = at.elapsed().as_millis() as u64;
        // Then until the instances have found the new primary, as a running one's health says.
        let mut redis_back_after_ms = None;
        let asked = guard
            .instances
            .iter_mut()
            .find_map(|instance| instance.running().then_some(instance.port));
        if let (Some(_), Some(instance)) = (promoted, asked) {
            while at.elapsed() < 2 * super::FAILOVER_LIMIT {
                if redis_available(instance).await {
                    redis_back_after_ms = Some(at.elapsed().as_millis() as u64);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        let promoted_name = promoted.and_then(|port| {
            let node = guard.redis.iter().find(|node| node.port == port)?;
            Some(node.name.clone())
        });
        if let Some(port) = promoted {
            super::redis::remember_primary(&guard.settings.dir, port);
        }
        guard.last_failover = Some(super::Failover {
            killed,
            promoted: promoted_name,
            after_ms,
            redis_back_after_ms,
        });
    }
    Ok(Json(snapshot(&cluster).await))
}

/// Whether the instance on `port` says (`GET /api/v1/health`) its `redis` strategy is available.
async fn redis_available(port: u16) -> bool {
    let asked = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!(
            "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await?;
        let mut reply = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    let Ok(Ok(reply)) = tokio::time::timeout(std::time::Duration::from_secs(1), asked).await else {
        return false;
    };
    let text = String::from_utf8_lossy(&reply);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|health| health["strategies"]["redis"] == "available")
}

/// A Redis node starts again, as a replica of the primary the Sentinels name: a killed primary
/// rejoins under the node promoted in its place.
async fn start_redis(State(cluster): State<SharedCluster>, Path(name): Path<String>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let primary = super::redis::primary_port(&guard.settings.sentinel_ports()).await;
        let dir = guard.settings.dir.clone();
        let node = guard
            .redis_node(&name)
            .ok_or_else(|| failed(StatusCode::NOT_FOUND, format!("no Redis node {name}")))?;
        if node.running() {
            return Err(failed(StatusCode::CONFLICT, format!("{name} runs already")));
        }
        super::redis::start_node(node, primary, &dir)
            .await
            .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?;
        if primary.is_some_and(|primary| primary != node.port) {
            super::redis::until_replica_in_sync(node.port).await;
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

/// One Memcached node stops: the sessions it held go with it.
async fn stop_memcached(State(cluster): State<SharedCluster>, Path(name): Path<String>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let node = guard
            .memcached_node(&name)
            .ok_or_else(|| failed(StatusCode::NOT_FOUND, format!("no Memcached node {name}")))?;
        node.stopped = true;
        node.stop().await;
    }
    Ok(Json(snapshot(&cluster).await))
}

/// The node starts again, empty.
async fn start_memcached(State(cluster): State<SharedCluster>, Path(name): Path<String>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        let node = guard
            .memcached_node(&name)
            .ok_or_else(|| failed(StatusCode::NOT_FOUND, format!("no Memcached node {name}")))?;
        node.start()
            .await
            .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?;
    }
    Ok(Json(snapshot(&cluster).await))
}

/// Every node stops and starts again: Memcached keeps nothing across a restart.
async fn restart_memcached(State(cluster): State<SharedCluster>) -> Answer {
    {
        let mut guard = cluster.lock().await;
        for node in &mut guard.memcached {
            node.stop().await;
            node.start()
                .await
                .map_err(|error| failed(StatusCode::INTERNAL_SERVER_ERROR, error))?;
        }
    }
    Ok(Json(snapshot(&cluster).await))
}

/// `?victim=<session id>`: fill items the size of that session's.
#[derive(Debug, serde::Deserialize)]
pub struct Fill {
    victim: Option<String>,
}

/// Fills every node until it evicts ([`super::memcached::fill`]). The victim becomes a
/// Memcached key: a session id's characters only, so that it cannot add a command.
async fn fill_memcached(State(cluster): State<SharedCluster>, Query(fill): Query<Fill>) -> Answer {
    let is_session_id = |id: &str| {
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    if !fill.victim.as_deref().is_none_or(is_session_id) {
        return Err(failed(StatusCode::BAD_REQUEST, "victim is no session id"));
    }
    let ports = cluster.lock().await.memcached_ports();
    super::memcached::fill(&ports, fill.victim.as_deref())
        .await
        .map_err(|error| failed(StatusCode::BAD_GATEWAY, error))?;
    Ok(Json(snapshot(&cluster).await))
}
