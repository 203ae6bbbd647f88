//! The connection to Redis, shared by the `redis` strategy, cache-aside's cache and the JWT
//! denylist. It never blocks start-up: the app starts with Redis down, commands fail fast
//! (half a second) while it is away, and the client reconnects in the background.
//!
//! One client per serving thread (its *lane*): the server runs a single-threaded runtime per
//! core (`server::serving`), and a client whose connection task lives on another thread costs
//! two cross-thread wake-ups per command (request to connection task, reply back), the largest
//! part of what a Redis read cost over a memory read. On its own thread the connection task
//! also runs after every request that is ready has queued its command, so one write carries
//! many commands and one read many replies: fewer system calls on both sides (README's
//! benchmark section has the figures).
//! Threads that are not serving threads (start-up, background tasks, tests) share the first
//! client.

use crate::{
    backend::{Availability, Unavailable},
    record_store::{record_from_msgpack, RecordStore, Revision, StoredSession},
};
use async_trait::async_trait;
use std::{
    cell::RefCell,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::{
    fred::{
        bytes::Bytes,
        interfaces::{ClientLike, KeysInterface, LuaInterface},
        prelude::{Builder, Client, Config, ReconnectPolicy},
        types::Value,
    },
    RedisStore,
};

/// How long a command may wait before Redis counts as unavailable.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

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
}

#[derive(Debug)]
struct Shared {
    config: Config,
    /// For every thread that is not a serving thread.
    first: Client,
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
        .set_policy(ReconnectPolicy::new_constant(0, 1000))
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
        let connection = RedisConnection { shared };
        if connection.open_lane() && connection.shared.first.is_connected() {
            connection.wait_until_connected(limit).await;
        }
    }
}

impl RedisConnection {
    /// Starts connecting to `url` in the background; logical database `database` keeps the
    /// strategies' keys apart (the `redis` strategy and cache-aside's cache use different ones).
    pub fn start(url: &str, database: u8) -> Result<Self, String> {
        let mut config = Config::from_url(url).map_err(|error| error.to_string())?;
        config.fail_fast = false;
        config.database = Some(database);
        let first = connect(&config)?;
        let shared = Arc::new(Shared { config, first });
        let mut started = STARTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        started.retain(|shared| shared.strong_count() > 0);
        started.push(Arc::downgrade(&shared));
        drop(started);
        let connection = Self { shared };
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

    /// A separate connection to the same Redis for pub/sub (a subscribed connection can do
    /// nothing else); it reconnects and resubscribes by itself.
    pub fn subscriber(
        &self,
    ) -> Result<tower_sessions_redis_store::fred::clients::SubscriberClient, String> {
        let mut config = self.shared.config.clone();
        config.database = None;
        Builder::from_config(config)
            .set_policy(ReconnectPolicy::new_constant(0, 1000))
            .build_subscriber_client()
            .map_err(|error| error.to_string())
    }

    /// This thread's client: its own on a serving thread, else the first. A clone of an
    /// `Arc`; the lookup is a pointer comparison per connection the thread has (two).
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

    /// A session store over this connection, traced.
    pub fn session_store(&self) -> Arc<dyn RecordStore> {
        crate::traced_store::TracedStore::wrap(
            crate::traced_store::REDIS,
            Arc::new(RedisRecords {
                redis: self.clone(),
            }),
        )
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

/// Sessions in Redis, one key per session: tower-sessions' `RedisStore`, plus a conditional
/// replace that compares the stored bytes and sets the new ones in one Lua script (atomic on
/// the server, one round trip, and unlike `WATCH`/`MULTI` free of a dedicated connection).
#[derive(Debug)]
pub struct RedisRecords {
    redis: RedisConnection,
}

impl RedisRecords {
    /// tower-sessions' store over this thread's client (a clone of an `Arc`).
    fn store(&self) -> RedisStore<Client> {
        RedisStore::new(self.redis.client())
    }

    /// Session `id`'s stored bytes, in one GET.
    async fn stored_bytes(&self, id: &Id) -> session_store::Result<Option<Vec<u8>>> {
        self.redis
            .client()
            .get(id_key(id))
            .await
            .map_err(redis_error)
    }
}

/// KEYS[1]: the session key; ARGV: the bytes read, the new bytes, the expiry (Unix seconds).
const REPLACE_IF_UNCHANGED: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
  return 1
end
return 0
";

fn redis_error(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for RedisRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store().create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store().save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.store().load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store().delete(id).await
    }
}

#[async_trait]
impl RecordStore for RedisRecords {
    /// One GET, as `load`, and the session decoded straight from the stored bytes.
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        self.stored_bytes(id)
            .await?
            .map(|bytes| Ok(StoredSession::from_msgpack(&bytes)?.at(Revision::new(bytes))))
            .transpose()
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let Some(bytes) = self.stored_bytes(id).await? else {
            return Ok(None);
        };
        let record = record_from_msgpack(&bytes)?;
        Ok(Some((record, Revision::new(bytes))))
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        let bytes = rmp_serde::to_vec(record)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        let args = vec![
            Value::Bytes(Bytes::copy_from_slice(revision.bytes())),
            Value::Bytes(Bytes::from(bytes)),
            Value::Integer(record.expiry_date.unix_timestamp()),
        ];
        let replaced: i64 = self
            .redis
            .client()
            .eval(REPLACE_IF_UNCHANGED, vec![id_key(&record.id)], args)
            .await
            .map_err(redis_error)?;
        Ok(replaced == 1)
    }
}

/// The key tower-sessions' `RedisStore` keeps a session under.
fn id_key(id: &Id) -> String {
    id.to_string()
}

#[async_trait]
impl Availability for RedisConnection {
    /// Cheap enough for every request: the client's own view of its connection, which it
    /// keeps current as it loses and regains Redis.
    async fn check(&self) -> Result<(), Unavailable> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(Unavailable::new(
                "Redis is not reachable; the client keeps reconnecting",
            ))
        }
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        self.check().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, self.client().ping::<String>(None)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "Redis does not answer a ping");
                Err(Unavailable::new("Redis does not answer"))
            }
            Err(_) => Err(Unavailable::new("Redis does not answer in time")),
        }
    }
}
