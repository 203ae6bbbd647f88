//! The `memory` strategy: the session id in the `sid` cookie, the session in a map in this
//! process's memory, served by the server-side backend (`src/backends/server_side.rs`).
//!
//! Nothing to run and nothing faster, but the sessions are gone with the process and invisible
//! to every other instance (which is what the strategy is here to show: behind a load balancer
//! it needs sticky sessions). A stolen `sid` gives the session on this instance only, until
//! logout deletes it or it expires. Unlike tower-sessions' `MemoryStore` it forgets expired
//! sessions on its own: a sweeper removes them every [`SWEEP_PERIOD`](super::sweep::SWEEP_PERIOD),
//! so an abandoned session costs memory for at most its idle timeout and a minute.

use super::{
    record::{owner_of_record, session_of_record},
    sweep,
    traced::StoreVerbs,
    RecordStore, StoredSession,
};
use crate::{
    session::{backend::Revision, data::SessionData},
    strategy::Strategy,
};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};

/// Records by id, shared by every request of this process, at most `capacity` of them.
#[derive(Clone, Debug)]
pub struct MemoryRecords {
    records: Arc<Mutex<Records>>,
    capacity: usize,
}

/// As many sessions as a test or tool would ever hold.
impl Default for MemoryRecords {
    fn default() -> Self {
        Self::with_capacity(usize::MAX)
    }
}

/// Each record with the revision it is at: a process-wide counter, so a record deleted and
/// saved again under its id never matches a revision read before.
#[derive(Debug, Default)]
struct Records {
    by_id: HashMap<Id, Entry>,
    last_revision: u64,
}

#[derive(Debug)]
struct Entry {
    record: Record,
    revision: u64,
    /// The record's session, decoded once when it was written: reads outnumber writes, and a
    /// read then copies a few strings instead of the record's JSON tree.
    session: Option<SessionData>,
    owner: Option<Strategy>,
}

impl Records {
    fn put(&mut self, record: Record) {
        self.last_revision += 1;
        let entry = Entry {
            session: session_of_record(&record),
            owner: owner_of_record(&record),
            revision: self.last_revision,
            record,
        };
        self.by_id.insert(entry.record.id, entry);
    }
}

/// tower-sessions' in-process map, as this store keeps it.
pub const VERBS: StoreVerbs = StoreVerbs {
    name: "memory",
    create: "insert",
    save: "insert",
    load: "get",
    delete: "remove",
    replace: "insert if revision matches",
};

fn revision(counter: u64) -> Revision {
    Revision::new(counter.to_le_bytes().to_vec())
}

impl MemoryRecords {
    /// A store that holds at most `capacity` records: anyone can make a session (a request
    /// with a cart line is enough), and a process's memory is not a place to grow without
    /// bound. Past it, new sessions are refused (`503`) until the sweep frees expired ones,
    /// never older ones dropped. A write to an existing session is always taken.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            records: Arc::default(),
            capacity,
        }
    }

    /// [`Self::with_capacity`], its expired records swept in the background.
    pub fn swept(capacity: usize) -> Self {
        let store = Self::with_capacity(capacity);
        sweep::sweep_expired("memory", store.clone(), sweep::SWEEP_PERIOD);
        store
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many records the process holds, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for MemoryRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut records = self.lock();
        // Refused at once: a scan for expired records here would make every refused request
        // hold the lock over the whole store, which is the sweep's job.
        if records.by_id.len() >= self.capacity {
            return Err(session_store::Error::Backend(format!(
                "the memory store is full ({} sessions)",
                self.capacity
            )));
        }
        while records.by_id.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.put(record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.lock().put(record.clone());
        Ok(())
    }

    /// An expired record still loads until it is swept, so the session layer can tell the
    /// visitor it expired rather than that it never existed.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.lock().by_id.get(id).map(|entry| entry.record.clone()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().by_id.remove(id);
        Ok(())
    }
}

#[async_trait]
impl RecordStore for MemoryRecords {
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        Ok(self.lock().by_id.get(id).map(|entry| StoredSession {
            data: entry.session.clone(),
            owner: entry.owner,
            expiry_date: entry.record.expiry_date,
            revision: Some(revision(entry.revision)),
        }))
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        Ok(self
            .lock()
            .by_id
            .get(id)
            .map(|entry| (entry.record.clone(), revision(entry.revision))))
    }

    async fn replace(&self, record: &Record, expected: &Revision) -> session_store::Result<bool> {
        let mut records = self.lock();
        let current = records
            .by_id
            .get(&record.id)
            .map(|entry| revision(entry.revision));
        if current.as_ref() != Some(expected) {
            return Ok(false);
        }
        records.put(record.clone());
        Ok(true)
    }
}

#[async_trait]
impl ExpiredDeletion for MemoryRecords {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc();
        self.lock()
            .by_id
            .retain(|_, entry| entry.record.expiry_date > now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::record::session_record;

    fn record(expiry_date: OffsetDateTime) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date,
        }
    }

    #[tokio::test]
    async fn the_sweep_forgets_expired_sessions_and_keeps_live_ones() {
        let store = MemoryRecords::default();
        let mut expired = record(OffsetDateTime::now_utc() - time::Duration::seconds(1));
        let mut live = record(OffsetDateTime::now_utc() + time::Duration::minutes(5));
        store.create(&mut expired).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert_eq!(store.len(), 2);
        store.delete_expired().await.unwrap();
        assert_eq!(store.len(), 1);
        assert!(store.load(&expired.id).await.unwrap().is_none());
        assert!(store.load(&live.id).await.unwrap().is_some());
    }

    fn later() -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::minutes(5)
    }

    /// A read answers from the copy decoded at write time: it must follow every write, a
    /// compare-and-set included, and disappear with the record.
    #[tokio::test]
    async fn a_read_sees_the_session_as_last_written() {
        let store = MemoryRecords::default();
        let first = SessionData::guest();
        let mut record = session_record(Id::default(), &first, later(), Strategy::Memory).unwrap();
        store.create(&mut record).await.unwrap();
        let read = store.load_session(&record.id).await.unwrap().unwrap();
        assert_eq!(read.data, Some(first.clone()));
        assert_eq!(read.expiry_date, record.expiry_date);

        let (_, revision) = store.load_revision(&record.id).await.unwrap().unwrap();
        let mut second = first.clone();
        second.revision += 1;
        second.login = Some("handle".into());
        let replacement = session_record(record.id, &second, later(), Strategy::Memory).unwrap();
        assert!(store.replace(&replacement, &revision).await.unwrap());
        let read = store.load_session(&record.id).await.unwrap().unwrap();
        assert_eq!(read.data, Some(second));
        assert_eq!(read.expiry_date, replacement.expiry_date);

        store.delete(&record.id).await.unwrap();
        assert!(store.load_session(&record.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_record_that_does_not_decode_reads_as_no_session() {
        let store = MemoryRecords::default();
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([("session".to_owned(), serde_json::json!({"v": "x"}))]),
            expiry_date: later(),
        };
        store.create(&mut record).await.unwrap();
        let read = store.load_session(&record.id).await.unwrap().unwrap();
        assert_eq!(read.data, None);
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_sessions_and_keeps_the_ones_it_has() {
        let store = MemoryRecords::with_capacity(2);
        let mut kept = Vec::new();
        for _ in 0..2 {
            let mut record = record(later());
            store.create(&mut record).await.unwrap();
            kept.push(record.id);
        }
        let mut one_more = record(later());
        assert!(store.create(&mut one_more).await.is_err());
        for id in &kept {
            assert!(store.load(id).await.unwrap().is_some());
        }
        // An expired one makes room once the sweep has freed it; a write to a session the store
        // holds is always taken.
        let mut expired = record(OffsetDateTime::now_utc() - time::Duration::seconds(1));
        store.delete(&kept[0]).await.unwrap();
        store.create(&mut expired).await.unwrap();
        assert!(store.create(&mut one_more).await.is_err());
        let mut second = store.load(&kept[1]).await.unwrap().unwrap();
        second.data.insert("more".into(), serde_json::json!(1));
        store.save(&second).await.unwrap();
        store.delete_expired().await.unwrap();
        assert!(store.create(&mut one_more).await.is_ok());
    }
}
