//! What the backend tests share: a fresh SQLite database with the server's migrations.

use session_strategies::revocation::SqlRevocations;

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
