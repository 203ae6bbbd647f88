//! The strategies and everything said about them: one entry per strategy
//! (`strategy/entries.rs`) that the UI, the API, the guides, the charts and the tests read.
//! This module has no server dependencies, so the browser build shares it.

mod entries;
pub mod guide;

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

pub use guide::{Guide, Step};

/// One way of keeping a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Memory,
    Cookie,
    Jwt,
    Hybrid,
    Redis,
    Memcached,
    Sql,
    CacheAside,
    SignedUrl,
}

/// What a strategy is like, independent of whether it is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrategyMeta {
    pub id: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub state_location: &'static str,
    /// Whether its sessions outlive a restart of the app (its store's own restart is in
    /// [`ClusterBehaviour`]).
    pub survives_restart: bool,
    pub shared_across_instances: bool,
    /// What the backend can do, which the conformance suite checks strategy by strategy.
    pub capabilities: Capabilities,
    /// How a session is ended before it expires: deleting the server copy, or (where the
    /// client holds the whole session) a revocation ledger every instance reads. This and the
    /// next two are written `verdict: why`, the verdict short enough for a table cell
    /// ([`verdict`]).
    pub revocable: &'static str,
    /// Whether a client that refuses cookies can keep the session, and how.
    pub without_cookies: &'static str,
    /// What becomes of two changes made at once (two tabs).
    pub concurrent_writes: &'static str,
    /// What a second service (orders) needs in order to trust its sessions.
    pub second_service: SecondService,
    /// What its sessions do when the cluster run's processes fail (the `/cluster` page).
    pub cluster: ClusterBehaviour,
    /// How the charts draw it.
    pub look: Look,
    pub guide: Guide,
}

/// What a strategy's backend can do: the conformance suite (`tests/strategies/backends.rs`)
/// asserts each flag both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The server keeps a copy of the session, written with a compare-and-set on the revision
    /// it was read at: concurrent changes from several requests or instances all land, and a
    /// write never brings back a session that was ended. Without one, the client holds the
    /// session and the last response wins.
    pub server_copy: bool,
    /// Reading a session past half its idle timeout renews it (the record's expiry, a sealed
    /// cookie, a URL token). A JWT is not renewed on read: its short-lived access token is
    /// traded for a new one with the refresh token.
    pub renewed_on_read: bool,
}

/// What another service, one that did not create the session, needs in order to trust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondService {
    pub trust: Trust,
    /// What the shop must give it.
    pub needs: &'static str,
    /// How soon it refuses a session logged out at the shop.
    pub learns_of_logout: &'static str,
}

/// How a second service checks a session it did not create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Verifies a signature with the shop's published public keys: no round trip, no secret.
    PublicKeys,
    /// Opens the credential with a key the shop shares with it.
    SharedKey,
    /// Looks the session id up in the shared store, read-only.
    StoreRead,
    /// Asks the shop whether the credential is active (RFC 7662), with a credential of its own.
    Introspection,
    /// Cannot: the session is out of its reach.
    Cannot,
}

impl Trust {
    /// How the trace and the `X-Session-Verified` header name it.
    pub fn method(self) -> &'static str {
        match self {
            Trust::PublicKeys => "local signature",
            Trust::SharedKey => "shared key",
            Trust::StoreRead => "store read",
            Trust::Introspection => "introspection call",
            Trust::Cannot => "refused",
        }
    }
}

/// What a strategy's sessions do in a cluster, as the cluster test shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterBehaviour {
    /// One instance stops (a real process exit).
    pub instance_stop: &'static str,
    /// Every instance restarts.
    pub restart_all: &'static str,
    /// Redis shuts down and starts again from its append-only file.
    pub redis_restart: &'static str,
    /// Every Redis key is deleted.
    pub redis_flush: &'static str,
    /// The Redis primary is killed; the Sentinels promote its replica.
    pub redis_primary_killed: &'static str,
    /// One of the two Memcached nodes stops, and starts again empty.
    pub memcached_node_stop: &'static str,
    /// Memcached restarts: it keeps nothing across a restart.
    pub memcached_restart: &'static str,
    /// Memcached's memory fills up.
    pub memcached_full: &'static str,
}

/// A chart series' colour and dash pattern: colour is never the only cue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Look {
    /// Dark enough for AA contrast on white.
    pub colour: &'static str,
    /// An SVG `stroke-dasharray`; empty for a solid line.
    pub dash: &'static str,
}

impl Strategy {
    /// Every strategy, in the order the UI lists them.
    pub const ALL: [Strategy; 9] = [
        Strategy::Memory,
        Strategy::Cookie,
        Strategy::Jwt,
        Strategy::Hybrid,
        Strategy::Redis,
        Strategy::Memcached,
        Strategy::Sql,
        Strategy::CacheAside,
        Strategy::SignedUrl,
    ];

    pub fn id(self) -> &'static str {
        self.meta().id
    }

    /// Everything said about this strategy.
    pub fn meta(self) -> &'static StrategyMeta {
        match self {
            Strategy::Memory => &entries::MEMORY,
            Strategy::Cookie => &entries::COOKIE,
            Strategy::Jwt => &entries::JWT,
            Strategy::Hybrid => &entries::HYBRID,
            Strategy::Redis => &entries::REDIS,
            Strategy::Memcached => &entries::MEMCACHED,
            Strategy::Sql => &entries::SQL,
            Strategy::CacheAside => &entries::CACHE_ASIDE,
            Strategy::SignedUrl => &entries::SIGNED_URL,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The verdict of a `verdict: why` text, and the why (`None` for a bare verdict).
pub fn verdict(text: &'static str) -> (&'static str, Option<&'static str>) {
    match text.split_once(": ") {
        Some((verdict, why)) => (verdict, Some(why)),
        None => (text, None),
    }
}

/// A strategy id that names no strategy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown session strategy {0:?}")]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.id() == s)
            .ok_or_else(|| UnknownStrategy(s.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_id_parses_back_to_its_strategy() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.id().parse::<Strategy>(), Ok(strategy));
            let json = serde_json::to_string(&strategy).unwrap();
            assert_eq!(json, format!("\"{}\"", strategy.id()));
        }
    }

    /// The comparison table shows the verdicts: a few words each.
    #[test]
    fn every_verdict_fits_a_table_cell() {
        for strategy in Strategy::ALL {
            let meta = strategy.meta();
            for text in [meta.revocable, meta.without_cookies, meta.concurrent_writes] {
                let (short, _) = verdict(text);
                assert!(short.len() <= 16, "{strategy}: {short:?} is no verdict");
            }
        }
    }

    #[test]
    fn an_unknown_id_is_an_error() {
        assert!("sessions".parse::<Strategy>().is_err());
        assert!("".parse::<Strategy>().is_err());
    }

    /// A new strategy's entry must say everything the pages, charts and guides show.
    #[test]
    fn every_strategy_has_each_piece_of_its_entry() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        let mut looks = HashSet::new();
        for strategy in Strategy::ALL {
            let meta = strategy.meta();
            assert!(ids.insert(meta.id), "{strategy}: id used twice");
            assert!(names.insert(meta.name), "{strategy}: name used twice");
            assert!(looks.insert(meta.look), "{strategy}: look used twice");
            for (piece, text) in [
                ("name", meta.name),
                ("summary", meta.summary),
                ("state location", meta.state_location),
                ("without cookies", meta.without_cookies),
                ("revocable", meta.revocable),
                ("concurrent writes", meta.concurrent_writes),
                ("cluster: instance stop", meta.cluster.instance_stop),
                ("cluster: restart all", meta.cluster.restart_all),
                ("cluster: Redis restart", meta.cluster.redis_restart),
                ("cluster: Redis flush", meta.cluster.redis_flush),
                (
                    "cluster: Redis primary killed",
                    meta.cluster.redis_primary_killed,
                ),
                (
                    "cluster: Memcached node stop",
                    meta.cluster.memcached_node_stop,
                ),
                ("cluster: Memcached restart", meta.cluster.memcached_restart),
                ("cluster: Memcached full", meta.cluster.memcached_full),
                ("choose when", meta.guide.choose_when),
                ("avoid when", meta.guide.avoid_when),
                ("what a stolen credential gives", meta.guide.stolen),
            ] {
                assert!(!text.trim().is_empty(), "{strategy}: no {piece}");
            }
            assert!(
                meta.look.colour.len() == 7
                    && meta.look.colour.starts_with('#')
                    && meta.look.colour[1..].bytes().all(|b| b.is_ascii_hexdigit()),
                "{strategy}: colour {}",
                meta.look.colour
            );
            assert!(meta.guide.how.iter().all(|sentence| !sentence.is_empty()));
            assert!(!meta.guide.sequence.is_empty(), "{strategy}: no sequence");
            assert!(
                !meta.guide.security.is_empty(),
                "{strategy}: no security notes"
            );
            let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(meta.guide.source);
            assert!(
                source.is_file(),
                "{strategy}: {} is not a file",
                meta.guide.source
            );
        }
    }
}
