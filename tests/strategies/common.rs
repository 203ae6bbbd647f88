//! What the backend tests share: a fresh SQLite database with the server's migrations.

use session_strategies::{
    revocation::SqlRevocations, ProductId, Quantity, SessionData, SessionUser,
};

/// A fresh SQLite file (kept until the process ends) with the server's migrations applied.
pub async fn sqlite_url() -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./server/migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    url
}

/// A token ledger in a fresh database.
pub async fn ledger() -> SqlRevocations {
    sqlx::any::install_default_drivers();
    SqlRevocations::new(sqlx::AnyPool::connect(&sqlite_url().await).await.unwrap())
}

/// Alice with two cart lines, at fixed times: two calls give equal sessions whatever the clock
/// does between them.
pub fn sample() -> SessionData {
    let mut data = SessionData::guest();
    data.created_at = 1_700_000_000;
    data.last_seen = 1_700_000_000;
    data.expires_by = 4_000_000_000;
    data.user = Some(SessionUser {
        id: 1,
        username: "alice".into(),
    });
    data.add_item(ProductId(3), Quantity::try_from(2).unwrap())
        .unwrap();
    data.add_item(ProductId(7), Quantity::try_from(1).unwrap())
        .unwrap();
    data
}
