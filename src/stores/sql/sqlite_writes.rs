//! SQLite session writes: one connection on a thread of its own, committing writes in groups.
//!
//! Why not sqlx: SQLite takes one writer at a time, and through sqlx's pool (a thread per
//! connection, a message and a wake-up per step of a query) a cart write spent more time
//! switching threads than in SQLite, while writers beyond the first slept in SQLite's busy
//! handler for a lock freed microseconds later. Here every write is one message to the writer
//! thread, which takes all the writes waiting and runs them in one transaction: one commit for
//! the whole group. Each write still gets its own answer: a statement that fails (an id already
//! taken) fails alone; a commit that fails fails the group.
//!
//! Checkpoints (copying the log's pages into the database file) run mostly on a second thread
//! with a connection of its own: left to the writer, one commit now and then copied a thousand
//! pages while every write queued behind it waited. A passive checkpoint takes no lock a writer
//! needs, but only the writer can start the log over, and only when a checkpoint has copied all
//! of it, which one running beside a busy writer never quite does: the writer still
//! checkpoints, once every [`RESTART_AT_PAGES`] pages, so the log stays a few megabytes long.
//! `docs/PERFORMANCE.md` has the figures.

use rusqlite::{params_from_iter, types::Value, Connection, OpenFlags};
use std::{
    path::Path,
    sync::mpsc::{self, Receiver, RecvTimeoutError, Sender},
    time::Duration,
};
use tokio::sync::oneshot;

/// The connection that writes sessions to a database file, on its thread.
#[derive(Clone)]
pub struct SqliteWrites {
    jobs: Sender<Job>,
}

impl std::fmt::Debug for SqliteWrites {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqliteWrites")
            .finish_non_exhaustive()
    }
}

/// One statement to run, and where its answer (rows changed) goes.
struct Job {
    sql: &'static str,
    params: Vec<Value>,
    reply: oneshot::Sender<rusqlite::Result<usize>>,
}

/// How long a write waits for a lock another connection holds (the shop's pool writes
/// accounts and the revocation ledger to the same file), as sqlx's busy timeout did. The wait
/// is on the writer's thread, never on the runtime's.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most writes in one transaction: a bound on how long the first of them waits for the rest.
const MOST_PER_GROUP: usize = 64;
/// How often the checkpointer copies what the log holds into the database file: at 30,000
/// writes a second the log grows by about a thousand pages in this time.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// The log's length, in pages, at which the writer checkpoints after a commit (the last
/// pages the checkpointer has not copied yet), after which its next write starts the log over.
/// SQLite's default is 1,000.
const RESTART_AT_PAGES: u32 = 4_000;

impl SqliteWrites {
    /// The writer of the database file at `path`, which exists and is in WAL mode: a commit
    /// is then durable against a crash of the process (not of the machine) without an fsync,
    /// SQLite's advice for WAL (`synchronous = NORMAL`).
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let connection = connect(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // Mostly the checkpointer's job; the writer's only to start the log over.
        connection.pragma_update(None, "wal_autocheckpoint", RESTART_AT_PAGES)?;
        let checkpoints = connect(path)?;
        let (jobs, queue) = mpsc::channel();
        // Dropped when the writer stops, which stops the checkpointer.
        let (writing, stopped) = mpsc::channel::<()>();
        spawn("sqlite-writer", move || {
            write_in_groups(&connection, &queue);
            drop(writing);
        })?;
        spawn("sqlite-checkpoint", move || {
            checkpoint_until(&checkpoints, &stopped)
        })?;
        Ok(Self { jobs })
    }

    /// Inserts session `id`'s row; `false` when a row has that id already.
    pub async fn insert(&self, id: &str, data: &[u8], expiry: &str) -> rusqlite::Result<bool> {
        let inserted = self
            .write(
                "insert or abort into tower_sessions (id, data, expiry_date) values (?1, ?2, ?3)",
                vec![text(id), blob(data), text(expiry)],
            )
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Inserts or overwrites session `id`'s row.
    pub async fn upsert(&self, id: &str, data: &[u8], expiry: &str) -> rusqlite::Result<()> {
        self.write(
            "insert into tower_sessions (id, data, expiry_date) values (?1, ?2, ?3) \
             on conflict(id) do update set \
             data = excluded.data, expiry_date = excluded.expiry_date",
            vec![text(id), blob(data), text(expiry)],
        )
        .await
        .map(drop)
    }

    /// Overwrites session `id`'s row if it still holds `expected`; whether it did.
    pub async fn replace(
        &self,
        id: &str,
        data: &[u8],
        expiry: &str,
        expected: &[u8],
    ) -> rusqlite::Result<bool> {
        self.write(
            "update tower_sessions set data = ?1, expiry_date = ?2 where id = ?3 and data = ?4",
            vec![blob(data), text(expiry), text(id), blob(expected)],
        )
        .await
        .map(|rows| rows == 1)
    }

    /// Deletes session `id`'s row, if any.
    pub async fn delete(&self, id: &str) -> rusqlite::Result<()> {
        self.write("delete from tower_sessions where id = ?1", vec![text(id)])
            .await
            .map(drop)
    }

    /// Runs `sql`, a statement deleting at most `rows` expired rows (`?1` the expiry bound,
    /// `?2` the row count); the rows it deleted.
    pub async fn delete_batch(
        &self,
        sql: &'static str,
        bound: &str,
        rows: u64,
    ) -> rusqlite::Result<usize> {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        self.write(sql, vec![text(bound), Value::Integer(rows)])
            .await
    }

    /// Hands `sql` to the writer thread and waits for its answer.
    async fn write(&self, sql: &'static str, params: Vec<Value>) -> rusqlite::Result<usize> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { sql, params, reply })
            .map_err(|_| writer_gone())?;
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
    }
}

/// A read-write connection to `path` with `synchronous = NORMAL`.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(connection)
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> rusqlite::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map(drop)
        .map_err(|error| failure(rusqlite::ffi::SQLITE_ERROR, error.to_string()))
}

/// The checkpointer thread: every [`CHECKPOINT_EVERY`] until the writer stops, copies into the
/// database file what the log holds and no reader still needs.
fn checkpoint_until(connection: &Connection, stopped: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        let copied = connection.query_row("pragma wal_checkpoint(passive)", [], |_| Ok(()));
        if let Err(error) = copied {
            tracing::debug!(%error, "a SQLite checkpoint failed; the next one will retry");
        }
    }
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn blob(value: &[u8]) -> Value {
    Value::Blob(value.to_vec())
}

/// The writer thread: until every [`SqliteWrites`] is dropped, takes the writes waiting and
/// runs them, several in one transaction.
fn write_in_groups(connection: &Connection, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let others: Vec<Job> = queue.try_iter().take(MOST_PER_GROUP - 1).collect();
        if others.is_empty() {
            // Alone: no transaction of its own to open and commit.
            let outcome = run(connection, &first);
            let _ = first.reply.send(outcome);
            continue;
        }
        let group: Vec<Job> = std::iter::once(first).chain(others).collect();
        if let Err(error) = connection.execute_batch("begin immediate") {
            answer_all(group, &error);
            continue;
        }
        let outcomes: Vec<_> = group.iter().map(|job| run(connection, job)).collect();
        match connection.execute_batch("commit") {
            Ok(()) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            Err(error) => {
                // Nothing of the group is stored (a statement may have ended the transaction
                // already, so the rollback's own failure says nothing new).
                let _ = connection.execute_batch("rollback");
                answer_all(group, &error);
            }
        }
    }
}

fn run(connection: &Connection, job: &Job) -> rusqlite::Result<usize> {
    connection
        .prepare_cached(job.sql)?
        .execute(params_from_iter(job.params.iter()))
}

/// Answers every write of `group` with (a copy of) `error`.
fn answer_all(group: Vec<Job>, error: &rusqlite::Error) {
    for job in group {
        let _ = job.reply.send(Err(copy(error)));
    }
}

fn copy(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            rusqlite::Error::SqliteFailure(*failure, message.clone())
        }
        other => failure(rusqlite::ffi::SQLITE_ERROR, other.to_string()),
    }
}

fn failure(code: std::os::raw::c_int, message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
}

fn writer_gone() -> rusqlite::Error {
    failure(
        rusqlite::ffi::SQLITE_MISUSE,
        "the SQLite writer thread has stopped".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writes.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "pragma journal_mode = wal;
                 create table tower_sessions (id text primary key not null, data blob not null,
                   expiry_date integer not null);",
            )
            .unwrap();
        (dir, path)
    }

    fn row(path: &Path, id: &str) -> Option<(Vec<u8>, String)> {
        let connection = Connection::open(path).unwrap();
        let mut statement = connection
            .prepare("select data, expiry_date from tower_sessions where id = ?1")
            .unwrap();
        let mut rows = statement.query([id]).unwrap();
        rows.next()
            .unwrap()
            .map(|row| (row.get(0).unwrap(), row.get(1).unwrap()))
    }

    #[tokio::test]
    async fn inserts_once_overwrites_replaces_only_the_expected_bytes_and_deletes() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        assert!(writes
            .insert("a", b"one", "2030-01-01T00:00:00Z")
            .await
            .unwrap());
        assert!(!writes
            .insert("a", b"two", "2031-01-01T00:00:00Z")
            .await
            .unwrap());
        assert_eq!(
            row(&path, "a"),
            Some((b"one".to_vec(), "2030-01-01T00:00:00Z".into()))
        );
        writes
            .upsert("a", b"two", "2031-01-01T00:00:00Z")
            .await
            .unwrap();
        writes
            .upsert("b", b"new", "2031-01-01T00:00:00Z")
            .await
            .unwrap();
        assert_eq!(row(&path, "b").unwrap().0, b"new");
        assert!(!writes
            .replace("a", b"three", "2032-01-01T00:00:00Z", b"one")
            .await
            .unwrap());
        assert_eq!(row(&path, "a").unwrap().0, b"two");
        assert!(writes
            .replace("a", b"three", "2032-01-01T00:00:00Z", b"two")
            .await
            .unwrap());
        assert_eq!(
            row(&path, "a"),
            Some((b"three".to_vec(), "2032-01-01T00:00:00Z".into()))
        );
        assert!(!writes
            .replace("gone", b"x", "2032-01-01T00:00:00Z", b"x")
            .await
            .unwrap());
        writes.delete("a").await.unwrap();
        assert_eq!(row(&path, "a"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_all_land_none_lost() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        writes
            .upsert("counter", b"0", "2030-01-01T00:00:00Z")
            .await
            .unwrap();
        // 8 tasks each add one 50 times through compare-and-set: every lost or doubled
        // write would show in the total.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let writes = writes.clone();
                let path = path.clone();
                tokio::spawn(async move {
                    let mut added = 0;
                    while added < 50 {
                        let (bytes, _) = row(&path, "counter").unwrap();
                        let value: u64 = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
                        let next = (value + 1).to_string();
                        if writes
                            .replace("counter", next.as_bytes(), "2030-01-01T00:00:00Z", &bytes)
                            .await
                            .unwrap()
                        {
                            added += 1;
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(row(&path, "counter").unwrap().0, b"400");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_grouped_in_one_transaction_each_get_their_own_answer() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        // 40 ids sent at once, each twice: whatever the groups, each id is inserted once and
        // its second insert alone is refused, without failing the group it was in.
        let tasks: Vec<_> = (0..80)
            .map(|n| {
                let writes = writes.clone();
                tokio::spawn(async move {
                    let id = format!("s{}", n % 40);
                    writes
                        .insert(&id, id.as_bytes(), "2030-01-01T00:00:00Z")
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut inserted = 0;
        for task in tasks {
            inserted += usize::from(task.await.unwrap());
        }
        assert_eq!(inserted, 40);
        for n in 0..40 {
            let id = format!("s{n}");
            assert_eq!(row(&path, &id).unwrap().0, id.as_bytes());
        }
    }

    /// Rows in the database at `path`, its log included.
    fn rows(path: &Path) -> rusqlite::Result<i64> {
        Connection::open(path)?
            .query_row("select count(*) from tower_sessions", [], |row| row.get(0))
    }

    /// Rows in the database file itself, as a copy of it without its log shows them.
    fn rows_in_the_file(path: &Path) -> Option<i64> {
        let copy = tempfile::tempdir().ok()?;
        let file = copy.path().join("copy.db");
        std::fs::copy(path, &file).ok()?;
        rows(&file).ok()
    }

    #[tokio::test]
    async fn writes_reach_the_database_file_through_the_checkpointer() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        // Far fewer pages than the writer's own checkpoint waits for (RESTART_AT_PAGES): only
        // the checkpointer copies them into the file while the connections stay open.
        for n in 0..50 {
            let id = format!("s{n}");
            writes
                .upsert(&id, b"x", "2030-01-01T00:00:00Z")
                .await
                .unwrap();
        }
        let mut in_file = None;
        for _ in 0..100 {
            in_file = rows_in_the_file(&path);
            if in_file == Some(50) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(in_file, Some(50), "the log was never copied into the file");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_a_steady_stream_of_writes() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        // 8 writers at once, 24,000 writes of new rows: some 50,000 pages through the log,
        // twelve times the length at which it must start over.
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let writes = writes.clone();
                tokio::spawn(async move {
                    for n in 0..3_000 {
                        let id = format!("{task}-{n}");
                        writes
                            .upsert(&id, &[7; 200], "2030-01-01T00:00:00Z")
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let log = std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len();
        let page = 4096 + 24;
        assert!(
            log < 2 * u64::from(RESTART_AT_PAGES) * page,
            "the log grew to {log} bytes"
        );
        assert_eq!(rows(&path).unwrap(), 24_000);
    }

    #[tokio::test]
    async fn a_write_waits_out_another_connections_lock_without_failing() {
        let (_dir, path) = database();
        let writes = SqliteWrites::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("begin immediate").unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            other.execute_batch("commit").unwrap();
        });
        let started = std::time::Instant::now();
        writes
            .upsert("a", b"x", "2030-01-01T00:00:00Z")
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "the write went through while another connection held the lock"
        );
        holder.join().unwrap();
        assert_eq!(row(&path, "a").unwrap().0, b"x");
    }
}
