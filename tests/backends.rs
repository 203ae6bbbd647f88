//! One conformance suite, run once per backend: round trip, tamper, unknown key, destroy,
//! rotation, expiry. A filter such as `cargo test cookie` picks one backend.

use axum_extra::extract::cookie::Key;
use http::{header::COOKIE, request::Parts, Request};
use session_strategies::{
    cookie::CookieBackend, layer::open_session, store::StoreBackend, ClientChange, Notice,
    ProductId, Quantity, SessionBackend, SessionData, SessionRegistry, SessionUser, Strategy,
};
use std::{sync::Arc, time::Duration};
use tower_sessions::MemoryStore;

const TTL: Duration = Duration::from_secs(1800);

fn memory(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(StoreBackend::new(
        Strategy::Memory,
        Arc::new(MemoryStore::default()),
        ttl,
    ))
}

fn cookie(ttl: Duration) -> Arc<dyn SessionBackend> {
    Arc::new(CookieBackend::new(Key::generate(), ttl))
}

/// A request for `strategy` carrying `cookies` (name, value).
fn request(strategy: Strategy, cookies: &[(&str, String)]) -> Parts {
    let header = cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .chain([format!("strategy={strategy}")])
        .collect::<Vec<_>>()
        .join("; ");
    let (parts, ()) = Request::builder()
        .uri("/")
        .header(COOKIE, header)
        .body(())
        .unwrap()
        .into_parts();
    parts
}

/// The cookies a save told the client to keep.
fn cookies_of(changes: &[ClientChange]) -> Vec<(&str, String)> {
    changes
        .iter()
        .filter_map(|change| match change {
            ClientChange::SetCookie { name, value, .. } => Some((*name, value.clone())),
            _ => None,
        })
        .collect()
}

fn sample() -> SessionData {
    let mut data = SessionData::guest();
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

macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            fn backend() -> Arc<dyn SessionBackend> {
                $make(TTL)
            }

            async fn notice_for(
                backend: Arc<dyn SessionBackend>,
                cookies: &[(&str, String)],
            ) -> (Option<Notice>, SessionData) {
                let strategy = backend.strategy();
                let registry = SessionRegistry::new(strategy, vec![backend]);
                let session = open_session(&registry, &request(strategy, cookies))
                    .await
                    .expect("an invalid credential is never an error");
                (session.notice(), session.data())
            }

            #[tokio::test]
            async fn a_saved_session_loads_back_equal() {
                let backend = backend();
                let data = sample();
                let saved = backend.save(&data, None, false).await.unwrap();
                let loaded = backend
                    .load(&request(backend.strategy(), &cookies_of(&saved.client)))
                    .await
                    .unwrap()
                    .expect("a session");
                assert_eq!(loaded.data, data);
                assert_eq!(loaded.key, saved.key);
                assert!(loaded.expires_at > session_strategies::data::now_unix());
            }

            #[tokio::test]
            async fn a_request_without_credentials_loads_nothing() {
                let backend = backend();
                assert_eq!(
                    backend.load(&request(backend.strategy(), &[])).await,
                    Ok(None)
                );
            }

            #[tokio::test]
            async fn every_flipped_byte_of_the_cookie_loads_as_a_fresh_guest() {
                let backend = backend();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let (name, value) = cookies_of(&saved.client).remove(0);
                let bytes = value.as_bytes();
                for index in 0..bytes.len() {
                    let mut tampered = bytes.to_vec();
                    // Stay within the cookie alphabet so the header still parses.
                    tampered[index] = if tampered[index] == b'A' { b'B' } else { b'A' };
                    let tampered = String::from_utf8(tampered).unwrap();
                    let (notice, data) = notice_for(backend.clone(), &[(name, tampered)]).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid), "byte {index}");
                    assert!(data.is_blank());
                }
            }

            #[tokio::test]
            async fn a_truncated_or_garbage_cookie_loads_as_a_fresh_guest() {
                let backend = backend();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let (name, value) = cookies_of(&saved.client).remove(0);
                for bad in [
                    value[..value.len() / 2].to_owned(),
                    value[..1].to_owned(),
                    "garbage".to_owned(),
                    "%%%%".to_owned(),
                    "A".repeat(5000),
                ] {
                    let (notice, data) = notice_for(backend.clone(), &[(name, bad)]).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                    assert!(data.is_blank());
                }
            }

            #[tokio::test]
            async fn a_destroyed_session_no_longer_loads() {
                let backend = backend();
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let cookies = cookies_of(&saved.client);
                let forget = backend.destroy(saved.key.as_ref()).await.unwrap();
                assert!(forget
                    .iter()
                    .any(|change| matches!(change, ClientChange::RemoveCookie { .. })));
                if saved.key.is_some() {
                    // Server copies are really gone, not only forgotten by this client.
                    let (notice, _) = notice_for(backend.clone(), &cookies).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                }
            }

            #[tokio::test]
            async fn rotation_issues_a_new_credential_and_retires_the_old_key() {
                let backend = backend();
                let first = backend.save(&sample(), None, false).await.unwrap();
                let second = backend
                    .save(&sample(), first.key.as_ref(), true)
                    .await
                    .unwrap();
                assert_ne!(cookies_of(&first.client), cookies_of(&second.client));
                if first.key.is_some() {
                    assert_ne!(first.key, second.key);
                    let (notice, _) = notice_for(backend.clone(), &cookies_of(&first.client)).await;
                    assert_eq!(notice, Some(Notice::SessionInvalid));
                }
                let loaded = backend
                    .load(&request(backend.strategy(), &cookies_of(&second.client)))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(loaded.data, sample());
            }

            #[tokio::test]
            async fn an_expired_session_loads_as_a_fresh_guest() {
                let backend = $make(Duration::ZERO);
                let saved = backend.save(&sample(), None, false).await.unwrap();
                let (notice, data) = notice_for(backend, &cookies_of(&saved.client)).await;
                assert!(notice.is_some());
                assert!(data.is_blank());
            }
        }
    };
}

conformance!(memory_backend, memory);
conformance!(cookie_backend, cookie);

#[tokio::test]
async fn a_cookie_from_another_key_is_invalid() {
    let ours = cookie(TTL);
    let theirs = cookie(TTL);
    let saved = theirs.save(&sample(), None, false).await.unwrap();
    let result = ours
        .load(&request(Strategy::Cookie, &cookies_of(&saved.client)))
        .await;
    assert!(matches!(
        result,
        Err(session_strategies::LoadError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_cart_too_big_for_a_cookie_is_refused_with_its_size() {
    let backend = cookie(TTL);
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
    let memory = memory(TTL);
    let cookie = cookie(TTL);
    let registry = SessionRegistry::new(Strategy::Memory, vec![memory.clone(), cookie.clone()]);
    let saved = memory.save(&sample(), None, false).await.unwrap();
    let old_cookies = cookies_of(&saved.client);
    let session = open_session(&registry, &request(Strategy::Memory, &old_cookies))
        .await
        .unwrap();
    session.switch_to(Strategy::Cookie).await.unwrap();
    assert_eq!(session.strategy(), Strategy::Cookie);
    let update = session.take_client_update();
    assert_eq!(update.switched_to, Some(Strategy::Cookie));
    let new_cookies = cookies_of(&update.changes);
    let moved = cookie
        .load(&request(Strategy::Cookie, &new_cookies))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.data.user, sample().user);
    assert_eq!(moved.data.cart, sample().cart);
    assert!(matches!(
        memory.load(&request(Strategy::Memory, &old_cookies)).await,
        Err(session_strategies::LoadError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_failed_save_leaves_the_session_as_it_was() {
    let registry = SessionRegistry::new(Strategy::Cookie, vec![cookie(TTL)]);
    let session = open_session(&registry, &request(Strategy::Cookie, &[]))
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
