//! Revoked families in Redis as well as in SQL: the fast path. A revocation is written to both,
//! so a Redis restart or flush never takes one back; a lookup Redis cannot answer "revoked"
//! goes on to SQL, where revocations written while Redis was away (or before a flush) are.

use super::{revoked, sql::SqlLedger, RevokedFamilies};
use crate::{
    clock::now_unix,
    redis::RedisConnection,
    session::error::Unavailable,
    trace::{self, outcome, redact::short},
};
use async_trait::async_trait;
use tower_sessions_redis_store::fred::{interfaces::KeysInterface, types::Expiration};

/// Revoked families in SQL, the source of truth, and in Redis, the fast path.
#[derive(Clone, Debug)]
pub struct RedisFirstFamilies {
    redis: RedisConnection,
    sql: SqlLedger,
}

impl RedisFirstFamilies {
    pub fn new(redis: RedisConnection, sql: SqlLedger) -> Self {
        Self { redis, sql }
    }
}

fn revoked_key(family: &str) -> String {
    format!("revoked:{family}")
}

#[async_trait]
impl RevokedFamilies for RedisFirstFamilies {
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable> {
        self.sql.revoke_family(family, until).await?;
        let ttl = until - now_unix();
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
}
