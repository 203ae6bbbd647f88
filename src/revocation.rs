//! What the server must remember even for strategies that keep the session on the client:
//! revoked families and refresh tokens.
//!
//! A *family* names every credential one login was given (each JWT, each sealed cookie of a
//! logged-in session): revoking it ends all of them at once, until the last could have expired.
//! Ended logins ("log out everywhere") are families too ([`logins`]). Refresh tokens (JWT) are
//! single-use, grouped by family, so a replayed one revokes its whole family.
//!
//! The ledger is SQL, the source of truth ([`sql`]); Redis is its fast path ([`redis`]); every
//! instance keeps the revoked families in memory, kept current by Redis announcements and a
//! re-read of SQL ([`mirror`]), so a lookup on the request path is a hash-map read.

pub mod logins;
pub mod mirror;
pub mod redis;
pub mod sql;
pub mod throwaway;

use crate::{session::error::Unavailable, trace};
use async_trait::async_trait;

/// Families whose credentials are refused from now on.
#[async_trait]
pub trait RevokedFamilies: Send + Sync + 'static {
    /// Revokes a family until `until` (Unix seconds, when the last credential it could have
    /// issued expires): every credential of it fails at once, and its refresh tokens are spent
    /// for good.
    async fn revoke_family(&self, family: &str, until: i64) -> Result<(), Unavailable>;
    async fn is_family_revoked(&self, family: &str) -> Result<bool, Unavailable>;
}

/// Refresh tokens, kept as hashes: one use each, a replay revokes the family.
#[async_trait]
pub trait RefreshTokens: Send + Sync + 'static {
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

/// A revocation lookup's outcome for the trace.
pub(crate) fn revoked<E: std::fmt::Display>(result: &Result<bool, E>) -> trace::Label {
    match result {
        Ok(true) => "revoked".into(),
        Ok(false) => "not revoked".into(),
        Err(_) => trace::outcome(result),
    }
}
