//! The record every store here writes for a session: tower-sessions' `Record` with the session
//! as JSON under one field and the strategy that owns it under another, serialized as
//! MessagePack by the Redis and SQL stores (as tower-sessions' own stores do). The scale
//! benchmark's filler writes the same records.
//!
//! Why the owner: several strategies keep records in one store (`sql`, `cache-aside` and
//! `signed-url` share the SQL table), and their credentials name records the same way, by id.
//! A record opens only for the strategy that wrote it, so a credential of one strategy (a
//! signed URL token, whose id anyone holding the URL can read) is never a key of another's
//! (a `sid` cookie, checked by nothing but the store).

use crate::{
    session::{data::SessionData, error::BackendError},
    strategy::Strategy,
};
use serde::{de::IgnoredAny, Deserialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store,
};

/// The field of the record that holds the [`SessionData`].
const DATA_FIELD: &str = "session";
/// The field of the record that names the strategy it belongs to.
const OWNER_FIELD: &str = "strategy";

/// The record `owner` keeps for session `data` under `id`, expiring at `expiry_date`.
pub fn session_record(
    id: Id,
    data: &SessionData,
    expiry_date: OffsetDateTime,
    owner: Strategy,
) -> Result<Record, BackendError> {
    let encode = |error: serde_json::Error| BackendError::Encode(error.to_string());
    let value = serde_json::to_value(data).map_err(encode)?;
    let owner = serde_json::to_value(owner).map_err(encode)?;
    Ok(Record {
        id,
        data: HashMap::from([
            (DATA_FIELD.to_owned(), value),
            (OWNER_FIELD.to_owned(), owner),
        ]),
        expiry_date,
    })
}

/// The strategy a record belongs to, if it names one.
pub fn owner_of_record(record: &Record) -> Option<Strategy> {
    Strategy::deserialize(record.data.get(OWNER_FIELD)?).ok()
}

/// The session a record holds (the one field [`session_record`] writes), if it decodes.
pub fn session_of_record(record: &Record) -> Option<SessionData> {
    SessionData::deserialize(record.data.get(DATA_FIELD)?).ok()
}

/// The stored session's JSON, as the inspector shows it.
pub fn session_json(record: &Record) -> Option<&serde_json::Value> {
    record.data.get(DATA_FIELD)
}

/// A whole record from its MessagePack bytes.
pub fn from_msgpack(bytes: &[u8]) -> session_store::Result<Record> {
    rmp_serde::from_slice(bytes).map_err(|error| session_store::Error::Decode(error.to_string()))
}

/// The session, expiry and owner of a record's MessagePack bytes, decoded in one pass: decoding
/// the whole record builds a JSON tree of its data (a map of `serde_json::Value`s) that is then
/// decoded again into a [`SessionData`], a sixth of a Redis or cache-aside read. `None` where
/// the bytes do not fit that shape (the caller then takes the general way).
pub fn session_from_msgpack(
    bytes: &[u8],
) -> Option<(SessionData, OffsetDateTime, Option<Strategy>)> {
    let direct = rmp_serde::from_slice::<RecordSession>(bytes).ok()?;
    Some((
        direct.data.session,
        direct.expiry_date,
        direct.data.strategy,
    ))
}

/// What a session read needs of a serialized `Record`. Fields in `Record`'s order: MessagePack
/// writes a struct as an array.
#[derive(Deserialize)]
struct RecordSession {
    #[serde(rename = "id")]
    _id: IgnoredAny,
    data: SessionField,
    expiry_date: OffsetDateTime,
}

/// A record's data map, of which a read needs the session ([`DATA_FIELD`]) and its owner
/// ([`OWNER_FIELD`]); other fields are skipped. serde wants the fields' names as literals, so it
/// repeats them; the tests below decode a record [`session_record`] wrote.
#[derive(Deserialize)]
struct SessionField {
    session: SessionData,
    #[serde(default)]
    strategy: Option<Strategy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        session::data::{ProductId, Quantity, SessionUser},
        stores::StoredSession,
    };

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
        session_record(Id::default(), &data, expiry, Strategy::Sql).unwrap()
    }

    #[test]
    fn a_stored_record_decodes_in_one_pass_to_what_the_general_way_gives() {
        let record = record();
        let bytes = rmp_serde::to_vec(&record).unwrap();
        // The one-pass shape itself must fit, or every read would quietly take the slow way.
        let (data, expiry, owner) = session_from_msgpack(&bytes).expect("the one-pass shape fits");
        let general = StoredSession::of(record.clone());
        assert!(general.data.is_some());
        assert_eq!(Some(data), general.data);
        assert_eq!(expiry, general.expiry_date);
        assert_eq!(owner, Some(Strategy::Sql));
        assert_eq!(general.owner, Some(Strategy::Sql));
        let read = StoredSession::from_msgpack(&bytes).unwrap();
        assert_eq!(read.data, general.data);
        assert_eq!(read.expiry_date, general.expiry_date);
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
