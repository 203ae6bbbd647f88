//! A `SessionStore` wrapper that puts every store round trip in the request's trace, named
//! the way the store's own engineers would name it (`redis GET`, `sql SELECT`).

use super::{RecordStore, StoredSession};
use crate::{
    session::backend::Revision,
    trace::{self, outcome, redact::Short},
};
use async_trait::async_trait;
use std::sync::Arc;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// What a store calls each operation (each store names its own, next to its code).
#[derive(Clone, Copy, Debug)]
pub struct StoreVerbs {
    pub name: &'static str,
    pub create: &'static str,
    pub save: &'static str,
    pub load: &'static str,
    pub delete: &'static str,
    /// The compare-and-set of [`RecordStore::replace`].
    pub replace: &'static str,
}

/// `store`, with each call recorded in the current trace.
#[derive(Clone)]
pub struct TracedStore {
    verbs: StoreVerbs,
    store: Arc<dyn RecordStore>,
}

impl std::fmt::Debug for TracedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedStore")
            .field("store", &self.verbs.name)
            .finish_non_exhaustive()
    }
}

impl TracedStore {
    pub fn wrap(verbs: StoreVerbs, store: Arc<dyn RecordStore>) -> Arc<dyn RecordStore> {
        Arc::new(Self { verbs, store })
    }

    fn operation(&self, verb: &str, id: &Id) -> String {
        let id = id.to_string();
        format!("{} {verb} {}", self.verbs.name, Short(&id))
    }

    /// Times a read of the record under `id` (a plain load, a decoded one, one with its
    /// revision: to the trace all are the store's load) and records whether it found one.
    async fn lookup<T>(
        &self,
        id: &Id,
        read: impl std::future::Future<Output = session_store::Result<Option<T>>>,
    ) -> session_store::Result<Option<T>> {
        trace::timed(|| self.operation(self.verbs.load, id), lookup_outcome, read).await
    }
}

/// `hit`, `miss` or `error: …`: how a read came out.
fn lookup_outcome<T>(result: &session_store::Result<Option<T>>) -> trace::Label {
    match result {
        Ok(Some(_)) => "hit".into(),
        Ok(None) => "miss".into(),
        Err(error) => format!("error: {error}").into(),
    }
}

#[async_trait]
impl SessionStore for TracedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let started = std::time::Instant::now();
        let result = self.store.create(record).await;
        trace::step(started, || {
            (
                self.operation(self.verbs.create, &record.id),
                outcome(&result),
            )
        });
        result
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        trace::timed(
            || self.operation(self.verbs.save, &record.id),
            outcome,
            self.store.save(record),
        )
        .await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.lookup(id, self.store.load(id)).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        trace::timed(
            || self.operation(self.verbs.delete, id),
            outcome,
            self.store.delete(id),
        )
        .await
    }
}

#[async_trait]
impl RecordStore for TracedStore {
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        self.lookup(id, self.store.load_session(id)).await
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        self.lookup(id, self.store.load_revision(id)).await
    }

    async fn describe_copy(&self, id: &Id) -> Option<String> {
        self.store.describe_copy(id).await
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        trace::timed(
            || self.operation(self.verbs.replace, &record.id),
            |result: &session_store::Result<bool>| match result {
                Ok(true) => "replaced".into(),
                Ok(false) => "conflict: changed or deleted since read".into(),
                Err(error) => format!("error: {error}"),
            },
            self.store.replace(record, revision),
        )
        .await
    }
}
