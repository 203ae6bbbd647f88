//! The ledger in the SQL database (SQLite or PostgreSQL, tables from the server's migrations):
//! where every revocation and refresh token is written, and what every instance re-reads.

use super::{revoked, RefreshTokens, RefreshUse, RevokedFamilies};
use crate::{
    clock::now_unix,
    session::error::Unavailable,
    trace::{self, outcome, redact::short},
};
use async_trait::async_trait;
use sqlx::{any::AnyRow, AnyPool, Row};

/// How often a second use within the grace period looks for the pair the first is minting
/// (every 50 ms, a second in all).
const SUCCESSOR_POLLS: u32 = 20;

/// The revocation ledger and the refresh tokens, in SQL.
#[derive(Clone, Debug)]
pub struct SqlLedger {
    pool: AnyPool,
}

impl SqlLedger {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Deletes rows that can no longer matter; run now and then.
    pub async fn delete_expired(&self) -> Result<u64, Unavailable> {
        let now = now_unix();
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

impl SqlLedger {
    /// Every revocation still in force, for the in-memory mirrors.
    pub async fn live_revocations(&self) -> Result<Vec<(String, i64)>, Unavailable> {
        let rows = trace::timed(
            || "sql SELECT revoked_families (all live)",
            outcome,
            sqlx::query("SELECT family, expires_at FROM revoked_families WHERE expires_at > $1")
                .bind(now_unix())
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
impl RevokedFamilies for SqlLedger {
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
            .bind(now_unix())
            .fetch_optional(&self.pool),
        )
        .await
        .map(|row| row.is_some())
        .map_err(Unavailable::new)
    }
}

#[async_trait]
impl RefreshTokens for SqlLedger {
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

impl SqlLedger {
    /// Marks a refresh token used, or says why it cannot be.
    async fn spend_refresh(
        &self,
        token_hash: &str,
        grace: std::time::Duration,
    ) -> Result<RefreshUse, Unavailable> {
        let now = now_unix();
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
            if expires_at <= now_unix() {
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
