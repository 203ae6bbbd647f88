//! The JWT strategy's failure modes: every token it must refuse, refresh-token reuse, key
//! rotation, and the difference between a Bearer header (401) and a cookie (fresh guest).

use crate::common::{ledger, sample};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use http::{header, request::Parts, Request};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use session_strategies::{
    backends::jwt::{Claims, JwtBackend, JwtSettings, SigningKey, LEEWAY_SECONDS, TOKEN_TYPE},
    clock::now_unix,
    revocation::sql::SqlLedger,
    ClientChange, LoadError, SessionBackend, SessionUser,
};
use std::{sync::Arc, time::Duration};

fn key(kid: &str, byte: u8) -> SigningKey {
    SigningKey::new(kid, vec![byte; 32]).unwrap()
}

fn settings(keys: Vec<SigningKey>) -> JwtSettings {
    JwtSettings {
        keys,
        algorithm: Algorithm::HS256,
        issuer: "shop".into(),
        audience: "shoppers".into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(3600),
        // No grace: a second use is a replay at once (the grace has a test of its own).
        refresh_grace: Duration::ZERO,
    }
}

async fn backend_with(keys: Vec<SigningKey>, ledger: SqlLedger) -> JwtBackend {
    JwtBackend::new(settings(keys), Arc::new(ledger.clone()), Arc::new(ledger)).unwrap()
}

async fn backend() -> JwtBackend {
    backend_with(vec![key("k1", 1)], ledger().await).await
}

fn bearer(token: &str) -> Parts {
    Request::builder()
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn cookies(pairs: &[(&str, &str)]) -> Parts {
    let header = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    Request::builder()
        .header(header::COOKIE, header)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn credential(changes: &[ClientChange]) -> String {
    changes
        .iter()
        .find_map(|change| match change {
            ClientChange::Credential(token) => Some(token.clone()),
            _ => None,
        })
        .expect("an access token")
}

fn refresh_token(changes: &[ClientChange]) -> String {
    changes
        .iter()
        .find_map(|change| match change {
            ClientChange::RefreshToken(token) => Some(token.clone()),
            _ => None,
        })
        .expect("a refresh token")
}

fn valid_claims() -> Claims {
    let now = now_unix();
    Claims {
        iss: "shop".into(),
        aud: "shoppers".into(),
        sub: "1".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        jti: "forged".into(),
        fam: "family".into(),
        session: sample(),
    }
}

fn sign(claims: &Claims, algorithm: Algorithm, kid: &str, secret: &[u8]) -> String {
    sign_typed(claims, algorithm, kid, secret, Some(TOKEN_TYPE))
}

fn sign_typed(
    claims: &Claims,
    algorithm: Algorithm,
    kid: &str,
    secret: &[u8],
    typ: Option<&str>,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.into());
    header.typ = typ.map(str::to_owned);
    encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

async fn assert_rejected(backend: &JwtBackend, token: &str) {
    assert!(
        matches!(
            backend.load(&bearer(token)).await,
            Err(LoadError::Rejected { .. })
        ),
        "{token} must be rejected"
    );
}

#[tokio::test]
async fn a_token_it_signed_verifies_with_every_claim_and_a_kid() {
    let backend = backend().await;
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let token = credential(&saved.client);
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], "k1");
    let claims = backend.verify(&token, true).unwrap();
    assert_eq!(claims.session, sample());
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        ("shop", "shoppers")
    );
    assert_eq!(claims.sub, "1");
    assert!(claims.exp > claims.iat && claims.nbf <= claims.iat && !claims.jti.is_empty());
    let loaded = backend.load(&bearer(&token)).await.unwrap().unwrap();
    assert_eq!(loaded.data, sample());
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let backend = backend().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid_claims()).unwrap());
    assert_rejected(&backend, &format!("{header}.{claims}.")).await;
    assert_rejected(&backend, &format!("{header}.{claims}")).await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    let backend = backend().await;
    assert_rejected(
        &backend,
        &sign(&valid_claims(), Algorithm::HS256, "k1", &[2; 32]),
    )
    .await;
    // An unknown kid is refused before any key is tried.
    assert_rejected(
        &backend,
        &sign(&valid_claims(), Algorithm::HS256, "k9", &[1; 32]),
    )
    .await;
}

#[tokio::test]
async fn a_token_with_another_algorithm_is_rejected() {
    let backend = backend().await;
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        assert_rejected(&backend, &sign(&valid_claims(), algorithm, "k1", &[1; 32])).await;
    }
}

#[tokio::test]
async fn a_wrong_audience_or_issuer_is_rejected() {
    let backend = backend().await;
    let mut claims = valid_claims();
    claims.aud = "someone-else".into();
    assert_rejected(&backend, &sign(&claims, Algorithm::HS256, "k1", &[1; 32])).await;
    let mut claims = valid_claims();
    claims.iss = "evil".into();
    assert_rejected(&backend, &sign(&claims, Algorithm::HS256, "k1", &[1; 32])).await;
    let mut claims = valid_claims();
    claims.nbf = now_unix() + 600;
    assert_rejected(&backend, &sign(&claims, Algorithm::HS256, "k1", &[1; 32])).await;
    // The control: the same claims, correctly made, pass.
    let good = sign(&valid_claims(), Algorithm::HS256, "k1", &[1; 32]);
    assert!(backend.load(&bearer(&good)).await.unwrap().is_some());
}

#[tokio::test]
async fn a_token_verified_before_is_still_refused_once_it_expires() {
    // Verified tokens are kept by their text (no second signature check), never their expiry.
    let backend = backend().await;
    let mut claims = valid_claims();
    claims.exp = now_unix() - LEEWAY_SECONDS + 2;
    let token = sign(&claims, Algorithm::HS256, "k1", &[1; 32]);
    assert!(backend.load(&bearer(&token)).await.unwrap().is_some());
    assert!(backend.load(&bearer(&token)).await.unwrap().is_some());
    while now_unix() < claims.exp + LEEWAY_SECONDS {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        backend.load(&bearer(&token)).await,
        Err(LoadError::Rejected { expired: true })
    );
    // The same bytes with one character of the signature changed were never verified.
    let at = token.len() - 10;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    assert!(backend.load(&bearer(&forged)).await.is_err());
}

#[tokio::test]
async fn an_expired_bearer_token_is_401_and_an_expired_cookie_a_notice() {
    let backend = backend().await;
    let mut claims = valid_claims();
    claims.exp = now_unix() - LEEWAY_SECONDS - 1;
    let token = sign(&claims, Algorithm::HS256, "k1", &[1; 32]);
    assert_eq!(
        backend.load(&bearer(&token)).await,
        Err(LoadError::Rejected { expired: true })
    );
    assert_eq!(
        backend.load(&cookies(&[("jwt", &token)])).await,
        Err(LoadError::Expired)
    );
}

#[tokio::test]
async fn a_token_of_another_type_is_rejected_even_with_the_right_key() {
    let backend = backend().await;
    for typ in [None, Some("JWT"), Some("id+jwt")] {
        let token = sign_typed(&valid_claims(), Algorithm::HS256, "k1", &[1; 32], typ);
        assert_rejected(&backend, &token).await;
    }
    let token = sign(&valid_claims(), Algorithm::HS256, "k1", &[1; 32]);
    assert!(backend.load(&bearer(&token)).await.unwrap().is_some());
}

#[tokio::test]
async fn a_few_seconds_of_clock_skew_are_forgiven_and_no_more() {
    let backend = backend().await;
    let mut claims = valid_claims();
    // Signed by an instance whose clock runs three seconds ahead.
    claims.iat = now_unix() + 3;
    claims.nbf = now_unix() + 3;
    let token = sign(&claims, Algorithm::HS256, "k1", &[1; 32]);
    assert!(backend.load(&bearer(&token)).await.unwrap().is_some());
    claims.nbf = now_unix() + 60;
    assert_rejected(&backend, &sign(&claims, Algorithm::HS256, "k1", &[1; 32])).await;
    let mut claims = valid_claims();
    claims.exp = now_unix() - 2;
    let token = sign(&claims, Algorithm::HS256, "k1", &[1; 32]);
    assert!(backend.load(&bearer(&token)).await.unwrap().is_some());
}

#[tokio::test]
async fn logging_out_revokes_every_token_the_session_was_given() {
    let backend = backend().await;
    let first = backend.save(&sample(), None, false).await.unwrap();
    // Every change mints a new token in the same family.
    let second = backend
        .save(&sample(), first.key.as_ref(), false)
        .await
        .unwrap();
    let (old, last) = (credential(&first.client), credential(&second.client));
    assert_ne!(old, last);
    backend.destroy(second.key.as_ref()).await.unwrap();
    for token in [old, last] {
        assert_eq!(
            backend.load(&bearer(&token)).await,
            Err(LoadError::Rejected { expired: false })
        );
    }
}

#[tokio::test]
async fn a_logged_out_token_is_denied_until_it_expires() {
    let backend = backend().await;
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let token = credential(&saved.client);
    backend.destroy(saved.key.as_ref()).await.unwrap();
    assert_eq!(
        backend.load(&bearer(&token)).await,
        Err(LoadError::Rejected { expired: false })
    );
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_family() {
    let backend = backend().await;
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let access = credential(&saved.client);
    let first_refresh = refresh_token(&saved.client);

    let refreshed = backend.refresh(&access, &first_refresh).await.unwrap();
    assert_eq!(refreshed.data, sample());
    let second_access = credential(&refreshed.client);
    let second_refresh = refresh_token(&refreshed.client);
    assert_ne!(second_refresh, first_refresh);

    // Replaying the spent token is refused and takes the whole family down with it.
    assert!(backend.refresh(&access, &first_refresh).await.is_err());
    assert!(backend
        .refresh(&second_access, &second_refresh)
        .await
        .is_err());
    assert!(backend.refresh(&access, "not-a-token").await.is_err());
}

#[tokio::test]
async fn a_refresh_token_cannot_carry_another_users_access_token() {
    let backend = backend().await;
    let alice = backend.save(&sample(), None, false).await.unwrap();
    let mut bob_data = sample();
    bob_data.user = Some(SessionUser {
        id: 2,
        username: "bob".into(),
    });
    let bob = backend.save(&bob_data, None, false).await.unwrap();
    assert!(backend
        .refresh(&credential(&bob.client), &refresh_token(&alice.client))
        .await
        .is_err());
}

/// A session saved by `backend`: the same session in an access token that has just expired,
/// signed by the real key, and its refresh token.
async fn expired_token_and_refresh(backend: &JwtBackend) -> (String, String) {
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let mut claims = backend.verify(&credential(&saved.client), true).unwrap();
    claims.exp = now_unix() - LEEWAY_SECONDS - 1;
    let expired = sign(&claims, Algorithm::HS256, "k1", &[1; 32]);
    (expired, refresh_token(&saved.client))
}

/// `request` loaded the session, refreshed in passing: a new access token cookie is set.
async fn assert_refreshed_in_passing(backend: &JwtBackend, request: &Parts) {
    let loaded = backend.load(request).await.unwrap().unwrap();
    assert_eq!(loaded.data, sample());
    assert!(loaded
        .client
        .iter()
        .any(|change| matches!(change, ClientChange::SetCookie { name: "jwt", .. })));
}

#[tokio::test]
async fn an_expired_cookie_token_is_refreshed_in_passing() {
    let backend = backend().await;
    let (expired, refresh) = expired_token_and_refresh(&backend).await;
    let request = cookies(&[("jwt", &expired), ("refresh", &refresh)]);
    assert_refreshed_in_passing(&backend, &request).await;
}

/// Over HTTPS (`COOKIE_SECURE`) both cookies travel under `__Host-` names: the refresh in
/// passing finds them there, and only there.
#[tokio::test]
async fn over_https_an_expired_cookie_token_is_refreshed_from_the_host_prefixed_cookies() {
    use session_strategies::session::transport::HostPrefixedCookies;
    let backend = backend().await;
    let (expired, refresh) = expired_token_and_refresh(&backend).await;
    let over_https = |pairs: &[(&str, &str)]| {
        let mut parts = cookies(pairs);
        parts.extensions.insert(HostPrefixedCookies);
        parts
    };
    // Planted under the plain names (a plain-HTTP page, a subdomain): not read at all.
    let planted = over_https(&[("jwt", &expired), ("refresh", &refresh)]);
    assert!(backend.load(&planted).await.unwrap().is_none());
    let request = over_https(&[("__Host-jwt", &expired), ("__Host-refresh", &refresh)]);
    assert_refreshed_in_passing(&backend, &request).await;
}

#[tokio::test]
async fn rotated_keys_sign_with_the_newest_and_still_verify_the_old() {
    let ledger = ledger().await;
    let old = backend_with(vec![key("k1", 1)], ledger.clone()).await;
    let old_token = credential(&old.save(&sample(), None, false).await.unwrap().client);
    let rotated = backend_with(vec![key("k1", 1), key("k2", 2)], ledger.clone()).await;
    assert!(rotated.load(&bearer(&old_token)).await.unwrap().is_some());
    let new_token = credential(&rotated.save(&sample(), None, false).await.unwrap().client);
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(new_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], "k2");
    // Once k1 is retired, its tokens stop verifying.
    let retired = backend_with(vec![key("k2", 2)], ledger).await;
    assert_rejected(&retired, &old_token).await;
    assert!(retired.load(&bearer(&new_token)).await.unwrap().is_some());
}

#[test]
fn a_key_shorter_than_32_bytes_is_refused() {
    assert!(SigningKey::new("short", vec![1; 31]).is_err());
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_get_the_same_pair_and_stay_logged_in() {
    let mut settings = settings(vec![key("k1", 1)]);
    settings.refresh_grace = Duration::from_secs(10);
    let ledger = ledger().await;
    let backend =
        Arc::new(JwtBackend::new(settings, Arc::new(ledger.clone()), Arc::new(ledger)).unwrap());
    let saved = backend.save(&sample(), None, false).await.unwrap();
    let (access, refresh) = (credential(&saved.client), refresh_token(&saved.client));
    // Two restored tabs present the same expired cookie pair at the same moment.
    let (first, second) = tokio::join!(
        backend.refresh(&access, &refresh),
        backend.refresh(&access, &refresh)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(credential(&first.client), credential(&second.client));
    assert_eq!(refresh_token(&first.client), refresh_token(&second.client));
    let token = credential(&first.client);
    assert!(
        backend.load(&bearer(&token)).await.unwrap().is_some(),
        "nobody was logged out"
    );
    // The pair traded for works once more as usual.
    assert!(backend
        .refresh(&token, &refresh_token(&first.client))
        .await
        .is_ok());
}
