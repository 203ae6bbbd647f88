//! The connection to Redis, shared by the `redis` strategy, cache-aside's cache and the JWT
//! denylist. It never blocks start-up: the app starts with Redis down, commands fail fast
//! (half a second) while it is away, and the client reconnects in the background.

use crate::backend::{Availability, Unavailable};
use async_trait::async_trait;
use std::{sync::Arc, time::Duration};
use tower_sessions::SessionStore;
use tower_sessions_redis_store::{
    fred::{
        interfaces::ClientLike,
        prelude::{Builder, Client, Config, ReconnectPolicy},
    },
    RedisStore,
};

/// How long a command may wait before Redis counts as unavailable.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// A Redis client that reconnects by itself.
#[derive(Clone, Debug)]
pub struct RedisConnection {
    client: Client,
}

impl RedisConnection {
    /// Starts connecting to `url` in the background; logical database `database` keeps the
    /// strategies' keys apart (the `redis` strategy and cache-aside's cache use different ones).
    pub fn start(url: &str, database: u8) -> Result<Self, String> {
        let mut config = Config::from_url(url).map_err(|error| error.to_string())?;
        config.fail_fast = false;
        config.database = Some(database);
        let client = Builder::from_config(config)
            .with_performance_config(|performance| {
                performance.default_command_timeout = COMMAND_TIMEOUT;
            })
            .with_connection_config(|connection| {
                connection.connection_timeout = COMMAND_TIMEOUT;
                connection.internal_command_timeout = COMMAND_TIMEOUT;
                connection.max_command_attempts = 1;
            })
            .set_policy(ReconnectPolicy::new_constant(0, 1000))
            .build()
            .map_err(|error| error.to_string())?;
        // The handle only ends when the client quits; reconnection happens inside.
        let _connection = client.connect();
        Ok(Self { client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A tower-sessions store over this connection, traced.
    pub fn session_store(&self) -> Arc<dyn SessionStore> {
        crate::traced_store::TracedStore::wrap(
            crate::traced_store::REDIS,
            Arc::new(RedisStore::new(self.client.clone())),
        )
    }

    /// Waits up to `limit` for the first connection; false if Redis did not answer.
    pub async fn wait_until_connected(&self, limit: std::time::Duration) -> bool {
        // Polled: `wait_for_connect` can miss a connection made just before it is called.
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }
}

#[async_trait]
impl Availability for RedisConnection {
    /// Cheap enough for every request: the client's own view of its connection, which it
    /// keeps current as it loses and regains Redis.
    async fn check(&self) -> Result<(), Unavailable> {
        if self.client.is_connected() {
            Ok(())
        } else {
            Err(Unavailable::new(
                "Redis is not reachable; the client keeps reconnecting",
            ))
        }
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        self.check().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, self.client.ping::<String>(None)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "Redis does not answer a ping");
                Err(Unavailable::new("Redis does not answer"))
            }
            Err(_) => Err(Unavailable::new("Redis does not answer in time")),
        }
    }
}
