//! One conformance suite, run once per strategy over fresh stores, the SQL-backed ones on
//! SQLite and again on PostgreSQL: round trip, compare-and-set, tamper, unknown key, destroy,
//! rotation, expiry. A filter such as `cargo test cookie` picks one strategy. What a strategy
//! can do comes from its catalogue entry ([`Capabilities`]), and each test asserts both ways.

use crate::common::{backend, backend_on, redis, sample, sql_sessions, Stores};
use http::{header::COOKIE, request::Parts, Request};
use session_strategies::{
    backends::{server_side::StoreBackend, signed_url::URL_PARAM},
    session::{
        layer::open_session,
        transport::{url_param, ClientChange},
    },
    stores::cache_aside::CacheAsideStore,
    strategy::Capabilities,
    BackendError, LoadError, Notice, ProductId, Quantity, SessionBackend, SessionData,
    SessionError, SessionRegistry, SessionUser, Stored, Strategy,
};
use std::{sync::Arc, time::Duration};

const TTL: Duration = Duration::from_secs(1800);

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

    /// This state after a further response: cookies it sets replace those of the same name,
    /// as a browser's jar does (a response may set only some of a strategy's cookies).
    fn then(&self, backend: &dyn SessionBackend, changes: &[ClientChange]) -> Self {
        let mut state = self.clone();
        let newer = Self::after(backend, changes);
        for (name, value) in newer.cookies {
            match state.cookies.iter_mut().find(|(held, _)| *held == name) {
                Some(held) => held.1 = value,
                None => state.cookies.push((name, value)),
            }
        }
        state.url_token = newer.url_token.or(state.url_token);
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

/// One module of conformance tests per run: `$name => $strategy, $stores` (where its stores run). [`RUNS`] lists the
/// strategies run, and a test below fails when a strategy of the catalogue has none.
macro_rules! conformance {
    ($($name:ident => $strategy:expr, $stores:expr;)+) => {
        /// Every strategy that has a conformance run.
        const RUNS: &[Strategy] = &[$($strategy),+];

        $(mod $name {
            use super::*;

            const STRATEGY: Strategy = $strategy;

            async fn backend_for(ttl: Duration) -> Arc<dyn SessionBackend> {
                backend_on(STRATEGY, ttl, $stores).await
            }

            async fn backend() -> Arc<dyn SessionBackend> {
                backend_for(TTL).await
            }

            fn capabilities() -> Capabilities {
                STRATEGY.meta().capabilities
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

            #[tokio::test]
            async fn the_backend_serves_its_strategy() {
                assert_eq!(backend().await.strategy(), STRATEGY);
            }

            /// With a server copy, a write names the revision it read: a write over a newer
            /// copy, or over a deleted one, stores nothing. Without one, the server has nothing
            /// to compare: a write over a stale revision is simply stored (last response wins).
            #[tokio::test]
            async fn a_write_over_a_changed_or_deleted_copy_stores_nothing() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let key = saved.key.clone().expect("a logged-in session has a key");
                let stored = backend.stored(&key).await.unwrap();
                if capabilities().server_copy {
                    let Stored::Found(_, first) = stored else {
                        panic!("{STRATEGY}: the server keeps a copy");
                    };
                    let mut newer = sample();
                    newer.clear_cart();
                    backend.replace(&newer, &key, &first).await.unwrap();
                    let Stored::Found(stored, second) = backend.stored(&key).await.unwrap() else {
                        panic!("{STRATEGY}: the replaced copy is there");
                    };
                    assert_eq!(stored.cart, newer.cart, "{STRATEGY}");
                    assert_ne!(first, second, "{STRATEGY}: a write makes a new revision");
                    assert_eq!(
                        backend.replace(&sample(), &key, &first).await.unwrap_err(),
                        BackendError::Conflict,
                        "{STRATEGY}: the first revision is stale"
                    );
                    backend.destroy(Some(&key)).await.unwrap();
                    assert_eq!(
                        backend.replace(&sample(), &key, &second).await.unwrap_err(),
                        BackendError::Conflict,
                        "{STRATEGY}: a deleted session is never written back"
                    );
                    assert_eq!(
                        backend
                            .save(&sample(), Some(&key), false)
                            .await
                            .unwrap_err(),
                        BackendError::Conflict,
                        "{STRATEGY}: not even by a plain save"
                    );
                    assert_eq!(backend.stored(&key).await.unwrap(), Stored::Gone);
                    let client = ClientState::after(backend.as_ref(), &saved.client);
                    assert!(
                        !matches!(backend.load(&request(STRATEGY, &client)).await, Ok(Some(_))),
                        "{STRATEGY}: the old credential loads nothing"
                    );
                } else {
                    assert_eq!(stored, Stored::NotKept, "{STRATEGY}: no server copy");
                    let stale = session_strategies::Revision::new(b"stale".to_vec());
                    let mut newer = sample();
                    newer.clear_cart();
                    let written = backend.replace(&newer, &key, &stale).await.unwrap();
                    let client = ClientState::after(backend.as_ref(), &saved.client)
                        .then(backend.as_ref(), &written.client);
                    let loaded = backend.load(&request(STRATEGY, &client)).await.unwrap();
                    assert_eq!(loaded.unwrap().data.cart, newer.cart, "{STRATEGY}: stored");
                }
            }

            /// With a server copy, a load names the revision it read, and a request's first
            /// write tries its compare-and-set on it before reading the copy again: that
            /// revision must be the stored one, and a write landing in between must make the
            /// change land on the newer copy, nothing lost. Without one, a load names no
            /// revision, and the request's change is applied to what it loaded.
            #[tokio::test]
            async fn a_change_after_another_write_lands_on_the_newer_copy() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let key = saved.key.clone().expect("a logged-in session has a key");
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let loaded = backend
                    .load(&request(STRATEGY, &client))
                    .await
                    .unwrap()
                    .unwrap();
                let registry = SessionRegistry::new(STRATEGY, vec![backend.clone()]);
                let session = open_session(&registry, &request(STRATEGY, &client))
                    .await
                    .unwrap();
                let add_five = |data: &mut SessionData| {
                    data.add_item(ProductId(5), Quantity::try_from(1).unwrap())
                        .map_err(|_| SessionError::Conflict)
                };
                if capabilities().server_copy {
                    let Stored::Found(_, current) = backend.stored(&key).await.unwrap() else {
                        panic!("{STRATEGY}: the server keeps a copy");
                    };
                    assert_eq!(
                        loaded.revision.as_ref(),
                        Some(&current),
                        "{STRATEGY}: the load names the stored revision"
                    );
                    // Another request (or instance) empties the cart after this one loaded it.
                    let mut emptied = sample();
                    emptied.clear_cart();
                    backend.replace(&emptied, &key, &current).await.unwrap();
                    session.change(add_five).await.unwrap();
                    let Stored::Found(stored, _) = backend.stored(&key).await.unwrap() else {
                        panic!("{STRATEGY}: the session is still there");
                    };
                    assert_eq!(stored.item_count(), 1, "{STRATEGY}: {:?}", stored.cart);
                    assert!(stored.quantity_of(ProductId(5)).is_some(), "{STRATEGY}");
                } else {
                    assert_eq!(loaded.revision, None, "{STRATEGY}: nothing stored to name");
                    session.change(add_five).await.unwrap();
                    assert_eq!(session.data().item_count(), sample().item_count() + 1);
                }
            }

            #[tokio::test]
            async fn a_saved_session_loads_back_equal() {
                let backend = backend().await;
                let data = sample();
                let saved = backend.save(&data, None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let loaded = backend
                    .load(&request(STRATEGY, &client))
                    .await
                    .unwrap()
                    .expect("a session");
                assert_eq!(loaded.data, data);
                assert_eq!(loaded.key, saved.key);
                assert!(loaded.expires_at > session_strategies::clock::now_unix());
            }

            #[tokio::test]
            async fn a_request_without_credentials_loads_nothing() {
                let backend = backend().await;
                assert_eq!(
                    backend
                        .load(&request(STRATEGY, &ClientState::default()))
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

            /// Every strategy can end a logged-in session before it expires: server copies are
            /// deleted, client-held sessions are revoked through their family.
            #[tokio::test]
            async fn a_destroyed_session_no_longer_loads() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                assert!(saved.key.is_some(), "{STRATEGY}: a logged-in session has a key");
                backend.destroy(saved.key.as_ref()).await.unwrap();
                let (notice, data) = notice_for(backend.clone(), &client).await;
                assert_eq!(notice, Some(Notice::SessionInvalid));
                assert!(data.is_blank());
            }

            /// Whatever a backend keeps of a credential it has read (a decoded copy, a
            /// verified token, an opened cookie) must not outlive the session.
            #[tokio::test]
            async fn a_session_read_before_it_was_destroyed_no_longer_loads() {
                let backend = backend().await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                for _ in 0..2 {
                    let loaded = backend.load(&request(STRATEGY, &client)).await.unwrap();
                    assert_eq!(loaded.unwrap().data, sample());
                }
                backend.destroy(saved.key.as_ref()).await.unwrap();
                let (notice, data) = notice_for(backend.clone(), &client).await;
                assert_eq!(notice, Some(Notice::SessionInvalid));
                assert!(data.is_blank());
            }

            #[tokio::test]
            async fn rotation_issues_a_new_credential_and_retires_the_old_key() {
                let backend = backend().await;
                let first = backend.save(&sample(), None, false).await.unwrap();
                let second = backend
                    .save(&sample(), first.key.as_ref(), true)
                    .await
                    .unwrap();
                let old = ClientState::after(backend.as_ref(), &first.client);
                let new = ClientState::after(backend.as_ref(), &second.client);
                assert_ne!(old.primary(), new.primary());
                assert!(first.key.is_some(), "{STRATEGY}: a logged-in session has a key");
                assert_ne!(first.key, second.key);
                let (notice, _) = notice_for(backend.clone(), &old).await;
                assert_eq!(notice, Some(Notice::SessionInvalid));
                let loaded = backend
                    .load(&request(STRATEGY, &new))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(loaded.data, sample());
            }

            #[tokio::test]
            async fn a_session_past_its_absolute_timeout_loads_as_expired_however_active() {
                let backend = backend().await;
                let mut data = sample();
                data.expires_by = session_strategies::clock::now_unix() - 1;
                let saved = backend.save(&data, None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let (notice, loaded) = notice_for(backend.clone(), &client).await;
                assert_eq!(notice, Some(Notice::SessionExpired));
                assert!(loaded.is_blank());
            }

            #[tokio::test]
            async fn an_expired_session_loads_as_a_fresh_guest() {
                let backend = backend_for(Duration::ZERO).await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                let (notice, data) = notice_for(backend, &client).await;
                assert!(notice.is_some());
                assert!(data.is_blank());
            }

            /// Reading a session past half its idle timeout pushes the timeout ahead and renews
            /// what the client holds, so an active visitor is never logged out mid-visit.
            /// Where it is not renewed on read (JWT), the expiry stays where it was.
            #[tokio::test]
            async fn an_active_session_is_renewed_on_read_where_the_strategy_renews() {
                let backend = backend_for(Duration::from_secs(3)).await;
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let client = ClientState::after(backend.as_ref(), &saved.client);
                tokio::time::sleep(Duration::from_millis(1600)).await;
                let loaded = backend
                    .load(&request(STRATEGY, &client))
                    .await
                    .unwrap()
                    .unwrap();
                if capabilities().renewed_on_read {
                    assert!(
                        loaded.expires_at > saved.expires_at,
                        "{STRATEGY}: expiry pushed ahead"
                    );
                    let changed = ClientState::after(backend.as_ref(), &loaded.client);
                    assert!(
                        !changed.cookies.is_empty() || changed.url_token.is_some(),
                        "{STRATEGY}: the client's credential is renewed"
                    );
                    let renewed = client.then(backend.as_ref(), &loaded.client);
                    let again = backend
                        .load(&request(STRATEGY, &renewed))
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(again.data, sample());
                } else {
                    assert_eq!(loaded.expires_at, saved.expires_at, "{STRATEGY}");
                    assert!(loaded.client.is_empty(), "{STRATEGY}: nothing renewed");
                }
            }
        })+
    };
}

conformance! {
    memory => Strategy::Memory, Stores::Sqlite;
    cookie => Strategy::Cookie, Stores::Sqlite;
    jwt => Strategy::Jwt, Stores::Sqlite;
    hybrid => Strategy::Hybrid, Stores::Sqlite;
    redis => Strategy::Redis, Stores::Sqlite;
    redis_on_redis_cluster => Strategy::Redis, Stores::RedisCluster;
    memcached => Strategy::Memcached, Stores::Sqlite;
    sql => Strategy::Sql, Stores::Sqlite;
    sql_on_postgres => Strategy::Sql, Stores::Postgres;
    cache_aside => Strategy::CacheAside, Stores::Sqlite;
    cache_aside_on_postgres => Strategy::CacheAside, Stores::Postgres;
    cache_aside_on_redis_cluster => Strategy::CacheAside, Stores::RedisCluster;
    signed_url => Strategy::SignedUrl, Stores::Sqlite;
    signed_url_on_postgres => Strategy::SignedUrl, Stores::Postgres;
}

#[test]
fn every_strategy_in_the_catalogue_has_a_conformance_run() {
    for strategy in Strategy::ALL {
        assert!(
            RUNS.contains(&strategy),
            "{strategy} has no conformance run"
        );
    }
}

#[tokio::test]
async fn a_cookie_from_another_key_is_invalid() {
    let ours = backend(Strategy::Cookie, TTL).await;
    let theirs = backend(Strategy::Cookie, TTL).await;
    let saved = theirs.save(&sample(), None, false).await.unwrap();
    let result = ours
        .load(&request(
            Strategy::Cookie,
            &ClientState::after(theirs.as_ref(), &saved.client),
        ))
        .await;
    assert!(matches!(
        result,
        Err(LoadError::Invalid(_) | LoadError::Unknown)
    ));
}

/// The trace ring of a cookie session is named by the seal's tail (its AES-GCM tag): every
/// save seals afresh, so each save names a new ring, and a value whose tag differs is another.
#[tokio::test]
async fn a_sealed_cookie_is_traced_under_its_tag() {
    let backend = backend(Strategy::Cookie, TTL).await;
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
    use session_strategies::session::transport::HostPrefixedCookies;
    let backend = backend(Strategy::Cookie, TTL).await;
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
    let backend = backend(Strategy::Cookie, TTL).await;
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
        BackendError::TooLarge { bytes, limit: 4096 } if bytes > 4096
    ));
}

#[tokio::test]
async fn switching_moves_user_and_cart_and_destroys_the_old_copy() {
    let memory = backend(Strategy::Memory, TTL).await;
    let cookie = backend(Strategy::Cookie, TTL).await;
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
        Err(LoadError::Invalid(_) | LoadError::Unknown)
    ));
}

#[tokio::test]
async fn a_failed_save_leaves_the_session_as_it_was() {
    let registry =
        SessionRegistry::new(Strategy::Cookie, vec![backend(Strategy::Cookie, TTL).await]);
    let session = open_session(
        &registry,
        &request(Strategy::Cookie, &ClientState::default()),
    )
    .await
    .unwrap();
    let result: Result<(), SessionError> = session
        .change(|data| {
            data.user = Some(SessionUser {
                id: 1,
                username: "y".repeat(5000),
            });
            Ok(())
        })
        .await;
    assert!(matches!(result, Err(SessionError::CookieTooLarge { .. })));
    assert!(session.data().user.is_none());
}

/// A cache-aside hit names the cached bytes as the revision to write over. When SQL changed
/// behind the cache (a write whose "changed" mark never reached Redis), that revision is stale:
/// the write over it stores nothing, and SQL, the source of truth, keeps the newer copy.
#[tokio::test]
async fn a_cache_aside_write_over_a_stale_cached_copy_stores_nothing() {
    let sessions = sql_sessions(Stores::Sqlite).await;
    let cached = StoreBackend::new(
        Strategy::CacheAside,
        Arc::new(CacheAsideStore::new(redis().await, sessions.clone())),
        TTL,
    );
    // The same strategy's rows, written straight to SQL (a record answers only the strategy
    // that wrote it).
    let behind_the_cache = StoreBackend::new(Strategy::CacheAside, sessions, TTL);
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
        BackendError::Conflict
    );
    let Stored::Found(current, _) = cached.stored(&key).await.unwrap() else {
        panic!("the session is still there");
    };
    assert_eq!(current.cart, newer.cart, "SQL kept the newer copy");
}

/// What `/compare` measures is what a save really emits: the footprint's client bytes are the
/// cookies or URL token a save hands the client, and the last cart that fits a cookie is the
/// last one a save accepts.
#[tokio::test]
async fn measured_footprints_are_the_bytes_a_save_emits() {
    use session_strategies::{
        inspect::measure::{credential_size, footprint, with_cart_lines},
        session::transport::client_bytes,
    };
    let ttl = Duration::from_secs(600);
    for strategy in Strategy::ALL {
        let backend = backend(strategy, ttl).await;
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
    let cookie = backend(Strategy::Cookie, ttl).await;
    let mut fits = 0;
    while !credential_size(cookie.as_ref(), &sample(), fits + 1)
        .await
        .unwrap()
        .refused
    {
        fits += 1;
    }
    assert!(fits < session_strategies::session::data::MAX_CART_LINES);
    assert!(cookie
        .save(&with_cart_lines(&sample(), fits), None, false)
        .await
        .is_ok());
    assert!(cookie
        .save(&with_cart_lines(&sample(), fits + 1), None, false)
        .await
        .is_err());
}
