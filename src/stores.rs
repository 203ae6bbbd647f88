//! Record stores for the strategies that keep the session on the server, one file each, and
//! what makes them safe to write from several instances at once.
//!
//! tower-sessions' `SessionStore::save` is an unconditional upsert, so two instances that each
//! load a cart, add a line and save it keep only the later line, and a save that was in flight
//! when the user logged out writes the session back. Every store here therefore also answers
//! with the [`Revision`] it holds a record at, and replaces a record only if it still holds that
//! revision: the engine's own compare-and-set (each store's module says which). A record that was deleted has no revision, so no
//! write can bring it back.
//!
//! [`record`] is the format every store writes; [`traced`] wraps a store so that each round
//! trip lands in the request's trace; [`sweep`] deletes expired records in the background.

pub mod cache_aside;
pub mod memcached;
pub mod memory;
pub mod record;
pub mod redis;
pub mod sql;
pub mod sweep;
pub mod traced;

use crate::{
    session::{backend::Revision, data::SessionData},
    strategy::Strategy,
};
use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// What a session read needs of a record: the session it holds (`None` if it does not decode)
/// and when it expires.
#[derive(Clone, Debug)]
pub struct StoredSession {
    pub data: Option<SessionData>,
    pub expiry_date: OffsetDateTime,
    /// The strategy whose record it is (`record` says why it matters).
    pub owner: Option<Strategy>,
    /// The revision this copy was read at, as [`RecordStore::load_revision`] would give it,
    /// where the store knows it (from its source of truth, or from a cache holding the source's
    /// bytes): a write in the same request can try its compare-and-set on it before reading
    /// again. A stale one only fails that try.
    pub revision: Option<Revision>,
}

impl StoredSession {
    pub fn of(record: Record) -> Self {
        Self {
            data: record::session_of_record(&record),
            owner: record::owner_of_record(&record),
            expiry_date: record.expiry_date,
            revision: None,
        }
    }

    /// This copy, read at `revision`.
    pub fn at(self, revision: Revision) -> Self {
        Self {
            revision: Some(revision),
            ..self
        }
    }

    /// The session in a record serialized as MessagePack, as the Redis and SQL stores keep it.
    /// Decoded in one pass into the session's own types ([`record::session_from_msgpack`]); a record that
    /// does not fit that shape takes the general way (decode the `Record`, then its session),
    /// so the outcome is always that of [`Self::of`]: an error only where the record itself
    /// does not decode.
    pub fn from_msgpack(bytes: &[u8]) -> session_store::Result<Self> {
        match record::session_from_msgpack(bytes) {
            Some((data, expiry_date, owner)) => Ok(Self {
                data: Some(data),
                expiry_date,
                owner,
                revision: None,
            }),
            None => record::from_msgpack(bytes).map(Self::of),
        }
    }
}

/// A session store with a conditional write.
#[async_trait]
pub trait RecordStore: SessionStore {
    /// The session under `id`, as a session read needs it. By default the record is loaded and
    /// decoded. The memory store answers from a copy it decoded when the record was written,
    /// instead of copying the record's JSON tree and decoding that on every read (a tenth of a
    /// memory read's CPU); the Redis, SQL and cache-aside stores decode the stored bytes
    /// straight into the session ([`StoredSession::from_msgpack`]).
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        Ok(self.load(id).await?.map(StoredSession::of))
    }

    /// The record under `id` and its revision, read from the store's source of truth (never
    /// from a cache in front of it). Expired records may be returned: callers check the expiry.
    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>>;

    /// Writes `record` if the store still holds it at `revision`. `false`, with nothing
    /// written, when another write came first or the record was deleted.
    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool>;

    /// Where the record under `id` is held and at what revision, in the store's own terms
    /// where they say more than its name (Memcached: the node and the CAS token), for the
    /// inspector.
    async fn describe_copy(&self, _id: &Id) -> Option<String> {
        None
    }
}
