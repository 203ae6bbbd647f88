//! One conformance suite, run once per backend: round trip, tamper, unknown key, destroy,
//! rotation, expiry. A filter such as `cargo test cookie` picks one backend.

use crate::common::{ledger, sample, sqlite_url};
use axum_extra::extract::cookie::Key;
use http::{header::COOKIE, request::Parts, Request};
use session_strategies::record_store::RecordStore;
use session_strategies::{
    cache_aside::CacheAsideStore,
    cookie::CookieBackend,
    jwt::{JwtBackend, JwtSettings, SigningKey},
    layer::open_session,
    memory_store::MemoryRecords,
    redis_store::RedisConnection,
    signed_url::{SignedUrlBackend, URL_PARAM},
    sql_store,
    store::StoreBackend,
    transport::url_param,
    url_signer::UrlSigner,
    ClientChange, Notice, ProductId, Quantity, SessionBackend, SessionData, SessionRegistry,
    SessionUser, Stored, Strategy,
};
use std::{sync::Arc, time::Duration};

const TTL: Duration = Duration::from_secs(1800);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub async fn redis(database: u8) -> RedisConnection {
    let connection = RedisConnection::start(&redis_url(), database).unwrap();
    assert!(
        connection
            .wait_until_connected(Duration::from_secs(5))
            .await,
        "these tests need Redis at {} (scripts/test.sh starts one)",
        redis_url()
    );
    connection
}

async fn sql_sessions() -> Arc<dyn RecordStore> {
    sql_store::connect(&sqlite_url().await).await.unwrap()
}

async fn memory(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(StoreBackend::new(
        Strategy::Memory,
        Arc::new(MemoryRecords::swept()),
        ttl,
    ))
}

async fn cookie(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(CookieBackend::new(
        Key::generate(),
        ttl,
        Arc::new(ledger().await),
    ))
}

fn jwt_settings(ttl: Duration, keys: Vec<SigningKey>) -> JwtSettings {
    JwtSettings {
        keys,
        issuer: "test-issuer".into(),
        audience: "test-audience".into(),
        access_ttl: ttl,
        refresh_ttl: ttl,
        refresh_grace: Duration::from_secs(10),
    }
}

fn key(kid: &str, byte: u8) -> SigningKey {
    SigningKey::new(kid, vec![byte; 32]).unwrap()
}

async fn jwt(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(
        JwtBackend::new(
            jwt_settings(ttl, vec![key("k1", 7)]),
            Arc::new(ledger().await),
        )
        .unwrap(),
    )
}

async fn redis_backend(ttl: Duration) -> Arc<dyn SessionBackend> {
    let connection = redis(0).await;
    Arc::new(
        StoreBackend::new(Strategy::Redis, connection.session_store(), ttl)
            .with_availability(Arc::new(connection)),
    )
}

async fn sql(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(StoreBackend::new(Strategy::Sql, sql_sessions().await, ttl))
}

async fn cache_aside(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(StoreBackend::new(
        Strategy::CacheAside,
        Arc::new(CacheAsideStore::new(redis(1).await, sql_sessions().await)),
        ttl,
    ))
}

async fn signed_url(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(SignedUrlBackend::new(
        UrlSigner::new(&[9; 32]),
        sql_sessions().await,
        ttl,
    ))
}

/// What the client holds after some responses: cookies, and a URL token where the strategy
/// puts one there.
#[derive(Clone, Debug, Default)]
struct ClientState {
    cookies: Vec<(&'static str, String)>,
    url_token: Option<String>,
}

impl ClientState {
    fn after(backend: &dyn SessionBackend, changes: &[ClientChange]) -> Self {
        let mut state = Self::default();
        let in_url = url_param(backend.carriers()).is_some();
        for change in changes {
            match change {
                ClientChange::SetCookie { name, value, .. } => {
                    state.cookies.push((*name, value.clone()))
                }
                ClientChange::Credential(value) if in_url => state.url_token = Some(value.clone()),
                _ => {}
            }
        }
        state
    }

    /// The credential a tamper test attacks: the URL token, else the first cookie.
    fn primary(&self) -> String {
        self.url_token
            .clone()
            .unwrap_or_else(|| self.cookies[0].1.clone())
    }

    fn with_primary(&self, value: String) -> Self {
        let mut state = self.clone();
        match &mut state.url_token {
            Some(token) => *token = value,
            None => state.cookies[0].1 = value,
        }
        state
    }
}

/// A request for `strategy` carrying `client`'s credentials.
fn request(strategy: Strategy, client: &ClientState) -> Parts {
    let header = client
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .chain([format!("strategy={strategy}")])
        .collect::<Vec<_>>()
        .join("; ");
    let uri = match &client.url_token {
        Some(token) => format!("/?{URL_PARAM}={token}"),
        None => "/".to_owned(),
    };
    let (parts, ()) = Request::builder()
        .uri(uri)
        .header(COOKIE, header)
        .body(())
        .unwrap()
        .into_parts();
    parts
}

macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            async fn backend() -> Arc<dyn SessionBackend> {
                $make(TTL).await
            }

            async fn notice_for(
                backend: Arc<dyn SessionBackend>,
                client: &ClientState,
            ) -> (Option<Notice>, SessionData) {
                let strategy = backend.strategy();
                let registry = SessionRegistry::new(strategy, vec![backend]);
                let session = open_session(&registry, &request(strategy, client))
                    .await
                    .expect("an invalid credential is never an error");
                (session.notice(), session.data())
            }

            /// Where the server keeps a copy, a write names the revision it read: a write
            /// over a newer copy, or over a deleted one, stores nothing.
            #[tokio::test]
            async fn a_write_over_a_changed_or_deleted_copy_stores_nothing() {
                let backend = backend().await;
                let strategy = backend.strategy();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let Some(key) = saved.key.clone() else {
                    return;
                };
                let Stored::Found(_, first) = backend.stored(&key).await.unwrap() else {
                    // The client holds the session: nothing on the server to compare.
                    assert_eq!(backend.stored(&key).await.unwrap(), Stored::NotKept);
                    return;
                };
                let mut newer = sample();
                newer.clear_cart();
                backend.replace(&newer, &key, &first).await.unwrap();
                let Stored::Found(stored, second) = backend.stored(&key).await.unwrap() else {
                    panic!("{strategy}: the replaced copy is there");
                };
                assert_eq!(stored.cart, newer.cart, "{strategy}");
                assert_ne!(first, second, "{strategy}: a write makes a new revision");
                assert_eq!(
                    backend.replace(&sample(), &key, &first).await.unwrap_err(),
                    session_strategies::BackendError::Conflict,
                    "{strategy}: the first revision is stale"
                );
                backend.destroy(Some(&key)).await.unwrap();
                assert_eq!(
                    backend.replace(&sample(), &key, &second).await.unwrap_err(),
                    session_strategies::BackendError::Conflict,
                    "{strategy}: a deleted session is never written back"
                );
                assert_eq!(
                    backend
                        .save(&sample(), Some(&key), false)
                        .await
                        .unwrap_err(),
                    session_strategies::BackendError::Conflict,
                    "{strategy}: not even by a plain save"
                );
                assert_eq!(backend.stored(&key).await.unwrap(), Stored::Gone);
                let client = ClientState::after(backend.as_ref(), &saved.client);
                assert!(
                    !matches!(backend.load(&request(strategy, &client)).await, Ok(Some(_))),
                    "{strategy}: the old credential loads nothing"
                );
            }

            /// A load names the revision it read where the store can tell, and a request's
            /// first write tries its compare-and-set on it before reading the copy again:
            /// that revision must be the stored one, and a write landing in between must
            /// make the change land on the newer copy, nothing lost and nothing resurrected.
            #[tokio::test]
            async fn a_change_after_another_write_lands_on_the_newer_copy() {
                let backend = backend().await;
                let strategy = backend.strategy();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let loaded = backend
                    .load(&request(strategy, &client))
                    .await
                    .unwrap()
                    .unwrap();
                let stored = match &saved.key {
                    Some(key) => backend.stored(key).await.unwrap(),
                    None => Stored::NotKept,
                };
                let (Some(key), Stored::Found(_, current)) = (saved.key, stored) else {
                    assert_eq!(loaded.revision, None, "{strategy}: nothing stored to name");
                    return;
                };
                if let Some(revision) = &loaded.revision {
                    assert_eq!(
                        revision, &current,
                        "{strategy}: the load names the stored one"
                    );
                }
                let registry = SessionRegistry::new(strategy, vec![backend.clone()]);
                let session = open_session(&registry, &request(strategy, &client))
                    .await
                    .unwrap();
                // Another request (or instance) empties the cart after this one loaded it.
                let mut emptied = sample();
                emptied.clear_cart();
                backend.replace(&emptied, &key, &current).await.unwrap();
                session
                    .change(|data| {
                        data.add_item(ProductId(5), Quantity::try_from(1).unwrap())
                            .map_err(|_| session_strategies::SessionError::Conflict)
                    })
                    .await
                    .unwrap();
                let Stored::Found(stored, _) = backend.stored(&key).await.unwrap() else {
                    panic!("{strategy}: the session is still there");
                };
                assert_eq!(stored.item_count(), 1, "{strategy}: {:?}", stored.cart);
                assert!(stored.quantity_of(ProductId(5)).is_some(), "{strategy}");
            }

            #[tokio::test]
            async fn a_saved_session_loads_back_equal() {
                let backend = backend().await;
                let strategy = backend.strategy();
                let data = sample();
                let saved = backend.save(&data, None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let loaded = backend
                    .load(&request(strategy, &client))
                    .await
                    .unwrap()
                    .expect("a session");
                assert_eq!(loaded.data, data);
                assert_eq!(loaded.key, saved.key);
                assert!(loaded.expires_at > session_strategies::data::now_unix());
            }

            #[tokio::test]
            async fn a_request_without_credentials_loads_nothing() {
                let backend = backend().await;
                let strategy = backend.strategy();
                assert_eq!(
                    backend
                        .load(&request(strategy, &ClientState::default()))
                        .await,
                    Ok(None)
                );
            }

            #[tokio::test]
            async fn every_flipped_byte_of_the_credential_loads_as_a_fresh_guest() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let value = client.primary();
                let bytes = value.as_bytes();
                for index in 0..bytes.len() {
                    let mut tampered = bytes.to_vec();
                    // Stay within the credential's alphabet so the request still parses.
                    tampered[index] = if tampered[index] == b'A' { b'B' } else { b'A' };
                    let tampered = client.with_primary(String::from_utf8(tampered).unwrap());
                    let (notice, data) = notice_for(backend.clone(), &tampered).await;
                    assert_eq!(
                        notice,
                        Some(Notice::SessionInvalid),
                        "byte {index} of {value}"
                    );
                    assert!(data.is_blank());
                }
            }

            #[tokio::test]
            async fn a_truncated_or_garbage_credential_loads_as_a_fresh_guest() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let value = client.primary();
                for bad in [
                    value[..value.len() / 2].to_owned(),
                    value[..1].to_owned(),
                    "garbage".to_owned(),
                    "%%%%".to_owned(),
                    "A".repeat(5000),
                ] {
                    let (notice, data) =
                        notice_for(backend.clone(), &client.with_primary(bad)).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                    assert!(data.is_blank());
                }
            }

            #[tokio::test]
            async fn a_destroyed_session_no_longer_loads() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                backend.destroy(saved.key.as_ref()).await.unwrap();
                if saved.key.is_some() {
                    // Server copies are really gone or revoked, not only forgotten by the client.
                    let (notice, data) = notice_for(backend.clone(), &client).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                    assert!(data.is_blank());
                }
            }

            /// Whatever a backend keeps of a credential it has read (a decoded copy, a
            /// verified token, an opened cookie) must not outlive the session.
            #[tokio::test]
            async fn a_session_read_before_it_was_destroyed_no_longer_loads() {
                let backend = backend().await;
                let strategy = backend.strategy();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                for _ in 0..2 {
                    let loaded = backend.load(&request(strategy, &client)).await.unwrap();
                    assert_eq!(loaded.unwrap().data, sample());
                }
                backend.destroy(saved.key.as_ref()).await.unwrap();
                if saved.key.is_some() {
                    let (notice, data) = notice_for(backend.clone(), &client).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                    assert!(data.is_blank());
                }
            }

            #[tokio::test]
            async fn rotation_issues_a_new_credential_and_retires_the_old_key() {
                let backend = backend().await;
                let strategy = backend.strategy();
                let first = backend.save(&sample(), None, false).await.unwrap();
                let second = backend
                    .save(&sample(), first.key.as_ref(), true)
                    .await
                    .unwrap();
                let old = ClientState::after(backend.as_ref(), &first.client);
                let new = ClientState::after(backend.as_ref(), &second.client);
                assert_ne!(old.primary(), new.primary());
                if first.key.is_some() {
                    assert_ne!(first.key, second.key);
                    let (notice, _) = notice_for(backend.clone(), &old).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                }
                let loaded = backend
                    .load(&request(strategy, &new))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(loaded.data, sample());
            }

            #[tokio::test]
            async fn a_session_past_its_absolute_timeout_loads_as_expired_however_active() {
                let backend = backend().await;
                let mut data = sample();
                data.expires_by = session_strategies::data::now_unix() - 1;
                let saved = backend.save(&data, None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let (notice, loaded) = notice_for(backend.clone(), &client).await;
                assert_eq!(notice, Some(Notice::SessionExpired));
                assert!(loaded.is_blank());
            }

            #[tokio::test]
            async fn an_expired_session_loads_as_a_fresh_guest() {
                let backend = $make(Duration::ZERO).await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let (notice, data) = notice_for(backend, &client).await;
                assert!(notice.is_some());
                assert!(data.is_blank());
            }
        }
    };
}

conformance!(memory_backend, memory);
conformance!(cookie_backend, cookie);
conformance!(jwt_backend, jwt);
conformance!(redis_backend, redis_backend);
conformance!(sql_backend, sql);
conformance!(cache_aside_backend, cache_aside);
conformance!(signed_url_backend, signed_url);

#[tokio::test]
async fn a_cookie_from_another_key_is_invalid() {
    let ours = cookie(TTL).await;
    let theirs = cookie(TTL).await;
    let saved = theirs.save(&sample(), None, false).await.unwrap();
    let result = ours
        .load(&request(
            Strategy::Cookie,
            &ClientState::after(theirs.as_ref(), &saved.client),
        ))
        .await;
    assert!(matches!(
        result,
        Err(session_strategies::LoadError::Invalid(_) | session_strategies::LoadError::Unknown)
    ));
}

/// The trace ring of a cookie session is named by the seal's tail (its AES-GCM tag): every
/// save seals afresh, so each save names a new ring, and a value whose tag differs is another.
#[tokio::test]
async fn a_sealed_cookie_is_traced_under_its_tag() {
    let backend = cookie(TTL).await;
    let sealed = || async {
        let saved = backend.save(&sample(), None, false).await.unwrap();
        ClientState::after(backend.as_ref(), &saved.client).primary()
    };
    let (first, second) = (sealed().await, sealed().await);
    assert_ne!(first, second, "a fresh nonce on every seal");
    let key = |value: &str| backend.trace_key(value);
    assert_eq!(key(&first), key(&first.clone()));
    assert_ne!(key(&first), key(&second));
    let mut retagged = first.clone();
    let last = retagged.pop().unwrap();
    retagged.push(if last == 'A' { 'B' } else { 'A' });
    assert_ne!(key(&first), key(&retagged));
}

/// Over HTTPS the sealed cookie travels as `__Host-session` and opens under that name; the
/// same value under the plain name is not read there (a subdomain or a plain-HTTP page can
/// plant that one), nor the prefixed name where cookies are not prefixed. It once was sealed
/// under `session` and opened under the name it travelled under, which refused every cookie
/// over HTTPS.
#[tokio::test]
async fn a_sealed_cookie_opens_under_its_https_name_and_only_there() {
    use session_strategies::transport::HostPrefixedCookies;
    let backend = cookie(TTL).await;
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let value = ClientState::after(backend.as_ref(), &saved.client).primary();
    let sent = |name: &str, https: bool| {
        let (mut parts, ()) = Request::builder()
            .header(COOKIE, format!("{name}={value}"))
            .body(())
            .unwrap()
            .into_parts();
        if https {
            parts.extensions.insert(HostPrefixedCookies);
        }
        parts
    };
    let loaded = backend.load(&sent("__Host-session", true)).await.unwrap();
    assert_eq!(loaded.map(|loaded| loaded.data), Some(sample()));
    assert!(backend
        .load(&sent("session", true))
        .await
        .unwrap()
        .is_none());
    assert!(backend
        .load(&sent("__Host-session", false))
        .await
        .unwrap()
        .is_none());
    // Read twice: the second answer comes from the opened-cookie cache, and agrees.
    let again = backend.load(&sent("__Host-session", true)).await.unwrap();
    assert_eq!(again.map(|loaded| loaded.data), Some(sample()));
}

#[tokio::test]
async fn a_cart_too_big_for_a_cookie_is_refused_with_its_size() {
    let backend = cookie(TTL).await;
    let mut data = SessionData::guest();
    for id in 0..100 {
        data.add_item(
            ProductId(1_000_000_000 + id),
            Quantity::try_from(99).unwrap(),
        )
        .unwrap();
    }
    data.user = Some(SessionUser {
        id: 1,
        username: "x".repeat(2000),
    });
    let error = backend.save(&data, None, false).await.unwrap_err();
    assert!(matches!(
        error,
        session_strategies::backend::BackendError::TooLarge { bytes, limit: 4096 } if bytes > 4096
    ));
}

#[tokio::test]
async fn switching_moves_user_and_cart_and_destroys_the_old_copy() {
    let memory = memory(TTL).await;
    let cookie = cookie(TTL).await;
    let registry = SessionRegistry::new(Strategy::Memory, vec![memory.clone(), cookie.clone()]);
    let saved = memory.save(&sample(), None, false).await.unwrap();
    let old_cookies = ClientState::after(memory.as_ref(), &saved.client);
    let session = open_session(&registry, &request(Strategy::Memory, &old_cookies))
        .await
        .unwrap();
    session.switch_to(Strategy::Cookie).await.unwrap();
    assert_eq!(session.strategy(), Strategy::Cookie);
    let update = session.take_client_update();
    assert_eq!(update.switched_to, Some(Strategy::Cookie));
    let new_cookies = ClientState::after(cookie.as_ref(), &update.changes);
    let moved = cookie
        .load(&request(Strategy::Cookie, &new_cookies))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.data.user, sample().user);
    assert_eq!(moved.data.cart, sample().cart);
    assert!(matches!(
        memory.load(&request(Strategy::Memory, &old_cookies)).await,
        Err(session_strategies::LoadError::Invalid(_) | session_strategies::LoadError::Unknown)
    ));
}

#[tokio::test]
async fn a_failed_save_leaves_the_session_as_it_was() {
    let registry = SessionRegistry::new(Strategy::Cookie, vec![cookie(TTL).await]);
    let session = open_session(
        &registry,
        &request(Strategy::Cookie, &ClientState::default()),
    )
    .await
    .unwrap();
    let result: Result<(), session_strategies::SessionError> = session
        .change(|data| {
            data.user = Some(SessionUser {
                id: 1,
                username: "y".repeat(5000),
            });
            Ok(())
        })
        .await;
    assert!(matches!(
        result,
        Err(session_strategies::SessionError::CookieTooLarge { .. })
    ));
    assert!(session.data().user.is_none());
}

/// A cache-aside hit names the cached bytes as the revision to write over. When SQL changed
/// behind the cache (a write whose "changed" mark never reached Redis), that revision is stale:
/// the write over it stores nothing, and SQL, the source of truth, keeps the newer copy.
#[tokio::test]
async fn a_cache_aside_write_over_a_stale_cached_copy_stores_nothing() {
    let sessions = sql_sessions().await;
    let cached = StoreBackend::new(
        Strategy::CacheAside,
        Arc::new(CacheAsideStore::new(redis(1).await, sessions.clone())),
        TTL,
    );
    let behind_the_cache = StoreBackend::new(Strategy::Sql, sessions, TTL);
    let saved = cached.save(&sample(), None, false).await.unwrap();
    let key = saved.key.clone().unwrap();
    let client = ClientState::after(&cached, &saved.client);
    let read = || async {
        cached
            .load(&request(Strategy::CacheAside, &client))
            .await
            .unwrap()
            .unwrap()
    };
    read().await; // a miss: SQL's bytes go into the cache
    let hit = read().await;
    let cached_revision = hit.revision.clone().expect("a hit names its revision");

    let Stored::Found(_, in_sql) = behind_the_cache.stored(&key).await.unwrap() else {
        panic!("the session is in SQL");
    };
    assert_eq!(in_sql, cached_revision, "the cache holds SQL's bytes");
    let mut newer = sample();
    newer.clear_cart();
    behind_the_cache
        .replace(&newer, &key, &in_sql)
        .await
        .unwrap();

    let stale = read().await;
    assert_eq!(
        stale.data.cart,
        sample().cart,
        "the cache still serves the old copy"
    );
    let mut change = stale.data.clone();
    change
        .add_item(ProductId(9), Quantity::try_from(1).unwrap())
        .unwrap();
    assert_eq!(
        cached
            .replace(&change, &key, stale.revision.as_ref().unwrap())
            .await
            .unwrap_err(),
        session_strategies::BackendError::Conflict
    );
    let Stored::Found(current, _) = cached.stored(&key).await.unwrap() else {
        panic!("the session is still there");
    };
    assert_eq!(current.cart, newer.cart, "SQL kept the newer copy");
}

/// Reading a session past half its idle timeout pushes the timeout ahead and renews what the
/// client holds, so an active visitor is never logged out mid-visit.
async fn assert_renews_on_read(backend: Arc<dyn SessionBackend>) {
    let strategy = backend.strategy();
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let client = ClientState::after(backend.as_ref(), &saved.client);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let loaded = backend
        .load(&request(strategy, &client))
        .await
        .unwrap()
        .unwrap();
    assert!(
        loaded.expires_at > saved.expires_at,
        "{strategy}: expiry pushed ahead"
    );
    let renewed = ClientState::after(backend.as_ref(), &loaded.client);
    assert!(
        !renewed.cookies.is_empty() || renewed.url_token.is_some(),
        "{strategy}: the client's credential is renewed"
    );
    let again = backend
        .load(&request(strategy, &renewed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.data, sample());
}

#[tokio::test]
async fn an_active_session_is_renewed_under_every_idle_timeout() {
    let ttl = Duration::from_secs(3);
    for backend in [
        memory(ttl).await,
        cookie(ttl).await,
        sql(ttl).await,
        signed_url(ttl).await,
    ] {
        assert_renews_on_read(backend).await;
    }
}

/// What `/compare` measures is what a save really emits: the footprint's client bytes are the
/// cookies or URL token a save hands the client, and the last cart that fits a cookie is the
/// last one a save accepts.
#[tokio::test]
async fn measured_footprints_are_the_bytes_a_save_emits() {
    use session_strategies::{
        measure::{credential_size, footprint, with_cart_lines},
        transport::client_bytes,
    };
    let ttl = Duration::from_secs(600);
    for backend in [
        memory(ttl).await,
        cookie(ttl).await,
        jwt(ttl).await,
        redis_backend(ttl).await,
        sql(ttl).await,
        cache_aside(ttl).await,
        signed_url(ttl).await,
    ] {
        let data = with_cart_lines(&sample(), 7);
        let measured = footprint(backend.as_ref(), &data).await.unwrap();
        let saved = backend.save(&data, None, false).await.unwrap();
        assert_eq!(
            Some(measured.client_bytes),
            client_bytes(backend.carriers(), &saved.client),
            "{}",
            backend.strategy()
        );
        let stored = match &saved.key {
            Some(key) => backend.server_copy(key).await.map_or(0, |copy| copy.bytes),
            None => 0,
        };
        assert_eq!(measured.server_bytes, stored, "{}", backend.strategy());
    }
    let cookie = cookie(ttl).await;
    let mut fits = 0;
    while !credential_size(cookie.as_ref(), &sample(), fits + 1)
        .await
        .unwrap()
        .refused
    {
        fits += 1;
    }
    assert!(fits < session_strategies::data::MAX_CART_LINES);
    assert!(cookie
        .save(&with_cart_lines(&sample(), fits), None, false)
        .await
        .is_ok());
    assert!(cookie
        .save(&with_cart_lines(&sample(), fits + 1), None, false)
        .await
        .is_err());
}
