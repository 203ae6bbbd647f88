//! Compare-and-set for session records: what makes a server-side session safe to write from
//! several instances at once.
//!
//! tower-sessions' `SessionStore::save` is an unconditional upsert, so two instances that each
//! load a cart, add a line and save it keep only the later line, and a save that was in flight
//! when the user logged out writes the session back. Every store here therefore also answers
//! with the *revision* it holds a record at, and replaces a record only if it still holds that
//! revision: the engine's own compare-and-set (a Lua script in Redis, `UPDATE … WHERE data = ?`
//! in SQL, a check under the lock in memory). A record that was deleted has no revision, so no
//! write can bring it back.

use crate::data::SessionData;
use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// The state a store held a record in when it was read: its stored bytes (Redis, SQL) or a
/// counter (memory). Opaque; only ever handed back to the store that issued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision(Vec<u8>);

impl Revision {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What a session read needs of a record: the session it holds (`None` if it does not decode)
/// and when it expires.
#[derive(Clone, Debug)]
pub struct StoredSession {
    pub data: Option<SessionData>,
    pub expiry_date: OffsetDateTime,
}

impl StoredSession {
    pub fn of(record: Record) -> Self {
        Self {
            data: crate::store::session_of_record(&record),
            expiry_date: record.expiry_date,
        }
    }
}

/// A session store with a conditional write.
#[async_trait]
pub trait RecordStore: SessionStore {
    /// The session under `id`, as a session read needs it. By default the record is loaded and
    /// decoded; a store that keeps its records in this process answers from a copy it decoded
    /// when the record was written, instead of copying the record's JSON tree and decoding that
    /// on every read (which was a tenth of a memory session read's CPU).
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        Ok(self.load(id).await?.map(StoredSession::of))
    }

    /// The record under `id` and its revision, read from the store's source of truth (never
    /// from a cache in front of it). Expired records may be returned: callers check the expiry.
    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>>;

    /// Writes `record` if the store still holds it at `revision`. `false`, with nothing
    /// written, when another write came first or the record was deleted.
    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool>;
}
