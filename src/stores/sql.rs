//! The `sql` strategy: the session id in the `sid` cookie, the session in a SQL table
//! (tower-sessions' schema), served by the server-side backend
//! (`src/backends/server_side.rs`). SQLite (a file) by default, PostgreSQL when the URL
//! says so; a background task deletes expired rows.
//!
//! Durable and shared by every instance that reaches the database, at the price of a query per
//! request. A write is a compare-and-set (`UPDATE … WHERE data = <bytes read>`). What a stolen
//! `sid` gives: the session, from any instance, until logout deletes the row or it expires.
//!
//! SQLite files are read and written on connections of this module ([`sqlite_reads`],
//! [`sqlite_writes`]) rather than through sqlx: their module docs say why.

mod sqlite_reads;
mod sqlite_writes;

use super::{
    record,
    sweep::{sweep, sweep_expired, SWEEP_PERIOD},
    traced::{StoreVerbs, TracedStore},
    RecordStore, StoredSession,
};
use crate::session::backend::Revision;
use async_trait::async_trait;
use sqlite_reads::SqliteReads;
use sqlite_writes::SqliteWrites;
use std::{str::FromStr, sync::Arc, time::Duration};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_sqlx_store::{
    sqlx::{
        postgres::{PgPool, PgPoolOptions},
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    },
    PostgresStore, SqliteStore,
};

/// tower-sessions' SQL stores: one row per session in `tower_sessions`.
pub const VERBS: StoreVerbs = StoreVerbs {
    name: "sql",
    create: "INSERT",
    save: "UPSERT",
    load: "SELECT",
    delete: "DELETE",
    replace: "UPDATE WHERE data = read",
};

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects to `url`, creates the `tower_sessions` table if needed, and starts sweeping. The
/// store is traced.
pub async fn connect(url: &str) -> Result<Arc<dyn RecordStore>, sqlx::Error> {
    connect_sweeping_every(url, SWEEP_PERIOD).await
}

/// [`connect`], sweeping expired sessions every `period`.
pub async fn connect_sweeping_every(
    url: &str,
    period: Duration,
) -> Result<Arc<dyn RecordStore>, sqlx::Error> {
    let store = connect_untraced(url, period).await?;
    Ok(TracedStore::wrap(VERBS, store))
}

async fn connect_untraced(
    url: &str,
    period: Duration,
) -> Result<Arc<dyn RecordStore>, sqlx::Error> {
    if is_postgres(url) {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        let store = PostgresStore::new(pool.clone());
        store.migrate().await?;
        sweep_expired("postgres", store.clone(), period);
        Ok(Arc::new(SqlRecords::Postgres(pool, store)))
    } else {
        Ok(connect_sqlite(url, period).await?)
    }
}

/// The SQLite store at `url`, its table made, sweeping every `period`.
async fn connect_sqlite(url: &str, period: Duration) -> Result<Arc<SqlRecords>, sqlx::Error> {
    // WAL with `synchronous = NORMAL`: a commit is durable against a crash of the process
    // (not of the machine) without an fsync per write, SQLite's advice for WAL.
    let options = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    // Sessions are read and written on connections of this module, which an in-memory
    // database (seen only by the connection that made it) cannot share.
    let reads = SqliteReads::for_file(options.get_filename()).ok_or_else(|| {
        sqlx::Error::Configuration("the SQL session store needs a database file".into())
    })?;
    // The pool makes the table, then is closed. A SQLite connection is a file handle in this
    // process: it cannot go stale the way a network connection can, so sqlx's ping before
    // every acquire buys nothing.
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await?;
    let store = SqliteStore::new(pool.clone());
    store.migrate().await?;
    sqlx::query(EXPIRY_INDEX).execute(&pool).await?;
    pool.close().await;
    let writes = SqliteWrites::open(options.get_filename())
        .map_err(|error| sqlx::Error::Configuration(error.into()))?;
    let records = Arc::new(SqlRecords::SqliteFile(reads, writes));
    let swept = records.clone();
    sweep("sqlite", period, move || {
        let records = swept.clone();
        async move { records.sweep_sqlite().await }
    });
    Ok(records)
}

/// Sessions in SQL, in tower-sessions' table: its store for its own operations, plus the
/// conditional replace, an `UPDATE` that matches the row only while it holds the bytes read.
#[derive(Debug)]
pub enum SqlRecords {
    /// A SQLite database file, read and written on the calling thread ([`SqliteReads`],
    /// [`SqliteWrites`]) with the statements of tower-sessions' SQLite store.
    SqliteFile(SqliteReads, SqliteWrites),
    Postgres(PgPool, PostgresStore),
}

/// Who writes a store's rows: this crate's SQLite writer, or tower-sessions' store.
enum Writer<'a> {
    Own(&'a SqliteWrites),
    TowerSessions(&'a dyn SessionStore),
}

impl SqlRecords {
    fn writer(&self) -> Writer<'_> {
        match self {
            Self::SqliteFile(_, writes) => Writer::Own(writes),
            Self::Postgres(_, store) => Writer::TowerSessions(store),
        }
    }

    /// The stored bytes of session `id`, expired or not.
    async fn stored_bytes(&self, id: &Id) -> session_store::Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = match self {
            Self::SqliteFile(reads, _) => {
                return reads.data(&id.to_string()).map_err(sqlite_error);
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

fn sql_error(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn sqlite_error(error: rusqlite::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|error| session_store::Error::Encode(error.to_string()))
}

/// A record's row values as tower-sessions' SQL stores write them: its MessagePack bytes, and
/// its expiry as sqlx encodes a time for SQLite (RFC 3339 text, which the sweep compares).
fn row_values(record: &Record) -> session_store::Result<(Vec<u8>, String)> {
    let bytes = encode(record)?;
    let expiry = record
        .expiry_date
        .format(&Rfc3339)
        .map_err(|error| session_store::Error::Encode(error.to_string()))?;
    Ok((bytes, expiry))
}

#[async_trait]
impl SessionStore for SqlRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let writes = match self.writer() {
            Writer::Own(writes) => writes,
            Writer::TowerSessions(store) => return store.create(record).await,
        };
        // As tower-sessions' stores: a new id until one is free (a clash is 2^-128 likely).
        loop {
            let (bytes, expiry) = row_values(record)?;
            let id = record.id.to_string();
            if writes
                .insert(&id, &bytes, &expiry)
                .await
                .map_err(sqlite_error)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let writes = match self.writer() {
            Writer::Own(writes) => writes,
            Writer::TowerSessions(store) => return store.save(record).await,
        };
        let (bytes, expiry) = row_values(record)?;
        writes
            .upsert(&record.id.to_string(), &bytes, &expiry)
            .await
            .map_err(sqlite_error)
    }

    /// A live record: as tower-sessions' stores load it (`where expiry_date > now`), with
    /// the expiry compared after decoding so that SQLite reads need no second query shape.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.stored_bytes(id).await? {
            Some(bytes) => {
                let record = record::from_msgpack(&bytes)?;
                Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let writes = match self.writer() {
            Writer::Own(writes) => writes,
            Writer::TowerSessions(store) => return store.delete(id).await,
        };
        writes.delete(&id.to_string()).await.map_err(sqlite_error)
    }
}

#[async_trait]
impl RecordStore for SqlRecords {
    /// As `load`, with the session decoded straight from the stored bytes.
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        let Some(bytes) = self.stored_bytes(id).await? else {
            return Ok(None);
        };
        let stored = StoredSession::from_msgpack(&bytes)?.at(Revision::new(bytes));
        Ok((stored.expiry_date > OffsetDateTime::now_utc()).then_some(stored))
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let Some(bytes) = self.stored_bytes(id).await? else {
            return Ok(None);
        };
        Ok(Some((record::from_msgpack(&bytes)?, Revision::new(bytes))))
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        let result = match self {
            Self::SqliteFile(_, writes) => {
                let (bytes, expiry) = row_values(record)?;
                return writes
                    .replace(&record.id.to_string(), &bytes, &expiry, revision.bytes())
                    .await
                    .map_err(sqlite_error);
            }
            Self::Postgres(pool, _) => sqlx::query(
                r#"update "tower_sessions"."session" set data = $1, expiry_date = $2
                       where id = $3 and data = $4"#,
            )
            .bind(encode(record)?)
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

/// Finds expired rows without reading the whole table (the sweep's `where expiry_date < ?`).
const EXPIRY_INDEX: &str =
    "create index if not exists tower_sessions_expiry_date on tower_sessions (expiry_date)";
/// One batch of SQLite's sweep: expired rows, oldest first, through the expiry index.
const SWEEP_BATCH: &str = "delete from tower_sessions where id in \
     (select id from tower_sessions where expiry_date < ?1 order by expiry_date limit ?2)";
/// Rows per batch: a request's write queued behind a batch waits for all of it, and the pages a
/// batch dirties (expired rows lie all over the table and both indexes) are what the next
/// checkpoint copies. 250 rows take a few milliseconds.
const SWEEP_BATCH_ROWS: u64 = 250;
/// Between batches, so that request writes and the checkpointer keep up.
const SWEEP_PAUSE: Duration = Duration::from_millis(10);

impl SqlRecords {
    /// Deletes SQLite's expired sessions a batch at a time. SQLite has one writer at a time:
    /// tower-sessions' sweep (one `DELETE` over every row, `datetime()` applied to each) kept
    /// request writes waiting for all of it, 1.6 s at a million sessions. Batches through an
    /// index hold the lock for milliseconds each.
    async fn sweep_sqlite(&self) -> session_store::Result<()> {
        // Rows hold the expiry as RFC 3339 text in UTC (sqlx's encoding), which sorts by time
        // except within one second (`12.9Z` sorts after `12.91Z`). A bound of the whole second
        // before the current one only ever matches rows already expired.
        let second_ago = OffsetDateTime::now_utc() - Duration::from_secs(1);
        let bound = second_ago
            .replace_nanosecond(0)
            .ok()
            .and_then(|bound| bound.format(&Rfc3339).ok())
            .ok_or_else(|| session_store::Error::Encode("an unprintable time".into()))?;
        loop {
            let deleted = match self {
                Self::SqliteFile(_, writes) => writes
                    .delete_batch(SWEEP_BATCH, &bound, SWEEP_BATCH_ROWS)
                    .await
                    .map_err(sqlite_error)? as u64,
                // PostgreSQL runs tower-sessions' own sweep.
                Self::Postgres(..) => return Ok(()),
            };
            if deleted < SWEEP_BATCH_ROWS {
                return Ok(());
            }
            tokio::time::sleep(SWEEP_PAUSE).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tower_sessions_sqlx_store::sqlx::sqlite::SqlitePool;

    async fn count(pool: &SqlitePool) -> i64 {
        sqlx::query_scalar("select count(*) from tower_sessions")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_sqlite_sweep_deletes_expired_rows_in_batches_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("sweep.db").display()
        );
        // A period no test waits for: the sweep under test is called directly.
        let records = connect_sqlite(&url, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(matches!(*records, SqlRecords::SqliteFile(..)));
        let pool = SqlitePool::connect(&url).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let record = |expiry_date| Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date,
        };
        // Expired a while ago (more than two batches), just now, and still live: one
        // expiring within the second (sorting like an expired row's text but not expired).
        for _ in 0..2 * SWEEP_BATCH_ROWS + 10 {
            records
                .save(&record(now - Duration::from_secs(3600)))
                .await
                .unwrap();
        }
        let live = record(now + Duration::from_secs(3600));
        records.save(&live).await.unwrap();
        let within_the_second = record(OffsetDateTime::now_utc() + Duration::from_millis(300));
        records.save(&within_the_second).await.unwrap();
        records.sweep_sqlite().await.unwrap();
        assert_eq!(count(&pool).await, 2);
        assert!(records.load(&live.id).await.unwrap().is_some());
    }
}
