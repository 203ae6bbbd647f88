//! The `memory` strategy's store: sessions in this process's memory, gone with the process and
//! invisible to every other instance (which is what the strategy is here to show). Unlike
//! tower-sessions' `MemoryStore` it forgets expired sessions on its own: a sweeper removes them
//! every [`SWEEP_PERIOD`](crate::sql_store::SWEEP_PERIOD), so an abandoned session costs memory
//! for at most its idle timeout and a minute.

use crate::record_store::{RecordStore, Revision};
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

/// Records by id, shared by every request of this process.
#[derive(Clone, Debug, Default)]
pub struct MemoryRecords {
    records: Arc<Mutex<Records>>,
}

/// Each record with the revision it is at: a process-wide counter, so a record deleted and
/// saved again under its id never matches a revision read before.
#[derive(Debug, Default)]
struct Records {
    by_id: HashMap<Id, (Record, u64)>,
    last_revision: u64,
}

impl Records {
    fn put(&mut self, record: Record) {
        self.last_revision += 1;
        self.by_id.insert(record.id, (record, self.last_revision));
    }
}

fn revision(counter: u64) -> Revision {
    Revision::new(counter.to_le_bytes().to_vec())
}

impl MemoryRecords {
    /// A store whose expired records are swept in the background.
    pub fn swept() -> Self {
        let store = Self::default();
        crate::sql_store::sweep_expired("memory", store.clone(), crate::sql_store::SWEEP_PERIOD);
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
        Ok(self.lock().by_id.get(id).map(|(record, _)| record.clone()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.lock().by_id.remove(id);
        Ok(())
    }
}

#[async_trait]
impl RecordStore for MemoryRecords {
    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        Ok(self
            .lock()
            .by_id
            .get(id)
            .map(|(record, counter)| (record.clone(), revision(*counter))))
    }

    async fn replace(&self, record: &Record, expected: &Revision) -> session_store::Result<bool> {
        let mut records = self.lock();
        let current = records
            .by_id
            .get(&record.id)
            .map(|(_, counter)| revision(*counter));
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
            .retain(|_, (record, _)| record.expiry_date > now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
