//! The demo's outbox: the mail the shop "sends" (magic login links) lands here instead of
//! leaving the machine, and `/outbox` shows it (on with `DEMO_OUTBOX=true`, as the run command
//! sets it) to visitors on this machine only: every user's mail is in it, and a mailbox belongs
//! to its recipient. A real shop hands the message to a mail server, and only the recipient
//! reads it; what matters for the session is that the link never comes back in the response to
//! whoever asked for it.

use crate::{error::AppError, model::OutboxMessage};
use session_strategies::clock::now_unix;
use sqlx::AnyPool;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Messages older than this are swept: their links have expired anyway.
pub const KEPT_SECONDS: i64 = 3600;
/// The most messages the outbox page lists.
const SHOWN: i64 = 50;

/// Puts a message for `recipient` in the outbox.
pub async fn send(
    pool: &AnyPool,
    recipient: &str,
    subject: &str,
    link: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO outbox (recipient, subject, link, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(recipient)
    .bind(subject)
    .bind(link)
    .bind(now_unix())
    .execute(pool)
    .await?;
    Ok(())
}

/// The outbox as this server shows it to `visitor`: the messages, `not_found` where the demo
/// outbox is off, `forbidden` to a visitor who is not on this machine.
pub async fn visible(
    shop: &super::Shop,
    visitor: &super::visitor::Visitor,
) -> Result<Vec<OutboxMessage>, AppError> {
    if !shop.outbox_enabled {
        return Err(AppError::not_found(
            "the demo outbox is off on this server (DEMO_OUTBOX)",
        ));
    }
    if !visitor.on_this_machine {
        return Err(AppError::new(
            crate::error::ErrorCode::Forbidden,
            "the demo outbox answers visitors on this machine only: a mailbox belongs to its \
             recipient",
        ));
    }
    messages(&shop.pool).await
}

/// The newest messages first.
pub async fn messages(pool: &AnyPool) -> Result<Vec<OutboxMessage>, AppError> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, recipient, subject, link, created_at FROM outbox \
         WHERE created_at > $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(now_unix() - KEPT_SECONDS)
    .bind(SHOWN)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, recipient, subject, link, created_at)| OutboxMessage {
            id,
            recipient,
            subject,
            link,
            sent_at: OffsetDateTime::from_unix_timestamp(created_at)
                .ok()
                .and_then(|at| at.format(&Rfc3339).ok())
                .unwrap_or_default(),
        })
        .collect())
}

/// Deletes what no page shows any more, and spent one-off links that have expired.
pub async fn sweep(pool: &AnyPool) -> Result<u64, AppError> {
    let now = now_unix();
    let mail = sqlx::query("DELETE FROM outbox WHERE created_at <= $1")
        .bind(now - KEPT_SECONDS)
        .execute(pool)
        .await?;
    let links = sqlx::query("DELETE FROM used_links WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(mail.rows_affected() + links.rows_affected())
}
