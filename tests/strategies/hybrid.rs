//! What the hybrid strategy promises beyond the conformance suite: a cart change rewrites the
//! state cookie alone, the identity token carries no cart, a state cookie cannot be moved to
//! another session, and neither strategy's token passes for the other's.

use crate::common::{ingredients, sample, Stores};
use http::{
    header::{AUTHORIZATION, COOKIE},
    request::Parts,
    Request,
};
use session_strategies::{
    backends::{
        self,
        hybrid::{IDENTITY_COOKIE, STATE_COOKIE},
        jwt::ACCESS_COOKIE,
    },
    inspect::measure,
    ClientChange, LoadError, Saved, SessionBackend, SessionData, Strategy,
};
use std::{sync::Arc, time::Duration};

const TTL: Duration = Duration::from_secs(1800);

async fn backends() -> (Arc<dyn SessionBackend>, Arc<dyn SessionBackend>) {
    let ingredients = ingredients(TTL, Stores::Sqlite).await;
    let build = |strategy| backends::build(strategy, &ingredients).unwrap().unwrap();
    (build(Strategy::Hybrid), build(Strategy::Jwt))
}

/// The cookie `name` a response sets, if it sets it.
fn set(saved: &Saved, name: &str) -> Option<String> {
    saved.client.iter().find_map(|change| match change {
        ClientChange::SetCookie {
            name: set, value, ..
        } if *set == name => Some(value.clone()),
        _ => None,
    })
}

fn with_cookies(cookies: &[(&str, &str)]) -> Parts {
    let header = cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    Request::get("/")
        .header(COOKIE, header)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn with_bearer(token: &str, state: &str) -> Parts {
    Request::get("/")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(COOKIE, format!("{STATE_COOKIE}={state}"))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn with_cart_lines(lines: usize) -> SessionData {
    measure::with_cart_lines(&sample(), lines)
}

#[tokio::test]
async fn a_cart_change_rewrites_the_state_cookie_alone() {
    let (hybrid, _) = backends().await;
    let first = hybrid.save(&sample(), None, false).await.unwrap();
    let token = set(&first, IDENTITY_COOKIE).expect("a new session gets a token");
    assert!(set(&first, STATE_COOKIE).is_some());

    let changed = hybrid
        .save(&with_cart_lines(5), first.key.as_ref(), false)
        .await
        .unwrap();
    assert_eq!(set(&changed, IDENTITY_COOKIE), None, "no token signed");
    assert!(
        !changed
            .client
            .iter()
            .any(|change| matches!(change, ClientChange::Credential(_))),
        "{:?}",
        changed.client
    );
    let state = set(&changed, STATE_COOKIE).expect("the cart's cookie");
    let loaded = hybrid
        .load(&with_cookies(&[
            (IDENTITY_COOKIE, &token),
            (STATE_COOKIE, &state),
        ]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.data.cart, with_cart_lines(5).cart);
}

#[tokio::test]
async fn the_identity_token_carries_no_cart_and_stays_one_size() {
    let (hybrid, _) = backends().await;
    let empty = hybrid.save(&with_cart_lines(0), None, false).await.unwrap();
    let full = hybrid
        .save(&with_cart_lines(20), None, false)
        .await
        .unwrap();
    let (empty_token, full_token) = (
        set(&empty, IDENTITY_COOKIE).unwrap(),
        set(&full, IDENTITY_COOKIE).unwrap(),
    );
    assert_eq!(empty_token.len(), full_token.len());
    let claims = hybrid.decode_credential(&full_token).unwrap();
    assert!(claims["claims"].get("cart").is_none(), "{claims}");
    assert!(set(&full, STATE_COOKIE).unwrap().len() > set(&empty, STATE_COOKIE).unwrap().len());
}

#[tokio::test]
async fn a_state_cookie_cannot_be_moved_to_another_session() {
    let (hybrid, _) = backends().await;
    let victim = hybrid.save(&with_cart_lines(3), None, false).await.unwrap();
    let thief = hybrid.save(&sample(), None, false).await.unwrap();
    let (thief_token, victim_state) = (
        set(&thief, IDENTITY_COOKIE).unwrap(),
        set(&victim, STATE_COOKIE).unwrap(),
    );
    let in_cookies = hybrid
        .load(&with_cookies(&[
            (IDENTITY_COOKIE, &thief_token),
            (STATE_COOKIE, &victim_state),
        ]))
        .await;
    assert!(
        matches!(in_cookies, Err(LoadError::Invalid(_))),
        "{in_cookies:?}"
    );
    let as_bearer = hybrid.load(&with_bearer(&thief_token, &victim_state)).await;
    assert!(
        matches!(as_bearer, Err(LoadError::Rejected { expired: false })),
        "{as_bearer:?}"
    );
}

#[tokio::test]
async fn a_tampered_state_cookie_is_refused() {
    let (hybrid, _) = backends().await;
    let saved = hybrid.save(&with_cart_lines(2), None, false).await.unwrap();
    let token = set(&saved, IDENTITY_COOKIE).unwrap();
    let state = set(&saved, STATE_COOKIE).unwrap();
    for at in [0, state.len() / 2, state.len() - 1] {
        let mut bytes = state.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        let loaded = hybrid
            .load(&with_cookies(&[
                (IDENTITY_COOKIE, &token),
                (STATE_COOKIE, &tampered),
            ]))
            .await;
        assert!(
            matches!(loaded, Err(LoadError::Invalid(_))),
            "byte {at}: {loaded:?}"
        );
    }
}

#[tokio::test]
async fn logout_revokes_the_identity_and_login_starts_a_new_family() {
    let (hybrid, _) = backends().await;
    let guest = hybrid.save(&sample(), None, false).await.unwrap();
    let guest_token = set(&guest, IDENTITY_COOKIE).unwrap();
    let logged_in = hybrid
        .save(&sample(), guest.key.as_ref(), true)
        .await
        .unwrap();
    assert_ne!(logged_in.key, guest.key, "a new family at login");
    let refused = hybrid
        .load(&with_cookies(&[(IDENTITY_COOKIE, &guest_token)]))
        .await;
    assert!(matches!(refused, Err(LoadError::Invalid(_))), "{refused:?}");

    let token = set(&logged_in, IDENTITY_COOKIE).unwrap();
    let cookies = [(IDENTITY_COOKIE, token.as_str())];
    assert!(hybrid
        .load(&with_cookies(&cookies))
        .await
        .unwrap()
        .is_some());
    hybrid.destroy(logged_in.key.as_ref()).await.unwrap();
    let refused = hybrid.load(&with_cookies(&cookies)).await;
    assert!(matches!(refused, Err(LoadError::Invalid(_))), "{refused:?}");
}

/// Both are tokens signed with the same keys, for the same issuer and audience; each
/// strategy's `typ` keeps them apart (RFC 8725 section 3.11).
#[tokio::test]
async fn neither_token_passes_for_the_others() {
    let (hybrid, jwt) = backends().await;
    let access = set(
        &jwt.save(&sample(), None, false).await.unwrap(),
        ACCESS_COOKIE,
    )
    .unwrap();
    let identity = set(
        &hybrid.save(&sample(), None, false).await.unwrap(),
        IDENTITY_COOKIE,
    )
    .unwrap();
    let as_identity = hybrid
        .load(&with_cookies(&[(IDENTITY_COOKIE, &access)]))
        .await;
    assert!(
        matches!(as_identity, Err(LoadError::Invalid(_))),
        "{as_identity:?}"
    );
    let as_access = jwt.load(&with_cookies(&[(ACCESS_COOKIE, &identity)])).await;
    assert!(
        matches!(as_access, Err(LoadError::Invalid(_))),
        "{as_access:?}"
    );
}
