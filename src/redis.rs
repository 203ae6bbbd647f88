//! The connection to Redis, shared by the `redis` strategy, cache-aside's cache, the revocation
//! ledger's fast path, the shared traces and the login limits. It never blocks start-up: the
//! app starts with Redis down, commands fail fast ([`COMMAND_TIMEOUT`]) while it is away, and
//! the client reconnects in the background.
//!
//! Why one client per serving thread (its *lane*): the server runs a single-threaded runtime
//! per core, and a client whose connection task lives on another thread costs two cross-thread
//! wake-ups per command (request to connection task, reply back), the largest part of what a
//! Redis read cost over a memory read. On its own thread the connection task also runs after
//! every ready request has queued its command, so one write carries many commands and one read
//! many replies. The server calls [`open_lanes_on_this_thread`] as each serving thread starts
//! (`docs/PERFORMANCE.md` has the figures). Threads that are not serving threads (start-up,
//! background tasks, tests) share the first client.

use std::{
    cell::RefCell,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};
use tower_sessions_redis_store::fred::{
    error::{Error, ErrorKind},
    interfaces::{ClientLike, ServerInterface},
    prelude::{Builder, Client, Config, ReconnectPolicy},
    types::config::Options,
};

/// How long a command may wait before Redis counts as unavailable.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a write waits for its replicas (`REDIS_MIN_REPLICAS`). A replica answers within a
/// millisecond on an idle host, but a loaded one (the test command's) held replies past 250 ms
/// and writes answered `503`; the client's own limit on the `WAIT` is this plus
/// [`COMMAND_TIMEOUT`], so that Redis' answer, not the client's timeout, says how many.
pub const REPLICATION_WAIT: Duration = Duration::from_secs(1);

/// A serving thread's client of one connection.
type Lane = (Weak<Shared>, Client);

thread_local! {
    /// A serving thread's own clients, one per connection ([`open_lanes_on_this_thread`]):
    /// they live and die with the thread, whose runtime runs their connection tasks.
    static LANES: RefCell<Option<Vec<Lane>>> = const { RefCell::new(None) };
}

/// Every connection started in this process, so that a serving thread can open its lane of
/// each without knowing who holds them.
static STARTED: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// A Redis client that reconnects by itself, and one more per serving thread.
#[derive(Clone, Debug)]
pub struct RedisConnection {
    /// Behind an `Arc`: the connection is cloned with the shop's state on every request.
    shared: Arc<Shared>,
    /// Replicas that must hold a session write before it is acknowledged
    /// ([`Self::replicated`]).
    min_replicas: u8,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    /// For every thread that is not a serving thread.
    first: Client,
}

/// Reconnect for ever, 100 ms after losing Redis, then twice as long each time, at most two
/// seconds apart (fred spreads each delay by up to 100 ms), so that a Redis coming back is not
/// met by every client of every instance at once, nor left waiting long. The client does not
/// fail at its first attempt (`fail_fast` off: the app starts with Redis down), so its first
/// connection too waits the first delay: a constant second made every start-up (and every
/// serving thread's client) a second late.
fn reconnect_policy() -> ReconnectPolicy {
    ReconnectPolicy::new_exponential(0, 100, 2000, 2)
}

/// A client for `config` with the app's timeouts and reconnection policy, connecting (on the
/// calling runtime) in the background.
fn connect(config: &Config) -> Result<Client, String> {
    let client = Builder::from_config(config.clone())
        .with_performance_config(|performance| {
            performance.default_command_timeout = COMMAND_TIMEOUT;
        })
        .with_connection_config(|connection| {
            connection.connection_timeout = COMMAND_TIMEOUT;
            connection.internal_command_timeout = COMMAND_TIMEOUT;
            connection.max_command_attempts = 1;
        })
        .set_policy(reconnect_policy())
        .build()
        .map_err(|error| error.to_string())?;
    // The handle only ends when the client quits; reconnection happens inside.
    let _connection = client.connect();
    Ok(client)
}

/// Makes the calling thread a serving thread: every connection started in this process, and
/// every one started on this thread later, gives it a client of its own, connecting on its
/// runtime (which must outlive the thread's use of them). Waits up to `limit` for those
/// clients to connect; with Redis down they keep trying in the background and report
/// unavailable meanwhile, as the first client does.
pub async fn open_lanes_on_this_thread(limit: Duration) {
    LANES.with_borrow_mut(|lanes| {
        lanes.get_or_insert_with(Vec::new);
    });
    let started: Vec<Arc<Shared>> = STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for shared in started {
        let connection = RedisConnection {
            shared,
            min_replicas: 0,
        };
        if connection.open_lane() {
            connection.until_lane_connected(limit).await;
        }
    }
}

impl RedisConnection {
    /// Starts connecting to `url` in the background: `redis://` one server, `redis-sentinel://`
    /// the primary the Sentinels name (asked again after a failover), `redis-cluster://` a
    /// Redis Cluster (fred's URL forms, `docs/CONFIGURATION.md`). The app's keys share one
    /// database, as a cluster has only database 0: a `redis` session under its bare id (which
    /// never holds a colon), everything else under a prefix (`cache:`, `revoked:`,
    /// `attempts:`, `trace:`). Every script touches one key, so none needs a hash tag.
    pub fn start(url: &str) -> Result<Self, String> {
        let mut config = Config::from_url(url).map_err(|error| error.to_string())?;
        config.fail_fast = false;
        Self::start_with(config)
    }

    fn start_with(config: Config) -> Result<Self, String> {
        let first = connect(&config)?;
        let shared = Arc::new(Shared { config, first });
        let mut started = STARTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        started.retain(|shared| shared.strong_count() > 0);
        started.push(Arc::downgrade(&shared));
        drop(started);
        let connection = Self {
            shared,
            min_replicas: 0,
        };
        // Started on a serving thread (none is today): that thread's lane too.
        connection.open_lane();
        Ok(connection)
    }

    /// On a serving thread without a client of this connection, gives it one; false
    /// elsewhere, or if it had one already (or none could be made: it then uses the first).
    fn open_lane(&self) -> bool {
        LANES.with_borrow_mut(|lanes| {
            let Some(lanes) = lanes else {
                return false;
            };
            if lanes
                .iter()
                .any(|(of, _)| of.as_ptr() == Arc::as_ptr(&self.shared))
            {
                return false;
            }
            lanes.retain(|(of, _)| of.strong_count() > 0);
            match connect(&self.shared.config) {
                Ok(client) => {
                    lanes.push((Arc::downgrade(&self.shared), client));
                    true
                }
                Err(error) => {
                    tracing::warn!(%error, "could not open a Redis client for a serving thread");
                    false
                }
            }
        })
    }

    /// Session writes acknowledged only once `replicas` replicas hold them
    /// (`REDIS_MIN_REPLICAS`; [`Self::replicated`]).
    pub fn with_min_replicas(mut self, replicas: u8) -> Self {
        self.min_replicas = replicas;
        self
    }

    /// The connection for session writes: with [`Self::with_min_replicas`] set, one of its own
    /// (and a lane of its own on every serving thread), since `WAIT` holds its connection until
    /// the replicas answer (up to [`REPLICATION_WAIT`] while one is down) and every other
    /// command of the thread would queue behind it on a shared one; else this connection.
    pub fn for_writes(&self) -> Result<Self, String> {
        if self.min_replicas == 0 {
            return Ok(self.clone());
        }
        Ok(Self::start_with(self.shared.config.clone())?.with_min_replicas(self.min_replicas))
    }

    /// After a write on this thread's client: with [`Self::with_min_replicas`] set, waits
    /// (Redis' `WAIT`, on the same connection, so it covers that write) until that many
    /// replicas hold every write the connection made, at most [`REPLICATION_WAIT`]. Fewer is an
    /// error: a primary that dies now could take the write with it, so it is not acknowledged.
    /// Why `WAIT` and not the primary's `min-replicas-to-write`: that one checks replicas are
    /// connected before a write, not that they received it. (On a Redis Cluster, where a
    /// keyless command may go to any node, it is not used: `docs/CONFIGURATION.md`.)
    pub async fn replicated(&self) -> Result<(), Error> {
        if self.min_replicas == 0 {
            return Ok(());
        }
        let wanted = i64::from(self.min_replicas);
        let timeout = REPLICATION_WAIT.as_millis() as i64;
        let options = Options {
            timeout: Some(REPLICATION_WAIT + COMMAND_TIMEOUT),
            ..Options::default()
        };
        let acknowledged: i64 = self
            .client()
            .with_options(&options)
            .wait(wanted, timeout)
            .await?;
        if acknowledged < wanted {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("{acknowledged} of {wanted} replicas acknowledged the write"),
            ));
        }
        Ok(())
    }

    /// A separate connection to the same Redis for pub/sub (a subscribed connection can do
    /// nothing else); it reconnects and resubscribes by itself.
    pub fn subscriber(
        &self,
    ) -> Result<tower_sessions_redis_store::fred::clients::SubscriberClient, String> {
        let mut config = self.shared.config.clone();
        config.database = None;
        Builder::from_config(config)
            .set_policy(reconnect_policy())
            .build_subscriber_client()
            .map_err(|error| error.to_string())
    }

    /// This thread's client: its own on a serving thread, else the first. A clone of an
    /// `Arc`; the lookup is a pointer comparison per connection the thread has (a few).
    pub fn client(&self) -> Client {
        self.with_client(Client::clone)
    }

    /// `use_client` on this thread's client, without cloning it.
    fn with_client<T>(&self, use_client: impl FnOnce(&Client) -> T) -> T {
        LANES.with_borrow(|lanes| {
            let own = lanes.as_ref().and_then(|lanes| {
                lanes
                    .iter()
                    .find(|(of, _)| of.as_ptr() == Arc::as_ptr(&self.shared))
            });
            use_client(own.map_or(&self.shared.first, |(_, client)| client))
        })
    }

    /// Waits up to `limit` for this thread's lane to connect, but only while the first client
    /// stays connected: with Redis down (or gone down meanwhile, a primary killed) there is
    /// nothing to wait for, and the lane keeps trying in the background.
    async fn until_lane_connected(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_connected()
            && self.shared.first.is_connected()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits up to `limit` for the first connection; false if Redis did not answer.
    pub async fn wait_until_connected(&self, limit: std::time::Duration) -> bool {
        // Polled: `wait_for_connect` can miss a connection made just before it is called.
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    pub fn is_connected(&self) -> bool {
        self.with_client(Client::is_connected)
    }
}
