//! The SQL session store: SQLite by default, PostgreSQL when the URL says so, with a background
//! task that deletes expired rows.

use crate::traced_store::{TracedStore, SQL};
use std::{sync::Arc, time::Duration};
use tower_sessions::{session_store::ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{
    sqlx::{postgres::PgPoolOptions, sqlite::SqlitePoolOptions},
    PostgresStore, SqliteStore,
};

/// How often expired sessions are swept.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects to `url`, creates the `tower_sessions` table if needed, and starts sweeping. The
/// store is traced.
pub async fn connect(url: &str) -> Result<Arc<dyn SessionStore>, sqlx::Error> {
    let store = connect_untraced(url).await?;
    Ok(TracedStore::wrap(SQL, store))
}

async fn connect_untraced(url: &str) -> Result<Arc<dyn SessionStore>, sqlx::Error> {
    if is_postgres(url) {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        let store = PostgresStore::new(pool);
        store.migrate().await?;
        sweep(store.clone());
        Ok(Arc::new(store))
    } else {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await?;
        let store = SqliteStore::new(pool);
        store.migrate().await?;
        sweep(store.clone());
        Ok(Arc::new(store))
    }
}

/// Deletes `store`'s expired sessions every [`SWEEP_PERIOD`], in the background.
pub fn sweep<S: ExpiredDeletion + Clone>(store: S) {
    tokio::spawn(async move {
        if let Err(error) = store.continuously_delete_expired(SWEEP_PERIOD).await {
            tracing::warn!(%error, "the expired-session sweep stopped");
        }
    });
}
