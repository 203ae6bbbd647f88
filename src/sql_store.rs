//! The SQL session store: SQLite by default, PostgreSQL when the URL says so, with a background
//! task that deletes expired rows.

use crate::{
    record_store::{RecordStore, Revision},
    sqlite_reads::SqliteReads,
    traced_store::{TracedStore, SQL},
};
use async_trait::async_trait;
use std::{str::FromStr, sync::Arc, time::Duration};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};
use tower_sessions_sqlx_store::{
    sqlx::{
        postgres::{PgPool, PgPoolOptions},
        sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
            SqliteSynchronous,
        },
    },
    PostgresStore, SqliteStore,
};

/// How often expired sessions are swept.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects to `url`, creates the `tower_sessions` table if needed, and starts sweeping. The
/// store is traced.
pub async fn connect(url: &str) -> Result<Arc<dyn RecordStore>, sqlx::Error> {
    let store = connect_untraced(url).await?;
    Ok(TracedStore::wrap(SQL, store))
}

async fn connect_untraced(url: &str) -> Result<Arc<dyn RecordStore>, sqlx::Error> {
    if is_postgres(url) {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        let store = PostgresStore::new(pool.clone());
        store.migrate().await?;
        sweep(store.clone());
        Ok(Arc::new(SqlRecords::Postgres(pool, store)))
    } else {
        // WAL with `synchronous = NORMAL`: a commit is durable against a crash of the process
        // (not of the machine) without an fsync per write, SQLite's advice for WAL.
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let reads = SqliteReads::for_file(options.get_filename());
        // A SQLite connection is a file handle in this process: it cannot go stale the way a
        // network connection can, so sqlx's ping before every acquire (a second trip to the
        // connection's worker thread, a third of a read's cost) buys nothing. Each connection
        // is a thread; four keep both cores busy without the threads taking turns.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let store = SqliteStore::new(pool.clone());
        store.migrate().await?;
        sweep(store.clone());
        Ok(Arc::new(SqlRecords::Sqlite(pool, store, reads)))
    }
}

/// Sessions in SQL: tower-sessions' store for its own operations, plus the conditional
/// replace, an `UPDATE` that matches the row only while it holds the bytes read. SQLite reads
/// of a database file go through [`SqliteReads`], on the calling thread.
#[derive(Debug)]
pub enum SqlRecords {
    Sqlite(SqlitePool, SqliteStore, Option<SqliteReads>),
    Postgres(PgPool, PostgresStore),
}

impl SqlRecords {
    fn store(&self) -> &dyn SessionStore {
        match self {
            Self::Sqlite(_, store, _) => store,
            Self::Postgres(_, store) => store,
        }
    }

    /// The stored bytes of session `id`, expired or not.
    async fn stored_bytes(&self, id: &Id) -> session_store::Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = match self {
            Self::Sqlite(_, _, Some(reads)) => {
                return reads
                    .data(&id.to_string())
                    .map_err(|error| session_store::Error::Backend(error.to_string()));
            }
            Self::Sqlite(pool, _, None) => {
                sqlx::query_as("select data from tower_sessions where id = ?")
                    .bind(id.to_string())
                    .fetch_optional(pool)
                    .await
            }
            Self::Postgres(pool, _) => {
                sqlx::query_as(r#"select data from "tower_sessions"."session" where id = $1"#)
                    .bind(id.to_string())
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(sql_error)?;
        Ok(row.map(|(bytes,)| bytes))
    }
}

fn decode(bytes: &[u8]) -> session_store::Result<Record> {
    rmp_serde::from_slice(bytes).map_err(|error| session_store::Error::Decode(error.to_string()))
}

fn sql_error(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for SqlRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store().create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store().save(record).await
    }

    /// A live record: as tower-sessions' stores load it (`where expiry_date > now`), with
    /// the expiry compared after decoding so that SQLite reads need no second query shape.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.stored_bytes(id).await? {
            Some(bytes) => {
                let record = decode(&bytes)?;
                Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store().delete(id).await
    }
}

#[async_trait]
impl RecordStore for SqlRecords {
    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let Some(bytes) = self.stored_bytes(id).await? else {
            return Ok(None);
        };
        Ok(Some((decode(&bytes)?, Revision::new(bytes))))
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        let bytes = rmp_serde::to_vec(record)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        let result = match self {
            Self::Sqlite(pool, ..) => sqlx::query(
                "update tower_sessions set data = ?, expiry_date = ? \
                     where id = ? and data = ?",
            )
            .bind(bytes)
            .bind(record.expiry_date)
            .bind(record.id.to_string())
            .bind(revision.bytes())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
            Self::Postgres(pool, _) => sqlx::query(
                r#"update "tower_sessions"."session" set data = $1, expiry_date = $2
                       where id = $3 and data = $4"#,
            )
            .bind(bytes)
            .bind(record.expiry_date)
            .bind(record.id.to_string())
            .bind(revision.bytes())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        }
        .map_err(sql_error)?;
        Ok(result == 1)
    }
}

/// Deletes `store`'s expired sessions every [`SWEEP_PERIOD`], in the background.
pub fn sweep<S: ExpiredDeletion + Clone>(store: S) {
    tokio::spawn(async move {
        if let Err(error) = store.continuously_delete_expired(SWEEP_PERIOD).await {
            tracing::warn!(%error, "the expired-session sweep stopped");
        }
    });
}
