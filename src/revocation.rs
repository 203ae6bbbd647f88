//! What JWTs need remembered after all: revoked token families (logout, a replayed refresh
//! token), and refresh tokens (one use each, grouped in families so that a replayed one can
//! revoke every descendant). Every access token names its family, so revoking the family ends
//! every token the session was ever given, not only the last one.

use crate::{
    backend::Unavailable,
    trace::{self, outcome, short},
};
use async_trait::async_trait;
use sqlx::{any::AnyRow, AnyPool, Row};

/// What became of a refresh token presented for use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshUse {
    /// First use: it is now spent.
    Fresh {
        family: String,
        subject: String,
    },
    /// Spent moments ago (within the grace period): the sealed pair it was traded for.
    Repeated {
        successor: String,
    },
    /// Already spent: somebody replayed it, so its family must go.
    Reused {
        family: String,
    },
    /// Its family was revoked (logout, or an earlier replay).
    Revoked,
    Expired,
    Unknown,
}

impl RefreshUse {
    /// One word for a trace, naming no family.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Fresh { .. } => "fresh",
            Self::Repeated { .. } => "repeated within the grace period",
            Self::Reused { .. } => "reused",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Unknown => "unknown",
        }
    }
}

/// The ledger the JWT backend consults.
#[async_trait]
pub trait Revocations: Send + Sync + 'static {
    /// Revokes a family until `until` (Unix seconds, when the last access token it could have
    /// issued expires): every access token of it fails at once, and its refresh tokens are
    /// spent for good.
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable>;
    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable>;
    async fn store_refresh(
        &self,
        token_hash: &str,
        family: &str,
        subject: &str,
        expires_at: i64,
    ) -> Result<(), Unavailable>;
    /// Spends a refresh token, atomically: two concurrent uses cannot both be `Fresh`. A use
    /// within `grace` of the first gets `Repeated` with the pair the first one recorded.
    async fn use_refresh(
        &self,
        token_hash: &str,
        grace: std::time::Duration,
    ) -> Result<RefreshUse, Unavailable>;
    /// Records the sealed pair a refresh token was traded for, for the grace period.
    async fn record_successor(&self, token_hash: &str, sealed: &str) -> Result<(), Unavailable>;
}

/// How often a second use within the grace period looks for the pair the first is minting
/// (every 50 ms, a second in all).
const SUCCESSOR_POLLS: u32 = 20;

/// The ledger in the SQL database (SQLite or PostgreSQL, tables from the server's migrations).
#[derive(Clone, Debug)]
pub struct SqlRevocations {
    pool: AnyPool,
}

impl SqlRevocations {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Deletes rows that can no longer matter; run now and then.
    pub async fn delete_expired(&self) -> Result<u64, Unavailable> {
        let now = crate::data::now_unix();
        let revoked = sqlx::query("DELETE FROM revoked_families WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(Unavailable::new)?;
        let refresh = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(Unavailable::new)?;
        // A traded pair is kept sealed for the grace period only.
        sqlx::query("UPDATE refresh_tokens SET successor = NULL WHERE used_at <= $1")
            .bind(now - 60)
            .execute(&self.pool)
            .await
            .map_err(Unavailable::new)?;
        Ok(revoked.rows_affected() + refresh.rows_affected())
    }
}

impl SqlRevocations {
    /// Every revocation still in force, for the in-memory mirrors.
    pub async fn live_revocations(&self) -> Result<Vec<(String, i64)>, Unavailable> {
        let rows = trace::timed(
            || "sql SELECT revoked_families (all live)",
            outcome,
            sqlx::query("SELECT family, expires_at FROM revoked_families WHERE expires_at > $1")
                .bind(crate::data::now_unix())
                .fetch_all(&self.pool),
        )
        .await
        .map_err(Unavailable::new)?;
        rows.iter()
            .map(|row| {
                let until: i64 = row.try_get("expires_at").map_err(Unavailable::new)?;
                Ok((text(row, "family")?, until))
            })
            .collect()
    }
}

fn text(row: &AnyRow, column: &str) -> Result<String, Unavailable> {
    row.try_get::<String, _>(column).map_err(Unavailable::new)
}

#[async_trait]
impl Revocations for SqlRevocations {
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable> {
        trace::timed(
            || format!("sql INSERT revoked_families {}", short(family)),
            outcome,
            sqlx::query(
                "INSERT INTO revoked_families (family, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (family) DO UPDATE SET expires_at = excluded.expires_at",
            )
            .bind(family)
            .bind(until)
            .execute(&self.pool),
        )
        .await
        .map_err(Unavailable::new)?;
        trace::timed(
            || "sql UPDATE refresh_tokens SET revoked",
            outcome,
            sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family = $1")
                .bind(family)
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
        .map_err(Unavailable::new)
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable> {
        trace::timed(
            || format!("sql SELECT revoked_families {}", short(family)),
            |found: &Result<Option<AnyRow>, sqlx::Error>| {
                revoked(&found.as_ref().map(Option::is_some))
            },
            sqlx::query(
                "SELECT family FROM revoked_families WHERE family = $1 AND expires_at > $2",
            )
            .bind(family)
            .bind(crate::data::now_unix())
            .fetch_optional(&self.pool),
        )
        .await
        .map(|row| row.is_some())
        .map_err(Unavailable::new)
    }

    async fn store_refresh(
        &self,
        token_hash: &str,
        family: &str,
        subject: &str,
        expires_at: i64,
    ) -> Result<(), Unavailable> {
        trace::timed(
            || "sql INSERT refresh_tokens",
            outcome,
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family, subject, expires_at, used, revoked) \
                 VALUES ($1, $2, $3, $4, 0, 0)",
            )
            .bind(token_hash)
            .bind(family)
            .bind(subject)
            .bind(expires_at)
            .execute(&self.pool),
        )
        .await
        .map(|_| ())
        .map_err(Unavailable::new)
    }

    async fn use_refresh(
        &self,
        token_hash: &str,
        grace: std::time::Duration,
    ) -> Result<RefreshUse, Unavailable> {
        trace::timed(
            || "sql UPDATE refresh_tokens SET used",
            |result: &Result<RefreshUse, Unavailable>| match result {
                Ok(outcome) => outcome.label().into(),
                Err(error) => format!("error: {error}"),
            },
            self.spend_refresh(token_hash, grace),
        )
        .await
    }

    async fn record_successor(&self, token_hash: &str, sealed: &str) -> Result<(), Unavailable> {
        trace::timed(
            || "sql UPDATE refresh_tokens SET successor",
            outcome,
            sqlx::query("UPDATE refresh_tokens SET successor = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(sealed)
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
        .map_err(Unavailable::new)
    }
}

impl SqlRevocations {
    /// Marks a refresh token used, or says why it cannot be.
    async fn spend_refresh(
        &self,
        token_hash: &str,
        grace: std::time::Duration,
    ) -> Result<RefreshUse, Unavailable> {
        let now = crate::data::now_unix();
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used = 1, used_at = $2 \
             WHERE token_hash = $1 AND used = 0 AND revoked = 0 \
             RETURNING family, subject, expires_at",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(Unavailable::new)?;
        if let Some(row) = spent {
            let expires_at: i64 = row.try_get("expires_at").map_err(Unavailable::new)?;
            if expires_at <= crate::data::now_unix() {
                return Ok(RefreshUse::Expired);
            }
            return Ok(RefreshUse::Fresh {
                family: text(&row, "family")?,
                subject: text(&row, "subject")?,
            });
        }
        // Spent already. Within the grace period the first use may still be minting its
        // pair: wait for it a moment rather than call a second tab a thief.
        let grace = grace.as_secs() as i64;
        for attempt in 0..SUCCESSOR_POLLS {
            let existing = sqlx::query(
                "SELECT family, revoked, used_at, successor FROM refresh_tokens \
                 WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(Unavailable::new)?;
            let Some(row) = existing else {
                return Ok(RefreshUse::Unknown);
            };
            let revoked: i64 = row.try_get("revoked").map_err(Unavailable::new)?;
            if revoked != 0 {
                return Ok(RefreshUse::Revoked);
            }
            let used_at: Option<i64> = row.try_get("used_at").map_err(Unavailable::new)?;
            let within_grace = used_at.is_some_and(|used_at| now - used_at < grace);
            if !within_grace {
                break;
            }
            let successor: Option<String> = row.try_get("successor").map_err(Unavailable::new)?;
            if let Some(successor) = successor {
                return Ok(RefreshUse::Repeated { successor });
            }
            if attempt + 1 < SUCCESSOR_POLLS {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        let family: Option<String> =
            sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(Unavailable::new)?;
        Ok(match family {
            Some(family) => RefreshUse::Reused { family },
            None => RefreshUse::Unknown,
        })
    }
}

/// A revocation lookup's outcome for the trace.
fn revoked<E: std::fmt::Display>(result: &Result<bool, E>) -> trace::Label {
    match result {
        Ok(true) => "revoked".into(),
        Ok(false) => "not revoked".into(),
        Err(_) => trace::outcome(result),
    }
}

/// The ledger in SQL, the source of truth, with revoked families also in Redis as the fast
/// path. A revocation is written to both, so a Redis restart or flush never takes one back; a
/// lookup Redis cannot answer "revoked" goes on to SQL, where revocations written while Redis
/// was away (or before a flush) are.
#[derive(Clone, Debug)]
pub struct RedisFirstRevocations {
    redis: crate::redis_store::RedisConnection,
    sql: SqlRevocations,
}

impl RedisFirstRevocations {
    pub fn new(redis: crate::redis_store::RedisConnection, sql: SqlRevocations) -> Self {
        Self { redis, sql }
    }
}

fn revoked_key(family: &str) -> String {
    format!("revoked:{family}")
}

#[async_trait]
impl Revocations for RedisFirstRevocations {
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable> {
        use tower_sessions_redis_store::fred::{interfaces::KeysInterface, types::Expiration};
        self.sql.revoke_family(family, until).await?;
        let ttl = until - crate::data::now_unix();
        if ttl > 0 && self.redis.is_connected() {
            let written: Result<(), _> = trace::timed(
                || format!("redis SET revoked:{} EX {ttl}", short(family)),
                outcome,
                self.redis.client().set(
                    revoked_key(family),
                    1,
                    Some(Expiration::EX(ttl)),
                    None,
                    false,
                ),
            )
            .await;
            if let Err(error) = written {
                tracing::warn!(%error, "a revocation reached SQL but not Redis");
            }
        }
        Ok(())
    }

    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable> {
        use tower_sessions_redis_store::fred::interfaces::KeysInterface;
        if self.redis.is_connected() {
            let found: Result<i64, _> = trace::timed(
                || format!("redis EXISTS revoked:{}", short(family)),
                |found: &Result<i64, _>| revoked(&found.as_ref().map(|count| *count > 0)),
                self.redis.client().exists(revoked_key(family)),
            )
            .await;
            if let Ok(1..) = found {
                return Ok(true);
            }
        }
        self.sql.is_family_revoked(family).await
    }

    async fn store_refresh(
        &self,
        token_hash: &str,
        family: &str,
        subject: &str,
        expires_at: i64,
    ) -> Result<(), Unavailable> {
        self.sql
            .store_refresh(token_hash, family, subject, expires_at)
            .await
    }

    async fn use_refresh(
        &self,
        token_hash: &str,
        grace: std::time::Duration,
    ) -> Result<RefreshUse, Unavailable> {
        self.sql.use_refresh(token_hash, grace).await
    }

    async fn record_successor(&self, token_hash: &str, sealed: &str) -> Result<(), Unavailable> {
        self.sql.record_successor(token_hash, sealed).await
    }
}
