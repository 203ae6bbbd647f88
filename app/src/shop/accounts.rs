//! Demo users with argon2 password hashes.

use crate::error::{AppError, ErrorCode};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use session_strategies::SessionUser;
use sqlx::AnyPool;
use std::sync::{LazyLock, OnceLock};

/// The demo users the README names, created on first start.
pub const DEMO_USERS: [(&str, &str); 3] = [
    ("alice", "wonderland"),
    ("bob", "builder"),
    ("carol", "christmas"),
];

/// A hash to verify against when the user does not exist, so an unknown name takes as long as
/// a wrong password and does not reveal which names exist.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

/// Password checks at once: one per core, so a flood of logins cannot starve every other
/// request of CPU.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tokio::sync::Semaphore::new(cores)
});

/// Creates the demo users that are missing.
pub async fn ensure_demo_users(pool: &AnyPool) -> Result<(), AppError> {
    for (username, password) in DEMO_USERS {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?;
        if exists.is_none() {
            create_user(pool, username, password).await?;
        }
    }
    Ok(())
}

/// Creates `username` with `password` (argon2, hashed off the async threads), unless a user of
/// that name exists.
pub async fn create_user(pool: &AnyPool, username: &str, password: &str) -> Result<(), AppError> {
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)??;
    sqlx::query(
        "INSERT INTO users (username, password_hash) VALUES ($1, $2) \
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(username)
    .bind(hash)
    .execute(pool)
    .await?;
    Ok(())
}

fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(AppError::internal)
}

/// A user by name, without checking any password (magic links).
pub async fn find(pool: &AnyPool, username: &str) -> Result<Option<SessionUser>, AppError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, username)| SessionUser { id, username }))
}

/// The user with these credentials, or `invalid_credentials`.
pub async fn authenticate(
    pool: &AnyPool,
    username: &str,
    password: &str,
) -> Result<SessionUser, AppError> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, username, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?;
    let stored = row.as_ref().map(|(_, _, hash)| hash.clone());
    let password = password.to_owned();
    // Argon2 is built to be costly: a burst of logins must queue, not take every core.
    let _permit = HASHING.acquire().await.map_err(AppError::internal)?;
    let verified = tokio::task::spawn_blocking(move || {
        let stored = match stored {
            Some(hash) => hash,
            None => DUMMY_HASH
                .get_or_init(|| hash_password("no such user").unwrap_or_default())
                .clone(),
        };
        PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(AppError::internal)?;
    match row {
        Some((id, username, _)) if verified => Ok(SessionUser { id, username }),
        _ => Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "Wrong username or password.",
        )),
    }
}
