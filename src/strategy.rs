//! The strategies' ids, names and properties: one table that the UI, the API and the docs read.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// One way of keeping a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Memory,
    Cookie,
    Jwt,
    Redis,
    Sql,
    CacheAside,
    SignedUrl,
}

/// What a strategy is like, independent of whether it is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StrategyProperties {
    pub id: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub state_location: &'static str,
    pub survives_restart: bool,
    pub shared_across_instances: bool,
    pub revocable: bool,
    /// The credential travels in URLs, so pages must not leak them (Referer, caches).
    pub credential_in_url: bool,
    /// Whether a client that refuses cookies can keep the session, and how.
    pub without_cookies: &'static str,
}

impl Strategy {
    /// Every strategy, in the order the UI lists them.
    pub const ALL: [Strategy; 7] = [
        Strategy::Memory,
        Strategy::Cookie,
        Strategy::Jwt,
        Strategy::Redis,
        Strategy::Sql,
        Strategy::CacheAside,
        Strategy::SignedUrl,
    ];

    pub fn id(self) -> &'static str {
        self.properties().id
    }

    pub fn properties(self) -> StrategyProperties {
        match self {
            Strategy::Memory => StrategyProperties {
                id: "memory",
                name: "In-memory store",
                summary: "Session id in a cookie, state in this server process's memory.",
                state_location: "server process memory",
                survives_restart: false,
                shared_across_instances: false,
                revocable: true,
                credential_in_url: false,
                without_cookies: "no",
            },
            Strategy::Cookie => StrategyProperties {
                id: "cookie",
                name: "Encrypted cookie",
                summary:
                    "The whole session in a signed and encrypted cookie; nothing on the server.",
                state_location: "the client, in an encrypted cookie",
                survives_restart: true,
                shared_across_instances: true,
                revocable: false,
                credential_in_url: false,
                without_cookies: "no",
            },
            Strategy::Jwt => StrategyProperties {
                id: "jwt",
                name: "JSON Web Token",
                summary:
                    "The session in the claims of a signed token, verified without server state.",
                state_location: "the client, in signed JWT claims",
                survives_restart: true,
                shared_across_instances: true,
                revocable: false,
                credential_in_url: false,
                without_cookies: "with a Bearer header (API clients)",
            },
            Strategy::Redis => StrategyProperties {
                id: "redis",
                name: "Redis store",
                summary: "Session id in a cookie, state in Redis with a time to live.",
                state_location: "Redis",
                survives_restart: true,
                shared_across_instances: true,
                revocable: true,
                credential_in_url: false,
                without_cookies: "no",
            },
            Strategy::Sql => StrategyProperties {
                id: "sql",
                name: "SQL store",
                summary: "Session id in a cookie, state in a database table.",
                state_location: "SQL database",
                survives_restart: true,
                shared_across_instances: true,
                revocable: true,
                credential_in_url: false,
                without_cookies: "no",
            },
            Strategy::CacheAside => StrategyProperties {
                id: "cache-aside",
                name: "Redis cache over SQL",
                summary: "Sessions persisted in SQL and read through a Redis cache.",
                state_location: "SQL database, cached in Redis",
                survives_restart: true,
                shared_across_instances: true,
                revocable: true,
                credential_in_url: false,
                without_cookies: "no",
            },
            Strategy::SignedUrl => StrategyProperties {
                id: "signed-url",
                name: "Signed URL",
                summary: "A signed, expiring session id in every link; no cookies at all.",
                state_location: "a server store, found through the URL",
                survives_restart: true,
                shared_across_instances: true,
                revocable: true,
                credential_in_url: true,
                without_cookies: "yes: the token is in every URL",
            },
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
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

    #[test]
    fn every_id_parses_back_to_its_strategy() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.id().parse::<Strategy>(), Ok(strategy));
            let json = serde_json::to_string(&strategy).unwrap();
            assert_eq!(json, format!("\"{}\"", strategy.id()));
        }
    }

    #[test]
    fn an_unknown_id_is_an_error() {
        assert!("sessions".parse::<Strategy>().is_err());
        assert!("".parse::<Strategy>().is_err());
    }
}
