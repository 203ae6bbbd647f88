//! The `redis` strategy: the session id in the `sid` cookie, the session in Redis under that
//! id, expiring with the idle timeout (Redis' own `EXAT`), served by the server-side backend
//! (`src/backends/server_side.rs`).
//!
//! Every instance reads the same keys, so any instance serves any request, and a restart of
//! the app loses nothing; Redis itself keeps them across its own restarts with its append-only
//! file. A write is a compare-and-set on the stored bytes in one Lua script. What a stolen
//! `sid` gives: the session, from any instance, until logout deletes the key or it expires.

use super::{
    record,
    traced::{StoreVerbs, TracedStore},
    RecordStore, StoredSession,
};
use crate::{
    redis::{RedisConnection, COMMAND_TIMEOUT},
    session::{
        backend::Revision,
        error::{Availability, Unavailable},
    },
};
use async_trait::async_trait;
use std::sync::Arc;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::{
    fred::{
        bytes::Bytes,
        interfaces::{ClientLike, KeysInterface, LuaInterface},
        prelude::Client,
        types::Value,
    },
    RedisStore,
};

/// Sessions in Redis, one key per session: tower-sessions' `RedisStore`, plus a conditional
/// replace that compares the stored bytes and sets the new ones in one Lua script (atomic on
/// the server, one round trip, and unlike `WATCH`/`MULTI` free of a dedicated connection).
#[derive(Debug)]
pub struct RedisRecords {
    redis: RedisConnection,
    /// Where writes go: `redis` itself, or with `REDIS_MIN_REPLICAS` a connection of their own
    /// ([`RedisConnection::for_writes`]).
    writes: RedisConnection,
}

impl RedisRecords {
    /// Sessions over `redis`, each round trip traced.
    pub fn traced(redis: RedisConnection) -> Arc<dyn RecordStore> {
        let writes = redis.for_writes().unwrap_or_else(|error| {
            tracing::warn!(%error, "no connection of their own for session writes");
            redis.clone()
        });
        TracedStore::wrap(VERBS, Arc::new(Self { redis, writes }))
    }

    /// tower-sessions' store over this thread's client of `connection` (a clone of an `Arc`).
    fn store(connection: &RedisConnection) -> RedisStore<Client> {
        RedisStore::new(connection.client())
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

/// tower-sessions' Redis store: one key per session, expiring at the session's expiry.
pub const VERBS: StoreVerbs = StoreVerbs {
    name: "redis",
    create: "SET NX EXAT",
    save: "SET XX EXAT",
    load: "GET",
    delete: "DEL",
    replace: "EVAL (SET EXAT if GET still matches)",
};

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
        Self::store(&self.writes).create(record).await?;
        self.writes.replicated().await.map_err(redis_error)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        Self::store(&self.writes).save(record).await?;
        self.writes.replicated().await.map_err(redis_error)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Self::store(&self.redis).load(id).await
    }

    /// A logout: with `REDIS_MIN_REPLICAS`, not acknowledged until a replica has it too, so
    /// that a failover cannot bring the session back.
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        Self::store(&self.writes).delete(id).await?;
        self.writes.replicated().await.map_err(redis_error)
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
        let record = record::from_msgpack(&bytes)?;
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
            .writes
            .client()
            .eval(REPLACE_IF_UNCHANGED, vec![id_key(&record.id)], args)
            .await
            .map_err(redis_error)?;
        if replaced == 1 {
            self.writes.replicated().await.map_err(redis_error)?;
        }
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
