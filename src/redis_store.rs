//! The connection to Redis, shared by the `redis` strategy, cache-aside's cache and the JWT
//! denylist. It never blocks start-up: the app starts with Redis down, commands fail fast
//! (half a second) while it is away, and the client reconnects in the background.

use crate::{
    backend::{Availability, Unavailable},
    record_store::{record_from_msgpack, RecordStore, Revision, StoredSession},
};
use async_trait::async_trait;
use std::{sync::Arc, time::Duration};
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

/// A Redis client that reconnects by itself.
#[derive(Clone, Debug)]
pub struct RedisConnection {
    client: Client,
    /// Behind an `Arc`: the connection is cloned with the shop's state on every request, and
    /// a `Config` holds strings.
    config: Arc<Config>,
}

impl RedisConnection {
    /// Starts connecting to `url` in the background; logical database `database` keeps the
    /// strategies' keys apart (the `redis` strategy and cache-aside's cache use different ones).
    pub fn start(url: &str, database: u8) -> Result<Self, String> {
        let mut config = Config::from_url(url).map_err(|error| error.to_string())?;
        config.fail_fast = false;
        config.database = Some(database);
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
        Ok(Self {
            client,
            config: Arc::new(config),
        })
    }

    /// A separate connection to the same Redis for pub/sub (a subscribed connection can do
    /// nothing else); it reconnects and resubscribes by itself.
    pub fn subscriber(
        &self,
    ) -> Result<tower_sessions_redis_store::fred::clients::SubscriberClient, String> {
        let mut config = Config::clone(&self.config);
        config.database = None;
        Builder::from_config(config)
            .set_policy(ReconnectPolicy::new_constant(0, 1000))
            .build_subscriber_client()
            .map_err(|error| error.to_string())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A session store over this connection, traced.
    pub fn session_store(&self) -> Arc<dyn RecordStore> {
        crate::traced_store::TracedStore::wrap(
            crate::traced_store::REDIS,
            Arc::new(RedisRecords {
                client: self.client.clone(),
                store: RedisStore::new(self.client.clone()),
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
        self.client.is_connected()
    }
}

/// Sessions in Redis, one key per session: tower-sessions' `RedisStore`, plus a conditional
/// replace that compares the stored bytes and sets the new ones in one Lua script (atomic on
/// the server, one round trip, and unlike `WATCH`/`MULTI` free of a dedicated connection).
#[derive(Debug)]
pub struct RedisRecords {
    client: Client,
    store: RedisStore<Client>,
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
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}

#[async_trait]
impl RecordStore for RedisRecords {
    /// One GET, as `load`, and the session decoded straight from the stored bytes.
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        let bytes: Option<Vec<u8>> = self.client.get(id_key(id)).await.map_err(redis_error)?;
        bytes
            .map(|bytes| Ok(StoredSession::from_msgpack(&bytes)?.at(Revision::new(bytes))))
            .transpose()
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let bytes: Option<Vec<u8>> = self.client.get(id_key(id)).await.map_err(redis_error)?;
        let Some(bytes) = bytes else {
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
            .client
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
        if self.client.is_connected() {
            Ok(())
        } else {
            Err(Unavailable::new(
                "Redis is not reachable; the client keeps reconnecting",
            ))
        }
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        self.check().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, self.client.ping::<String>(None)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "Redis does not answer a ping");
                Err(Unavailable::new("Redis does not answer"))
            }
            Err(_) => Err(Unavailable::new("Redis does not answer in time")),
        }
    }
}
