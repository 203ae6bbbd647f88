//! The `memcached` strategy: the session id in the `sid` cookie, the session in Memcached under
//! that id, the item's expiry the idle timeout, served by the server-side backend
//! (`src/backends/server_side.rs`).
//!
//! What sets Memcached apart from Redis: it keeps nothing across its own restart, evicts the
//! least recently used items when its memory is full (an idle session can vanish before its
//! expiry), and has no replication. The client spreads the keys over the nodes itself, so a
//! node that stops takes its share of the sessions with it (they answer `503` while it is away,
//! and are gone when it comes back empty) and the other nodes' sessions stay. Compare-and-set
//! is built in: `mg … c` answers the item's CAS token, and `ms … C<token>` writes only if
//! nobody wrote since; the token is the revision a write must still find.
//!
//! The connection is this store's own (`pipe.rs`): one per serving thread to each node, the
//! thread's commands pipelined on it, as fred does for Redis; `pipe.rs` says why no crate's.

mod pipe;

use super::{record, traced::StoreVerbs, RecordStore, StoredSession};
use crate::session::{
    backend::Revision,
    error::{Availability, Unavailable},
};
use async_trait::async_trait;
use pipe::Reply;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// How long a command (or a connection) may take before the node counts as not answering.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// After a node failed, requests for its sessions are refused at once for this long, then the
/// next one tries it again: a node coming back is found without a restart.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What Memcached's meta protocol calls each operation.
pub const VERBS: StoreVerbs = StoreVerbs {
    name: "memcached",
    create: "ms ME (add)",
    save: "ms (set)",
    load: "mg v c",
    delete: "md",
    replace: "ms C<cas>",
};

/// Sessions in Memcached, one item per session, spread over `nodes` by the key's hash.
#[derive(Debug)]
pub struct MemcachedRecords {
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    address: Arc<str>,
    /// When a command to it last failed, until one succeeds.
    failed_at: Mutex<Option<Instant>>,
}

impl Node {
    fn failed_at(&self) -> Option<Instant> {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_failed_at(&self, at: Option<Instant>) {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Failed less than [`RETRY_AFTER`] ago.
    fn recently_failed(&self) -> bool {
        self.failed_at()
            .is_some_and(|at| at.elapsed() < RETRY_AFTER)
    }

    fn unavailable(&self, what: &str) -> session_store::Error {
        session_store::Error::Backend(format!("Memcached {} {what}", self.address))
    }

    /// Runs `command` on this thread's connection to this node.
    async fn run(&self, command: &Command<'_>) -> session_store::Result<Reply> {
        let bytes = command.encode()?;
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, pipe::call(&self.address, &bytes));
        match sent.await {
            Ok(Ok(Reply::Refused(why))) => Err(session_store::Error::Backend(format!(
                "Memcached {} answered {why}",
                self.address
            ))),
            Ok(Ok(reply)) => {
                self.set_failed_at(None);
                Ok(reply)
            }
            Ok(Err(_)) => {
                self.set_failed_at(Some(Instant::now()));
                Err(self.unavailable("does not answer"))
            }
            Err(_) => {
                pipe::forget(&self.address);
                self.set_failed_at(Some(Instant::now()));
                Err(self.unavailable("does not answer in time"))
            }
        }
    }
}

impl MemcachedRecords {
    /// Sessions over the nodes `url` names (`memcached://host:port,host:port`). Nothing
    /// connects until the first command.
    pub fn new(url: &str) -> Result<Self, String> {
        let list = url
            .strip_prefix("memcached://")
            .ok_or_else(|| format!("{url:?} is not a memcached:// URL"))?;
        let nodes: Vec<Node> = list
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(|address| Node {
                address: Arc::from(address),
                failed_at: Mutex::new(None),
            })
            .collect();
        if nodes.is_empty() {
            return Err(format!("{url:?} names no node"));
        }
        Ok(Self { nodes })
    }

    /// The node that holds `key`: its FNV-1a hash modulo the number of nodes, as simple
    /// clients do. (Adding a node moves most keys; consistent hashing would move a share.)
    fn node(&self, key: &str) -> &Node {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        &self.nodes[(hash % self.nodes.len() as u64) as usize]
    }

    /// The address of the node that holds session `id` (the inspector shows it).
    pub fn node_of(&self, id: &Id) -> &str {
        &self.node(&id.to_string()).address
    }

    /// Runs `command` on the node of its key, unless that node failed a moment ago.
    async fn run(&self, command: Command<'_>) -> session_store::Result<Reply> {
        let node = self.node(command.key());
        if node.recently_failed() {
            return Err(node.unavailable("did not answer a moment ago"));
        }
        node.run(&command).await
    }

    /// The item under `id`: its bytes and CAS token.
    async fn item(&self, id: &Id) -> session_store::Result<Option<(Vec<u8>, u64)>> {
        let key = id.to_string();
        match self.run(Command::Get(&key)).await? {
            Reply::Value { bytes, cas } => Ok(Some((bytes, cas))),
            _ => Ok(None),
        }
    }

    /// Stores `record` with `mode` flags (`ME` add, a `C<token>` compare-and-set, none: set);
    /// `false` when Memcached declined (the key exists for an add; for a compare-and-set,
    /// another write came first or the item is gone).
    async fn store(&self, record: &Record, mode: Option<String>) -> session_store::Result<bool> {
        let bytes = rmp_serde::to_vec(record)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        let key = record.id.to_string();
        let ttl = format!("T{}", expiry(record.expiry_date));
        let mut flags = vec![ttl.as_str()];
        flags.extend(mode.as_deref());
        let command = Command::Set {
            key: &key,
            bytes: &bytes,
            flags: &flags,
        };
        Ok(self.run(command).await? == Reply::Done)
    }
}

/// The commands this store sends, in Memcached's meta protocol.
enum Command<'a> {
    /// `mg <key> v c`: the value and its CAS token.
    Get(&'a str),
    /// `ms <key> <length> <flags>`: a set, an add (`ME`) or a compare-and-set (`C<token>`).
    Set {
        key: &'a str,
        bytes: &'a [u8],
        flags: &'a [&'a str],
    },
    /// `md <key>`.
    Delete(&'a str),
    /// `mn`: a round trip that touches no item.
    NoOp,
}

impl Command<'_> {
    fn key(&self) -> &str {
        match self {
            Command::Get(key) | Command::Delete(key) | Command::Set { key, .. } => key,
            Command::NoOp => "",
        }
    }

    /// The command's bytes. A key is at most 250 printable bytes, no space: anything else
    /// would be read as another command.
    fn encode(&self) -> session_store::Result<Vec<u8>> {
        let key = self.key();
        if key.len() > 250 || !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(session_store::Error::Backend(format!(
                "{key:?} is not a Memcached key"
            )));
        }
        Ok(match *self {
            Command::Get(key) => format!("mg {key} v c\r\n").into_bytes(),
            Command::Set { key, bytes, flags } => {
                let mut command =
                    format!("ms {key} {} {}\r\n", bytes.len(), flags.join(" ")).into_bytes();
                command.extend_from_slice(bytes);
                command.extend_from_slice(b"\r\n");
                command
            }
            Command::Delete(key) => format!("md {key}\r\n").into_bytes(),
            Command::NoOp => b"mn\r\n".to_vec(),
        })
    }
}

/// Memcached's expiry for `at`: the seconds from now, rounded up (its clock ticks in whole
/// seconds; rounded down, an item could go a second early), at least one. Memcached reads a
/// number over 30 days as a Unix time instead, so a longer timeout is sent as one.
fn expiry(at: OffsetDateTime) -> i64 {
    const LONGEST_RELATIVE: i64 = 30 * 24 * 60 * 60;
    let now = OffsetDateTime::now_utc();
    let seconds = ((at - now).as_seconds_f64().ceil() as i64).max(1);
    if seconds > LONGEST_RELATIVE {
        now.unix_timestamp() + seconds
    } else {
        seconds
    }
}

fn cas_revision(cas: u64) -> Revision {
    Revision::new(cas.to_le_bytes().to_vec())
}

#[async_trait]
impl SessionStore for MemcachedRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.store(record, Some("ME".into())).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store(record, None).await.map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.item(id)
            .await?
            .map(|(bytes, _)| record::from_msgpack(&bytes))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let key = id.to_string();
        self.run(Command::Delete(&key)).await.map(drop)
    }
}

#[async_trait]
impl RecordStore for MemcachedRecords {
    /// One `mg`, the session decoded straight from the item's bytes, at its CAS token.
    async fn load_session(&self, id: &Id) -> session_store::Result<Option<StoredSession>> {
        self.item(id)
            .await?
            .map(|(bytes, cas)| Ok(StoredSession::from_msgpack(&bytes)?.at(cas_revision(cas))))
            .transpose()
    }

    async fn load_revision(&self, id: &Id) -> session_store::Result<Option<(Record, Revision)>> {
        let Some((bytes, cas)) = self.item(id).await? else {
            return Ok(None);
        };
        Ok(Some((record::from_msgpack(&bytes)?, cas_revision(cas))))
    }

    async fn replace(&self, record: &Record, revision: &Revision) -> session_store::Result<bool> {
        let Ok(cas) = <[u8; 8]>::try_from(revision.bytes()) else {
            return Ok(false);
        };
        let guard = format!("C{}", u64::from_le_bytes(cas));
        self.store(record, Some(guard)).await
    }

    async fn describe_copy(&self, id: &Id) -> Option<String> {
        let (_, cas) = self.item(id).await.ok()??;
        Some(format!("node {}, CAS token {cas}", self.node_of(id)))
    }
}

#[async_trait]
impl Availability for MemcachedRecords {
    /// Refused at once only while every node failed a moment ago; with some nodes up, the
    /// sessions of a node that is down answer `503` from their own command.
    async fn check(&self) -> Result<(), Unavailable> {
        if self.nodes.iter().all(Node::recently_failed) {
            return Err(Unavailable::new("Memcached does not answer"));
        }
        Ok(())
    }

    /// A no-op round trip to every node.
    async fn probe(&self) -> Result<(), Unavailable> {
        let mut down = Vec::new();
        for node in &self.nodes {
            let answered = node.run(&Command::NoOp).await;
            if answered.is_err() {
                down.push(node.address.to_string());
            }
        }
        match down.is_empty() {
            true => Ok(()),
            false => Err(Unavailable::new(format!(
                "Memcached {} does not answer",
                down.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_every_node_and_always_to_the_same_one() {
        let store = MemcachedRecords::new("memcached://127.0.0.1:1,127.0.0.1:2").unwrap();
        let ids: Vec<Id> = (0..200).map(|_| Id::default()).collect();
        let first = ids
            .iter()
            .filter(|id| store.node_of(id) == "127.0.0.1:1")
            .count();
        assert!(
            (60..=140).contains(&first),
            "{first} of 200 on the first node"
        );
        for id in &ids {
            assert_eq!(store.node_of(id), store.node_of(id));
        }
    }

    #[test]
    fn a_key_that_would_read_as_another_command_is_never_sent() {
        for key in ["a b", "a\r\nflush_all", &"k".repeat(251), "é"] {
            assert!(Command::Get(key).encode().is_err(), "{key:?}");
        }
        assert_eq!(
            Command::Get("lRmK7Bykv2iPzHG-sAfJ4A").encode().unwrap(),
            b"mg lRmK7Bykv2iPzHG-sAfJ4A v c\r\n"
        );
    }

    #[test]
    fn a_url_must_name_nodes() {
        assert!(MemcachedRecords::new("redis://127.0.0.1:1").is_err());
        assert!(MemcachedRecords::new("memcached://").is_err());
        assert!(MemcachedRecords::new("memcached://a:1, b:2").is_ok());
    }

    #[test]
    fn an_expiry_past_thirty_days_is_sent_as_a_unix_time() {
        let now = OffsetDateTime::now_utc();
        let hour = expiry(now + time::Duration::hours(1));
        assert!((3600..=3601).contains(&hour), "{hour}");
        let far = now + time::Duration::days(40);
        let sent = expiry(far);
        assert!(
            (far.unix_timestamp()..=far.unix_timestamp() + 2).contains(&sent),
            "{sent} for {}",
            far.unix_timestamp()
        );
    }
}
