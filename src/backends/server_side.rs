//! Session id in the `sid` cookie, state in a server store: the classic cookie session, and the
//! backend of the `memory`, `redis`, `memcached`, `sql` and `cache-aside` strategies.
//!
//! One backend serves every [`RecordStore`] (`crate::stores`), so those strategies differ only
//! in where the bytes go. The cost is a store round trip per request; the gain is a tiny cookie
//! and sessions that can be revoked at once (delete the record). The id is 128 random bits and
//! changes at login. [`SessionRecords`] is the part every id-based strategy shares (the
//! signed-URL strategy keeps its records the same way, its id travelling in the URL).

use crate::{
    session::{
        backend::{Loaded, Revision, Saved, ServerCopy, SessionBackend, SessionKey, Stored},
        data::{SessionData, FORMAT},
        error::{Availability, BackendError, LoadError, Unavailable},
        transport::{Carrier, ClientChange},
    },
    stores::{
        record::{owner_of_record, session_json, session_of_record, session_record},
        RecordStore,
    },
    strategy::Strategy,
};
use async_trait::async_trait;
use http::request::Parts;
use std::{str::FromStr, sync::Arc, time::Duration};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

/// The cookie that carries the session id.
pub const SID_COOKIE: &str = "sid";
const CARRIERS: &[Carrier] = &[Carrier::Cookie(SID_COOKIE)];

/// Session records in a tower-sessions store: the part every id-based strategy shares (the
/// `sid` cookie strategies here, and the signed-URL strategy, whose id travels in the URL).
/// Each strategy reads only the records it wrote: several share one store (the SQL table), and
/// an id one of them hands out must open nothing under another (`src/stores/record.rs`).
#[derive(Clone)]
pub struct SessionRecords {
    store: Arc<dyn RecordStore>,
    ttl: Duration,
    owner: Strategy,
}

fn unavailable(error: tower_sessions::session_store::Error) -> Unavailable {
    Unavailable::new(error)
}

/// The store id a [`SessionKey`] names, if it is one.
pub fn parse_key(key: &SessionKey) -> Option<Id> {
    Id::from_str(&key.0).ok()
}

impl SessionRecords {
    /// `owner`'s records in `store`; `ttl` is the idle timeout: every save pushes the expiry
    /// that far ahead.
    pub fn new(owner: Strategy, store: Arc<dyn RecordStore>, ttl: Duration) -> Self {
        Self { store, ttl, owner }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn record(&self, id: Id, data: &SessionData) -> Result<Record, BackendError> {
        session_record(id, data, OffsetDateTime::now_utc() + self.ttl, self.owner)
    }

    /// The session stored under `id`, and when it expires. Reading counts as activity: a
    /// record past half its idle timeout is pushed a full timeout ahead, and `true` says the
    /// client's credential must be renewed to match.
    pub async fn load(&self, id: Id) -> Result<(Loaded, bool), LoadError> {
        let mut record = self
            .store
            .load_session(&id)
            .await
            .map_err(|error| LoadError::Unavailable(unavailable(error)))?
            .filter(|record| self.owns(record.owner))
            .ok_or(LoadError::Unknown)?;
        if record.expiry_date <= OffsetDateTime::now_utc() {
            return Err(LoadError::Expired);
        }
        let data = record
            .data
            .take()
            .ok_or(LoadError::Invalid("undecodable session record"))?;
        if data.format != FORMAT {
            return Err(LoadError::Invalid("session record of another format"));
        }
        let now = OffsetDateTime::now_utc();
        let mut renew = record.expiry_date - now < self.ttl / 2;
        if renew {
            // The stored copy changes (or another write changed it): the revision read is old.
            record.revision = None;
            match self.extend(id).await {
                Some(expiry) => record.expiry_date = expiry,
                None => renew = false,
            }
        }
        Ok((
            Loaded {
                data,
                key: Some(SessionKey(id.to_string())),
                expires_at: record.expiry_date.unix_timestamp(),
                client: Vec::new(),
                revision: record.revision,
            },
            renew,
        ))
    }

    /// Pushes the expiry of the record under `id` a full idle timeout ahead, as a conditional
    /// write: a session deleted meanwhile stays deleted, and one written meanwhile is left as
    /// it is (that write extended it). The new expiry, if this wrote it.
    async fn extend(&self, id: Id) -> Option<OffsetDateTime> {
        let (mut record, revision) = match self.store.load_revision(&id).await {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "could not extend an active session");
                return None;
            }
        };
        record.expiry_date = OffsetDateTime::now_utc() + self.ttl;
        match self.store.replace(&record, &revision).await {
            Ok(true) => Some(record.expiry_date),
            Ok(false) => None,
            Err(error) => {
                tracing::warn!(%error, "could not extend an active session");
                None
            }
        }
    }

    /// The session stored under `key` now and its revision, from the source of truth, without
    /// counting as activity.
    pub async fn stored(&self, key: &SessionKey) -> Result<Stored, LoadError> {
        match parse_key(key) {
            Some(id) => self.current(id).await,
            None => Ok(Stored::Gone),
        }
    }

    async fn current(&self, id: Id) -> Result<Stored, LoadError> {
        let Some((record, revision)) = self
            .store
            .load_revision(&id)
            .await
            .map_err(|error| LoadError::Unavailable(unavailable(error)))?
        else {
            return Ok(Stored::Gone);
        };
        if record.expiry_date <= OffsetDateTime::now_utc() || !self.owns(owner_of_record(&record)) {
            return Ok(Stored::Gone);
        }
        Ok(session_of_record(&record)
            .filter(|data| data.format == FORMAT)
            .map_or(Stored::Gone, |data| Stored::Found(data, revision)))
    }

    /// Stores `data` over the copy under `key` that was at `revision`: nothing is written, and
    /// the answer is a conflict, if another write came first or the session was deleted. The
    /// client holds `credential(id, expires_at)` from now on.
    pub async fn replace(
        &self,
        data: &SessionData,
        key: &SessionKey,
        revision: &Revision,
        credential: impl FnOnce(Id, i64) -> ClientChange,
    ) -> Result<Saved, BackendError> {
        let id = parse_key(key).ok_or(BackendError::Conflict)?;
        let (id, expires_at) = self.replace_id(data, id, revision).await?;
        Ok(saved(id, expires_at, credential))
    }

    async fn replace_id(
        &self,
        data: &SessionData,
        id: Id,
        revision: &Revision,
    ) -> Result<(Id, i64), BackendError> {
        let record = self.record(id, data)?;
        let replaced = self
            .store
            .replace(&record, revision)
            .await
            .map_err(|error| BackendError::Unavailable(unavailable(error)))?;
        if !replaced {
            return Err(BackendError::Conflict);
        }
        Ok((record.id, record.expiry_date.unix_timestamp()))
    }

    /// Stores `data` under `key`, or under a fresh id when there is none or `rotate` asks for
    /// one (the old record is then deleted). The client holds `credential(id, expires_at)`
    /// from now on.
    pub async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
        credential: impl FnOnce(Id, i64) -> ClientChange,
    ) -> Result<Saved, BackendError> {
        let (id, expires_at) = self.save_id(data, key.and_then(parse_key), rotate).await?;
        Ok(saved(id, expires_at, credential))
    }

    async fn save_id(
        &self,
        data: &SessionData,
        existing: Option<Id>,
        rotate: bool,
    ) -> Result<(Id, i64), BackendError> {
        let record = match existing {
            Some(id) if !rotate => {
                // Over whatever is stored now, but never over nothing: a deleted session stays
                // deleted.
                let revision = match self.current(id).await {
                    Ok(Stored::Found(_, revision)) => revision,
                    Ok(_) => return Err(BackendError::Conflict),
                    Err(LoadError::Unavailable(unavailable)) => {
                        return Err(BackendError::Unavailable(unavailable))
                    }
                    Err(_) => return Err(BackendError::Conflict),
                };
                return self.replace_id(data, id, &revision).await;
            }
            _ => {
                // `create` picks a fresh id and guards against collisions.
                let mut record = self.record(Id::default(), data)?;
                self.store
                    .create(&mut record)
                    .await
                    .map_err(|error| BackendError::Unavailable(unavailable(error)))?;
                if let Some(old) = existing {
                    self.delete_id(old).await?;
                }
                record
            }
        };
        Ok((record.id, record.expiry_date.unix_timestamp()))
    }

    /// Whether a record of `owner` is this strategy's own: a record answers only the strategy
    /// that wrote it ([`crate::stores::record`] says why).
    fn owns(&self, owner: Option<Strategy>) -> bool {
        owner == Some(self.owner)
    }

    /// The stored record under `key` as the inspector shows it, labelled with `store`.
    pub async fn copy(&self, store: &str, key: &SessionKey) -> Option<ServerCopy> {
        let id = parse_key(key)?;
        let record = self.store.load(&id).await.ok()??;
        if !self.owns(owner_of_record(&record)) {
            return None;
        }
        let value = session_json(&record)?.clone();
        Some(ServerCopy {
            store: store.to_owned(),
            key: key.0.clone(),
            ttl_seconds: (record.expiry_date - OffsetDateTime::now_utc()).whole_seconds(),
            detail: self.store.describe_copy(&id).await,
            bytes: value.to_string().len(),
            value,
        })
    }

    /// Deletes the session under `key`, if there is one.
    pub async fn delete(&self, key: Option<&SessionKey>) -> Result<(), BackendError> {
        match key.and_then(parse_key) {
            Some(id) => self.delete_id(id).await,
            None => Ok(()),
        }
    }

    async fn delete_id(&self, id: Id) -> Result<(), BackendError> {
        self.store
            .delete(&id)
            .await
            .map_err(|error| BackendError::Unavailable(unavailable(error)))
    }
}

/// What a save answers: the session's key, and the credential the client holds from now on.
fn saved(id: Id, expires_at: i64, credential: impl FnOnce(Id, i64) -> ClientChange) -> Saved {
    Saved {
        key: Some(SessionKey(id.to_string())),
        client: vec![credential(id, expires_at)],
        expires_at,
    }
}

/// A server-side session store behind the `sid` cookie.
pub struct StoreBackend {
    strategy: Strategy,
    records: SessionRecords,
    availability: Option<Arc<dyn Availability>>,
    describe: Option<StoreDescription>,
    in_process: bool,
}

/// Says where the store keeps sessions right now (a cache may be down), for the inspector.
pub type StoreDescription = Arc<dyn Fn() -> String + Send + Sync>;

impl StoreBackend {
    /// `ttl` is the idle timeout: every save pushes the expiry that far ahead.
    pub fn new(strategy: Strategy, store: Arc<dyn RecordStore>, ttl: Duration) -> Self {
        Self {
            strategy,
            records: SessionRecords::new(strategy, store, ttl),
            availability: None,
            describe: None,
            in_process: false,
        }
    }

    /// The store lives in this process only: ids it does not know may be another instance's.
    pub fn in_process(mut self) -> Self {
        self.in_process = true;
        self
    }

    /// Replaces the strategy's fixed description of its store with a live one.
    pub fn with_description(mut self, describe: StoreDescription) -> Self {
        self.describe = Some(describe);
        self
    }

    fn sid_cookie(&self, id: Id) -> ClientChange {
        ClientChange::SetCookie {
            name: SID_COOKIE,
            value: id.to_string(),
            max_age: self.records.ttl(),
        }
    }

    /// Checks `availability` before every request so that a store that is down answers
    /// `strategy_unavailable` at once instead of after a timeout.
    pub fn with_availability(mut self, availability: Arc<dyn Availability>) -> Self {
        self.availability = Some(availability);
        self
    }
}

#[async_trait]
impl SessionBackend for StoreBackend {
    fn strategy(&self) -> Strategy {
        self.strategy
    }

    fn carriers(&self) -> &'static [Carrier] {
        CARRIERS
    }

    fn keeps_state_in_process(&self) -> bool {
        self.in_process
    }

    async fn availability(&self) -> Result<(), Unavailable> {
        match &self.availability {
            Some(availability) => availability.check().await,
            None => Ok(()),
        }
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        match &self.availability {
            Some(availability) => availability.probe().await,
            None => Ok(()),
        }
    }

    async fn stored(&self, key: &SessionKey) -> Result<Stored, LoadError> {
        self.records.stored(key).await
    }

    async fn server_copy(&self, key: &SessionKey) -> Option<ServerCopy> {
        let store = match &self.describe {
            Some(describe) => describe(),
            None => self.strategy.meta().state_location.to_owned(),
        };
        self.records.copy(&store, key).await
    }

    async fn load(&self, request: &Parts) -> Result<Option<Loaded>, LoadError> {
        let Some(raw) = CARRIERS[0].peek(request) else {
            return Ok(None);
        };
        let id = Id::from_str(&raw).map_err(|_| LoadError::Invalid("malformed session id"))?;
        let (mut loaded, renewed) = self.records.load(id).await?;
        if renewed {
            loaded.client.push(self.sid_cookie(id));
        }
        Ok(Some(loaded))
    }

    async fn save(
        &self,
        data: &SessionData,
        key: Option<&SessionKey>,
        rotate: bool,
    ) -> Result<Saved, BackendError> {
        let sid = |id, _| self.sid_cookie(id);
        self.records.save(data, key, rotate, sid).await
    }

    async fn replace(
        &self,
        data: &SessionData,
        key: &SessionKey,
        revision: &Revision,
    ) -> Result<Saved, BackendError> {
        let sid = |id, _| self.sid_cookie(id);
        self.records.replace(data, key, revision, sid).await
    }

    async fn destroy(&self, key: Option<&SessionKey>) -> Result<Vec<ClientChange>, BackendError> {
        self.records.delete(key).await?;
        Ok(vec![ClientChange::RemoveCookie { name: SID_COOKIE }])
    }
}
