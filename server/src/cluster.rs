//! `server cluster`: the app as a horizontally scaled service on one machine. It starts Redis
//! (a primary and a replica, append-only files on, behind three Sentinels: `cluster/redis.rs`),
//! two small Memcached nodes, N instances of this very binary (`app-1`…, one key ring, one
//! database), two of the orders service (`orders-1`, `orders-2`: `server orders`, which HAProxy
//! sends `/api/v1/orders` to) and HAProxy in front of them, then supervises them: a small control API on
//! loopback stops and starts an instance (a real process exit, its memory gone), restarts them
//! all, restarts or flushes Redis, kills its primary (`SIGKILL`) and starts it again, stops and
//! starts a Memcached node, restarts Memcached and fills it until it evicts.
//! `scripts/run.sh cluster` runs it; the instances' `/cluster` page and the cluster tests
//! drive it.
//!
//! Settings, from the environment: `CLUSTER_PORT` (the load balancer, 3000),
//! `CLUSTER_INSTANCES` (3), `CLUSTER_BASE_PORT` (first instance, 3101; the orders service's
//! two 10 and 11 above it), `CLUSTER_CONTROL_PORT`
//! (3099), `CLUSTER_STATS_PORT` (HAProxy's stats page, 3098), `CLUSTER_REDIS_PORT` (the first
//! Redis node, 6389; the second 10000 above it, the Sentinels 20000, 20010 and 20020 above),
//! `CLUSTER_REDIS_MIN_REPLICAS` (the instances' `REDIS_MIN_REPLICAS`, 1),
//! `CLUSTER_MEMCACHED_PORT` (the first node, 11301; the second on the next port),
//! `CLUSTER_DIR` (logs, Redis' files, `target/cluster`), `CLUSTER_CONTROL_SECRET` (random per
//! run). Everything else (`DATABASE_URL`, `LEPTOS_*`, …) passes through to the instances.

pub mod control;
pub mod haproxy;
pub mod memcached;
pub mod processes;
pub mod redis;

use processes::{Managed, ProcessError};
use std::{path::PathBuf, sync::Arc};
use tokio::sync::Mutex;

/// What the cluster run's Redis may hold at most.
pub const REDIS_MAXMEMORY: &str = "256mb";
/// Memcached nodes, on consecutive ports: two, so that losing one loses about half.
const MEMCACHED_NODES: u16 = 2;

/// Why the cluster could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{name} must be {expected}, not {value:?}")]
    Setting {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("could not prepare {path}: {source}")]
    Files {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("the control API could not listen on 127.0.0.1:{port}: {source}")]
    Control { port: u16, source: std::io::Error },
}

/// Ports and places of one cluster run.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    pub port: u16,
    pub instances: u16,
    pub base_port: u16,
    pub control_port: u16,
    pub stats_port: u16,
    /// The first Redis node's; the second and the Sentinels are above it ([`Self::redis_ports`]).
    pub redis_port: u16,
    /// Replicas that must hold a session write before an instance acknowledges it.
    pub redis_min_replicas: u8,
    /// The first Memcached node's; the second listens on the next port.
    pub memcached_port: u16,
    pub dir: PathBuf,
    /// What every caller of the control API must show (`CLUSTER_CONTROL_SECRET`, random per
    /// run unless set): only the instances this run starts are told it.
    pub control_secret: String,
}

fn setting<T: std::str::FromStr>(
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ClusterError> {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().map_err(|_| ClusterError::Setting {
            name,
            expected,
            value,
        }),
        Err(_) => Ok(default),
    }
}

impl ClusterSettings {
    pub fn from_env() -> Result<Self, ClusterError> {
        let instances = setting("CLUSTER_INSTANCES", 3, "a number from 1 to 9")?;
        let redis_port: u16 = setting("CLUSTER_REDIS_PORT", 6389, "a port number up to 45000")?;
        let redis_min_replicas: u8 = setting("CLUSTER_REDIS_MIN_REPLICAS", 1, "0 or 1")?;
        if redis_port > 45_000 || redis_min_replicas > 1 {
            return Err(ClusterError::Setting {
                name: "CLUSTER_REDIS_PORT or CLUSTER_REDIS_MIN_REPLICAS",
                expected: "a port up to 45000 (the Sentinels listen 20020 above it); 0 or 1",
                value: format!("{redis_port}, {redis_min_replicas}"),
            });
        }
        if !(1..=9).contains(&instances) {
            return Err(ClusterError::Setting {
                name: "CLUSTER_INSTANCES",
                expected: "a number from 1 to 9",
                value: instances.to_string(),
            });
        }
        Ok(Self {
            port: setting("CLUSTER_PORT", 3000, "a port number")?,
            instances,
            base_port: setting("CLUSTER_BASE_PORT", 3101, "a port number")?,
            control_port: setting("CLUSTER_CONTROL_PORT", 3099, "a port number")?,
            stats_port: setting("CLUSTER_STATS_PORT", 3098, "a port number")?,
            redis_port,
            redis_min_replicas,
            memcached_port: setting("CLUSTER_MEMCACHED_PORT", 11301, "a port number")?,
            dir: std::env::var("CLUSTER_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from("target/cluster")),
            control_secret: std::env::var("CLUSTER_CONTROL_SECRET")
                .unwrap_or_else(|_| session_strategies::crypto::secrets::random_token()),
        })
    }
}

impl ClusterSettings {
    /// The two Redis nodes' ports: the first, and 10000 above it.
    pub fn redis_ports(&self) -> [u16; 2] {
        [self.redis_port, self.redis_port + 10_000]
    }

    /// The Sentinels' ports: 20000, 20010 and 20020 above the first Redis node's, apart enough
    /// that the test runs' clusters (each its own `CLUSTER_REDIS_PORT`) never meet.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        (0..redis::SENTINELS)
            .map(|index| self.redis_port + 20_000 + 10 * index)
            .collect()
    }
}

/// What the last kill of the Redis primary led to.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Failover {
    pub killed: String,
    /// The node the Sentinels promoted, if they did within [`FAILOVER_LIMIT`].
    pub promoted: Option<String>,
    /// From the kill to the Sentinels naming the new primary.
    pub after_ms: u64,
    /// From the kill to a running instance's health first saying `redis` is available again
    /// (its other clients may take up to two seconds more; cache-aside's sessions were served
    /// from SQL meanwhile).
    pub redis_back_after_ms: Option<u64>,
}

/// What HAProxy needs of `processes`.
fn upstreams(processes: &[Managed]) -> Vec<haproxy::Upstream<'_>> {
    processes
        .iter()
        .map(|process| haproxy::Upstream {
            name: &process.name,
            port: process.port,
        })
        .collect()
}

/// The orders service's instances in a cluster run.
const ORDERS_INSTANCES: u16 = 2;

/// How long a kill of the primary waits for the Sentinels to promote another.
pub const FAILOVER_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Everything the cluster run started.
pub struct Cluster {
    pub settings: ClusterSettings,
    pub instances: Vec<Managed>,
    /// The orders service's instances.
    pub orders: Vec<Managed>,
    /// Two nodes: the primary and its replica, whichever each is now.
    pub redis: Vec<Managed>,
    pub sentinels: Vec<Managed>,
    pub memcached: Vec<Managed>,
    pub balancer: Managed,
    pub last_failover: Option<Failover>,
}

/// The cluster, shared by the control API's requests.
pub type SharedCluster = Arc<Mutex<Cluster>>;

impl Cluster {
    fn prepare(mut settings: ClusterSettings) -> Result<Self, ClusterError> {
        let files = |path: &std::path::Path, source| ClusterError::Files {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&settings.dir).map_err(|error| files(&settings.dir, error))?;
        // Absolute: HAProxy reads a relative socket path as an address.
        settings.dir =
            std::fs::canonicalize(&settings.dir).map_err(|error| files(&settings.dir, error))?;
        let dir = &settings.dir;
        let program = std::env::current_exe().map_err(|error| files(dir, error))?;
        // One key ring for every instance: a cookie sealed by one must open on the others.
        let session_keys = std::env::var("SESSION_KEYS")
            .or_else(|_| std::env::var("SESSION_KEY"))
            .unwrap_or_else(|_| {
                hex::encode(session_strategies::crypto::secrets::random_bytes::<64>())
            });
        // The shop's token keys apart from the session keys, which the orders service holds too
        // (it opens cookies with them): it verifies tokens and cannot mint one.
        let jwt_keys = std::env::var("JWT_KEYS").unwrap_or_else(|_| {
            let kid = session_strategies::crypto::secrets::random_bytes::<4>();
            let secret = session_strategies::crypto::secrets::random_bytes::<32>();
            format!("run-{}:{}", hex::encode(kid), hex::encode(secret))
        });
        let secret = settings.control_secret.clone();
        let memcached: Vec<Managed> = (0..MEMCACHED_NODES)
            .map(|index| memcached::node(index + 1, settings.memcached_port + index, dir))
            .collect();
        let memcached_ports: Vec<u16> = memcached.iter().map(|node| node.port).collect();
        let instances: Vec<Managed> = (0..settings.instances)
            .map(|index| {
                let name = format!("app-{}", index + 1);
                let port = settings.base_port + index;
                Managed::new(&name, port, &program, dir.join(format!("{name}.log")))
                    .env("INSTANCE_ID", &name)
                    .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
                    .env("REDIS_URL", redis::url(&settings.sentinel_ports()))
                    .env(
                        "REDIS_MIN_REPLICAS",
                        settings.redis_min_replicas.to_string(),
                    )
                    .env("SESSION_KEYS", &session_keys)
                    .env("JWT_KEYS", &jwt_keys)
                    .env("MEMCACHED_URL", memcached::url(&memcached_ports))
                    .env(
                        "CLUSTER_CONTROL_URL",
                        format!("http://127.0.0.1:{}", settings.control_port),
                    )
                    .env("CLUSTER_CONTROL_SECRET", &secret)
                    .env("DATA_DIR", dir.join("data").display().to_string())
                    .env("TRACE_STORE", "redis")
                    // HAProxy overwrites X-Forwarded-For with the address it saw.
                    .env("BEHIND_PROXY", "true")
                    // Order calls go through HAProxy, which spreads them over the orders service.
                    .env("ORDERS_URL", format!("http://127.0.0.1:{}", settings.port))
            })
            .collect();
        let orders: Vec<Managed> = (0..ORDERS_INSTANCES)
            .map(|index| {
                let name = format!("orders-{}", index + 1);
                let port = settings.base_port + 10 + index;
                Managed::new(&name, port, &program, dir.join(format!("{name}.log")))
                    .args(["orders".to_owned()])
                    .env("INSTANCE_ID", &name)
                    .env("ORDERS_ADDR", format!("127.0.0.1:{port}"))
                    // The shop's keys and introspection, through HAProxy: any instance answers.
                    .env("SHOP_URL", format!("http://127.0.0.1:{}", settings.port))
                    .env("REDIS_URL", redis::url(&settings.sentinel_ports()))
                    .env("SESSION_KEYS", &session_keys)
                    .env("MEMCACHED_URL", memcached::url(&memcached_ports))
                    .env("DATA_DIR", dir.join("data").display().to_string())
                    .env("SERVER_THREADS", "1")
            })
            .collect();
        let primary = redis::remembered_primary(dir, &settings.redis_ports());
        let redis = settings
            .redis_ports()
            .into_iter()
            .zip(1..)
            .map(|(port, index)| redis::node(index, port, dir))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|error| files(dir, error))?;
        let sentinels = settings
            .sentinel_ports()
            .into_iter()
            .zip(1..)
            .map(|(port, index)| redis::sentinel(index, port, primary, dir))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|error| files(dir, error))?;
        let socket = dir.join("haproxy.sock");
        let config = haproxy::config(
            settings.port,
            settings.stats_port,
            &socket.display().to_string(),
            &upstreams(&instances),
            &upstreams(&orders),
        );
        let config_path = dir.join("haproxy.cfg");
        std::fs::write(&config_path, config).map_err(|error| files(&config_path, error))?;
        let balancer = Managed::new("haproxy", settings.port, "haproxy", dir.join("haproxy.log"))
            .args([
                "-db".to_owned(),
                "-f".to_owned(),
                config_path.display().to_string(),
            ]);
        Ok(Self {
            settings,
            instances,
            orders,
            redis,
            sentinels,
            memcached,
            balancer,
            last_failover: None,
        })
    }

    /// Starts Redis (the first node the primary, the second its replica, then the Sentinels),
    /// the instances one after another (the first creates the tables), the load balancer, then
    /// the orders service (which fetches the shop's keys through it).
    async fn start(&mut self) -> Result<(), ClusterError> {
        let ports = self.settings.redis_ports();
        let primary = redis::remembered_primary(&self.settings.dir, &ports);
        let mut ordered: Vec<&mut Managed> = self.redis.iter_mut().collect();
        ordered.sort_by_key(|node| node.port != primary);
        for node in ordered {
            progress(format!("starting {} on 127.0.0.1:{}", node.name, node.port));
            redis::start_node(node, Some(primary), &self.settings.dir).await?;
        }
        redis::remember_primary(&self.settings.dir, primary);
        let replica = ports
            .into_iter()
            .find(|port| *port != primary)
            .unwrap_or(primary);
        if !redis::until_replica_in_sync(replica).await {
            progress("the replica is not in sync yet: writes awaiting it answer 503".into());
        }
        for sentinel in &mut self.sentinels {
            progress(format!(
                "starting {} on 127.0.0.1:{}",
                sentinel.name, sentinel.port
            ));
            sentinel.start().await?;
        }
        if !redis::until_sentinels_agree(&self.settings.sentinel_ports()).await {
            progress("the Sentinels have not found each other yet: a failover may wait".into());
        }
        for node in &mut self.memcached {
            progress(format!("starting {} on 127.0.0.1:{}", node.name, node.port));
            node.start().await?;
        }
        for instance in &mut self.instances {
            progress(format!(
                "starting {} on 127.0.0.1:{}",
                instance.name, instance.port
            ));
            instance.start().await?;
        }
        progress(format!(
            "starting HAProxy on 127.0.0.1:{} (stats on 127.0.0.1:{})",
            self.balancer.port, self.settings.stats_port
        ));
        self.balancer.start().await?;
        for orders in &mut self.orders {
            progress(format!(
                "starting {} on 127.0.0.1:{}",
                orders.name, orders.port
            ));
            orders.start().await?;
        }
        Ok(())
    }

    async fn stop_all(&mut self) {
        self.balancer.stop().await;
        for instance in self.orders.iter_mut().chain(&mut self.instances) {
            instance.stop().await;
        }
        // The Sentinels first: none fails over while the nodes go.
        for process in self.sentinels.iter_mut().chain(&mut self.redis) {
            process.stop().await;
        }
        for node in &mut self.memcached {
            node.stop().await;
        }
    }

    /// The Redis node the Sentinels name the primary now.
    pub async fn redis_primary(&mut self) -> Option<&mut Managed> {
        let port = redis::primary_port(&self.settings.sentinel_ports()).await?;
        self.redis.iter_mut().find(|node| node.port == port)
    }

    pub fn redis_node(&mut self, name: &str) -> Option<&mut Managed> {
        self.redis.iter_mut().find(|node| node.name == name)
    }

    pub fn memcached_node(&mut self, name: &str) -> Option<&mut Managed> {
        self.memcached.iter_mut().find(|node| node.name == name)
    }

    pub fn memcached_ports(&self) -> Vec<u16> {
        self.memcached.iter().map(|node| node.port).collect()
    }

    /// An instance of the shop or of the orders service, by name.
    pub fn instance(&mut self, name: &str) -> Option<&mut Managed> {
        self.instances
            .iter_mut()
            .chain(&mut self.orders)
            .find(|instance| instance.name == name)
    }
}

fn progress(message: String) {
    println!("==> {message}");
}

/// Runs the cluster until Ctrl-C or `SIGTERM`, then stops everything it started.
pub async fn run() -> Result<(), ClusterError> {
    let settings = ClusterSettings::from_env()?;
    let control_port = settings.control_port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", control_port))
        .await
        .map_err(|source| ClusterError::Control {
            port: control_port,
            source,
        })?;
    let mut cluster = Cluster::prepare(settings)?;
    if let Err(error) = cluster.start().await {
        cluster.stop_all().await;
        return Err(error);
    }
    let port = cluster.settings.port;
    let stats = cluster.settings.stats_port;
    let cluster: SharedCluster = Arc::new(Mutex::new(cluster));
    progress(format!(
        "the cluster answers on http://127.0.0.1:{port} (HAProxy stats: http://127.0.0.1:{stats}/, \
         control API: http://127.0.0.1:{control_port}/); Ctrl-C stops it"
    ));
    let secret = cluster.lock().await.settings.control_secret.clone();
    let app = control::router(cluster.clone(), secret);
    let served = axum::serve(listener, app).with_graceful_shutdown(crate::shutdown::requested());
    if let Err(error) = served.await {
        tracing::error!(%error, "the control API stopped");
    }
    progress("stopping the cluster".into());
    cluster.lock().await.stop_all().await;
    Ok(())
}
