//! Every parser of client input, fed what an attacker might send: random bytes, and real
//! credentials with bytes flipped, cut or appended. Nothing may panic, and nothing forged may
//! load as a session. A bounded run (proptest's 256 cases per parser) in every test run.

use crate::common::{ledger, sample};
use axum_extra::extract::cookie::Key;
use http::{request::Parts, Request};
use proptest::prelude::*;
use session_strategies::{
    backends::{
        cookie::CookieBackend,
        jwt::{JwtBackend, JwtSettings, SigningKey},
    },
    crypto::{key_ring::KeyRing, url_signer::UrlSigner},
    ClientChange, LoadError, SessionBackend, Strategy as SessionStrategy,
};
use std::{sync::Arc, sync::OnceLock, time::Duration};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

struct Backends {
    cookie: CookieBackend,
    jwt: JwtBackend,
    /// A real sealed cookie and a real token, to mutate.
    sealed: String,
    token: String,
}

fn backends() -> &'static Backends {
    static BACKENDS: OnceLock<Backends> = OnceLock::new();
    BACKENDS.get_or_init(|| {
        runtime().block_on(async {
            let ttl = Duration::from_secs(600);
            let cookie = CookieBackend::new(
                KeyRing::single(Key::generate()),
                ttl,
                Arc::new(ledger().await),
            );
            let tokens = ledger().await;
            let jwt = JwtBackend::new(
                JwtSettings {
                    keys: vec![SigningKey::new("k1", vec![3; 32]).unwrap()],
                    algorithm: jsonwebtoken::Algorithm::HS256,
                    issuer: "shop".into(),
                    audience: "shoppers".into(),
                    access_ttl: ttl,
                    refresh_ttl: ttl,
                    refresh_grace: Duration::ZERO,
                },
                Arc::new(tokens.clone()),
                Arc::new(tokens),
            )
            .unwrap();
            let first = |changes: Vec<ClientChange>| {
                changes
                    .into_iter()
                    .find_map(|change| match change {
                        ClientChange::SetCookie { value, .. } => Some(value),
                        _ => None,
                    })
                    .unwrap()
            };
            let sealed = first(cookie.save(&sample(), None, false).await.unwrap().client);
            let token = first(jwt.save(&sample(), None, false).await.unwrap().client);
            Backends {
                cookie,
                jwt,
                sealed,
                token,
            }
        })
    })
}

fn with_header(name: &str, value: &str) -> Option<Parts> {
    let (parts, ()) = Request::builder()
        .header(name, value)
        .body(())
        .ok()?
        .into_parts();
    Some(parts)
}

/// A real credential with something done to it: a byte flipped, cut short, or grown.
fn mutated(real: &'static str) -> impl Strategy<Value = String> {
    let len = real.len();
    prop_oneof![
        (0..len, any::<u8>()).prop_map(move |(at, byte)| {
            let mut bytes = real.as_bytes().to_vec();
            bytes[at] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
                [usize::from(byte) % 65];
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        (0..len).prop_map(move |end| real[..end].to_owned()),
        "[A-Za-z0-9._-]{1,64}".prop_map(move |tail| format!("{real}{tail}")),
    ]
}

/// Bytes a header may carry (visible ASCII), with the alphabets credentials use well covered.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,300}", "[A-Za-z0-9._~+/=-]{0,600}"]
}

proptest! {
    #[test]
    fn no_cookie_an_attacker_sends_loads_or_panics(value in header_text()) {
        let backends = backends();
        if let Some(request) = with_header("cookie", &format!("session={value}")) {
            let loaded = runtime().block_on(backends.cookie.load(&request));
            prop_assert!(!matches!(loaded, Ok(Some(_))), "{value} loaded");
        }
    }

    #[test]
    fn no_altered_cookie_loads(value in mutated(&backends().sealed)) {
        prop_assume!(value != backends().sealed);
        if let Some(request) = with_header("cookie", &format!("session={value}")) {
            let loaded = runtime().block_on(backends().cookie.load(&request));
            prop_assert!(!matches!(loaded, Ok(Some(_))), "{value} loaded");
        }
    }

    #[test]
    fn no_bearer_token_an_attacker_sends_loads_or_panics(value in header_text()) {
        if let Some(request) = with_header("authorization", &format!("Bearer {value}")) {
            let loaded = runtime().block_on(backends().jwt.load(&request));
            prop_assert!(!matches!(loaded, Ok(Some(_))), "{value} loaded");
        }
    }

    #[test]
    fn no_altered_jwt_loads(value in mutated(&backends().token)) {
        prop_assume!(value != backends().token);
        if let Some(request) = with_header("authorization", &format!("Bearer {value}")) {
            let loaded = runtime().block_on(backends().jwt.load(&request));
            prop_assert!(
                matches!(loaded, Err(LoadError::Rejected { .. })),
                "{value}: {loaded:?}"
            );
        }
    }

    #[test]
    fn no_signed_url_or_link_token_is_forged(value in header_text(), purpose in "[a-z-]{1,16}") {
        let signer = UrlSigner::new(&[5; 32]);
        prop_assert!(signer.verify(&purpose, &value).is_err());
        let real = signer.sign(&purpose, b"payload", i64::MAX);
        let cut = &real[..real.len() / 2];
        prop_assert!(signer.verify(&purpose, cut).is_err());
        let other = format!("{purpose}x");
        prop_assert!(signer.verify(&other, &real).is_err());
    }

    #[test]
    fn a_strategy_id_parses_only_when_it_is_one(value in "[ -~]{0,40}") {
        let parsed = value.parse::<SessionStrategy>();
        let known = SessionStrategy::ALL.iter().any(|strategy| strategy.id() == value);
        prop_assert_eq!(parsed.is_ok(), known);
    }
}
