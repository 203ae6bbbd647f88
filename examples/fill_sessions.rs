//! Fills a store with synthetic sessions for the scale benchmark (`scripts/bench.sh --scale`).
//! Each record is what the server writes for a logged-in visitor with two cart lines
//! (`stores::record::session_record`, MessagePack as tower-sessions' stores encode it), so the sizes
//! and read times measured over them are the server's own.
//!
//!   fill_sessions redis COUNT | redis-cli --pipe     Redis protocol: SET id bytes EXAT, db 0
//!   fill_sessions sqlite PATH COUNT EXPIRED_PERCENT  rows in tower_sessions, some expired
//!                                                    (work for the sweep)

use rusqlite::Connection;
use session_strategies::{
    stores::record::session_record, ProductId, Quantity, SessionData, SessionUser, Strategy,
};
use std::{
    io::{BufWriter, Write},
    process::ExitCode,
    time::{Duration, Instant},
};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use tower_sessions::session::{Id, Record};

/// A live session's idle timeout: long enough to outlast the benchmark.
const LIVE_FOR: Duration = Duration::from_secs(3600);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["redis", count] => parse(count).and_then(fill_redis),
        ["sqlite", path, count, expired] => parse(count).and_then(|count| {
            let expired = parse(expired)?;
            fill_sqlite(path, count, expired)
        }),
        _ => Err(
            "usage: fill_sessions redis COUNT | fill_sessions sqlite PATH COUNT \
                  EXPIRED_PERCENT"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fill_sessions: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(number: &str) -> Result<u64, String> {
    number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("not a whole number: {number}"))
}

/// A logged-in visitor's session record, expiring at `expiry`, as MessagePack bytes.
/// A logged-in visitor's record for `owner`, and its MessagePack bytes.
fn visitor(
    user: u64,
    expiry: OffsetDateTime,
    owner: Strategy,
) -> Result<(Record, Vec<u8>), String> {
    let mut data = SessionData::guest();
    data.user = Some(SessionUser {
        id: user as i64,
        username: format!("visitor{user}"),
    });
    data.login = Some(format!("{:032x}", rand::random::<u128>()));
    for (product, quantity) in [(1, 2), (3, 1)] {
        let quantity = Quantity::try_from(quantity).map_err(|error| error.to_string())?;
        data.add_item(ProductId(product), quantity)
            .map_err(|error| error.to_string())?;
    }
    let record = session_record(Id::default(), &data, expiry, owner).map_err(|e| e.to_string())?;
    let bytes = rmp_serde::to_vec(&record).map_err(|error| error.to_string())?;
    Ok((record, bytes))
}

/// Writes the Redis protocol for `count` `SET id bytes EXAT t` commands to standard output.
fn fill_redis(count: u64) -> Result<(), String> {
    let expiry = OffsetDateTime::now_utc() + LIVE_FOR;
    let exat = expiry.unix_timestamp().to_string();
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let bulk = |out: &mut BufWriter<_>, bytes: &[u8]| -> std::io::Result<()> {
        write!(out, "${}\r\n", bytes.len())?;
        out.write_all(bytes)?;
        out.write_all(b"\r\n")
    };
    for user in 0..count {
        let (record, bytes) = visitor(user, expiry, Strategy::Redis)?;
        (|| -> std::io::Result<()> {
            out.write_all(b"*5\r\n")?;
            bulk(&mut out, b"SET")?;
            bulk(&mut out, record.id.to_string().as_bytes())?;
            bulk(&mut out, &bytes)?;
            bulk(&mut out, b"EXAT")?;
            bulk(&mut out, exat.as_bytes())
        })()
        .map_err(|error| error.to_string())?;
    }
    out.flush().map_err(|error| error.to_string())
}

/// Inserts `count` rows into the `tower_sessions` table of the SQLite file at `path` (the
/// server made it), `expired_percent` of them already expired, in transactions of 10,000.
fn fill_sqlite(path: &str, count: u64, expired_percent: u64) -> Result<(), String> {
    let started = Instant::now();
    let mut connection = Connection::open(path).map_err(|error| error.to_string())?;
    connection
        .busy_timeout(Duration::from_secs(10))
        .map_err(|error| error.to_string())?;
    let now = OffsetDateTime::now_utc();
    let mut user = 0;
    while user < count {
        let batch = connection.transaction().map_err(|e| e.to_string())?;
        {
            let mut insert = batch
                .prepare("insert into tower_sessions (id, data, expiry_date) values (?1, ?2, ?3)")
                .map_err(|error| error.to_string())?;
            for _ in 0..10_000.min(count - user) {
                let expired = user % 100 < expired_percent;
                let expiry = if expired {
                    now - Duration::from_secs(60)
                } else {
                    now + LIVE_FOR
                };
                let (record, bytes) = visitor(user, expiry, Strategy::Sql)?;
                let expiry = expiry.format(&Rfc3339).map_err(|e| e.to_string())?;
                insert
                    .execute((record.id.to_string(), bytes, expiry))
                    .map_err(|error| error.to_string())?;
                user += 1;
            }
        }
        batch.commit().map_err(|error| error.to_string())?;
    }
    // Into the database file itself, so that its size is what the rows take.
    connection
        .execute_batch("pragma wal_checkpoint(truncate)")
        .map_err(|error| error.to_string())?;
    eprintln!(
        "fill_sessions: {count} rows in {path} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
