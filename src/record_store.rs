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
use serde::{de::IgnoredAny, Deserialize};
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
    /// The revision this copy was read at, as [`RecordStore::load_revision`] would give it,
    /// where the store knows it (from its source of truth, or from a cache holding the source's
    /// bytes): a write in the same request can try its compare-and-set on it before reading
    /// again. A stale one only fails that try.
    pub revision: Option<Revision>,
}

impl StoredSession {
    pub fn of(record: Record) -> Self {
        Self {
            data: crate::store::session_of_record(&record),
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
    /// Decoded in one pass into the session's own types ([`RecordSession`]); a record that
    /// does not fit that shape takes the general way (decode the `Record`, then its session),
    /// so the outcome is always that of [`Self::of`]: an error only where the record itself
    /// does not decode.
    pub fn from_msgpack(bytes: &[u8]) -> session_store::Result<Self> {
        match rmp_serde::from_slice::<RecordSession>(bytes) {
            Ok(direct) => Ok(direct.into()),
            Err(_) => record_from_msgpack(bytes).map(Self::of),
        }
    }
}

/// A record as tower-sessions' Redis and SQL stores serialize it (MessagePack).
pub fn record_from_msgpack(bytes: &[u8]) -> session_store::Result<Record> {
    rmp_serde::from_slice(bytes).map_err(|error| session_store::Error::Decode(error.to_string()))
}

/// What a session read needs of a serialized `Record`, decoded straight from its bytes:
/// decoding the whole record builds a JSON tree of its data (a map of `serde_json::Value`s)
/// that is then decoded again into a [`SessionData`], a sixth of a Redis or cache-aside read.
/// Fields in `Record`'s order: MessagePack writes a struct as an array.
#[derive(Deserialize)]
struct RecordSession {
    #[serde(rename = "id")]
    _id: IgnoredAny,
    data: SessionField,
    expiry_date: OffsetDateTime,
}

/// A record's data map, of which a read needs the one field the session is stored under
/// ([`crate::store::session_record`]); other fields are skipped. serde wants the field's name
/// as a literal, so it repeats the store's; the tests below decode a record that store wrote.
#[derive(Deserialize)]
struct SessionField {
    session: SessionData,
}

impl From<RecordSession> for StoredSession {
    fn from(direct: RecordSession) -> Self {
        Self {
            data: Some(direct.data.session),
            expiry_date: direct.expiry_date,
            revision: None,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ProductId, Quantity, SessionUser};
    use std::collections::HashMap;

    /// A logged-in session with two cart lines, as a store writes it.
    fn record() -> Record {
        let mut data = SessionData::guest();
        data.user = Some(SessionUser {
            id: 1,
            username: "alice".into(),
        });
        data.login = Some("handle".into());
        for (product, quantity) in [(1, 2), (3, 1)] {
            let quantity = Quantity::try_from(quantity).unwrap();
            data.add_item(ProductId(product), quantity).unwrap();
        }
        let expiry = OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap();
        crate::store::session_record(Id::default(), &data, expiry).unwrap()
    }

    fn same(read: StoredSession, record: &Record) {
        let general = StoredSession::of(record.clone());
        assert!(general.data.is_some());
        assert_eq!(read.data, general.data);
        assert_eq!(read.expiry_date, general.expiry_date);
    }

    #[test]
    fn a_stored_record_decodes_in_one_pass_to_what_the_general_way_gives() {
        let record = record();
        let bytes = rmp_serde::to_vec(&record).unwrap();
        // The one-pass shape itself must fit, or every read would quietly take the slow way.
        rmp_serde::from_slice::<RecordSession>(&bytes).unwrap();
        same(StoredSession::from_msgpack(&bytes).unwrap(), &record);
    }

    #[test]
    fn a_record_whose_session_does_not_decode_reads_as_no_session_until_it_expires() {
        let mut record = record();
        record.data = HashMap::from([("session".to_owned(), serde_json::json!({"v": "x"}))]);
        let read = StoredSession::from_msgpack(&rmp_serde::to_vec(&record).unwrap()).unwrap();
        assert_eq!(read.data, None);
        assert_eq!(read.expiry_date, record.expiry_date);
        // Bytes that are no record at all are an error, cache-aside's markers included.
        assert!(StoredSession::from_msgpack(b"\xc1garbage").is_err());
        assert!(StoredSession::from_msgpack(b"#changed").is_err());
        assert!(StoredSession::from_msgpack(b"#gone").is_err());
    }
}
