//! SQLite session reads on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: a query is a message to that
//! thread and a wake-up back, and returning the connection to the pool pings it (another
//! round trip). For a primary-key `SELECT`, which SQLite answers from its page cache in a few
//! microseconds, those hops cost several times the query. Reads therefore go through
//! read-only connections of this module, on the thread that asks; writes go to the one writer of
//! [`super::sqlite_writes`].
//! In WAL mode a reader never waits for a writer, so a read blocks its thread only for the
//! query itself (the busy timeout covers SQLite's rare recovery locks).

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

/// How long a read waits on a lock SQLite holds briefly (WAL recovery, a checkpoint's reset).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// Read-only connections to one database file, reused across requests.
pub struct SqliteReads {
    path: PathBuf,
    /// Idle connections. A read takes one out and puts it back; no read awaits while holding
    /// one, so there are never more than the threads reading at once.
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqliteReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteReads {
    /// Readers of the database file at `path`; `None` for an in-memory database, which another
    /// connection could not see.
    pub fn for_file(path: &Path) -> Option<Self> {
        let name = path.to_string_lossy();
        if name == ":memory:" || name.starts_with("file:sqlx-in-memory") {
            return None;
        }
        Some(Self {
            path: path.to_owned(),
            idle: Mutex::default(),
        })
    }

    /// The `data` column of session `id`'s row, whatever its expiry (callers check it).
    pub fn data(&self, id: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        let connection = match self.idle().pop() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let data = connection
            .prepare_cached("select data from tower_sessions where id = ?1")
            .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional());
        // A connection whose query failed is dropped rather than reused.
        if data.is_ok() {
            self.idle().push(connection);
        }
        data
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        Ok(connection)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_another_connection_committed_and_nothing_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reads.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "pragma journal_mode = wal;
                 create table tower_sessions (id text primary key not null, data blob not null,
                   expiry_date integer not null);",
            )
            .unwrap();
        let reads = SqliteReads::for_file(&path).unwrap();
        assert_eq!(reads.data("a").unwrap(), None);
        writer
            .execute("insert into tower_sessions values ('a', x'0102', 0)", [])
            .unwrap();
        assert_eq!(reads.data("a").unwrap(), Some(vec![1, 2]));
        writer
            .execute("update tower_sessions set data = x'03' where id = 'a'", [])
            .unwrap();
        assert_eq!(reads.data("a").unwrap(), Some(vec![3]));
        assert_eq!(reads.idle().len(), 1, "one connection, reused");
        assert!(SqliteReads::for_file(Path::new(":memory:")).is_none());
        assert!(SqliteReads::for_file(Path::new("file:sqlx-in-memory-3")).is_none());
    }
}
