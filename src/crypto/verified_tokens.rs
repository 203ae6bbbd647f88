//! Tokens whose signature and claims this instance has already checked, by their exact text.
//!
//! A browser presents the same access token on every request until it is refreshed, and
//! checking it means decoding the header twice, an HMAC and two JSON parses of the claims: a
//! sixth of a JWT read. A token's signature and static claims (algorithm, key, issuer,
//! audience, not-before in the past) verify the same way every time for the same bytes, so the
//! result is kept, as Envoy's `jwt_authn` filter keeps verified tokens. What changes with time
//! is not kept: callers check the expiry, and revocation, on every use. The cookie strategy keeps
//! the sealed cookies it opened the same way (decryption authenticates them as a signature
//! check does).

use std::{collections::HashMap, sync::Mutex};

/// Keys are whole tokens, a kilobyte for a JWT, and every read looks one up: foldhash reads
/// them several times faster than the standard SipHash. Its seed is random per process, and
/// only tokens this service issued and verified are ever stored.
type Tokens<T> = HashMap<Box<str>, T, foldhash::fast::RandomState>;

/// How many tokens are kept; past that the cache starts over (a burst of new logins costs a
/// verification each, never unbounded memory).
pub const CAPACITY: usize = 10_000;

/// Verified tokens and what verifying them gave.
pub struct VerifiedTokens<T> {
    tokens: Mutex<Tokens<T>>,
}

impl<T> Default for VerifiedTokens<T> {
    fn default() -> Self {
        Self {
            tokens: Mutex::default(),
        }
    }
}

impl<T: Clone> VerifiedTokens<T> {
    /// What verifying exactly `token` gave, if it was verified here.
    pub fn get(&self, token: &str) -> Option<T> {
        self.lock().get(token).cloned()
    }

    /// Keeps what verifying `token` gave. Only a token that verified belongs here.
    pub fn insert(&self, token: &str, verified: T) {
        let mut tokens = self.lock();
        if tokens.len() >= CAPACITY {
            tokens.clear();
        }
        tokens.insert(token.into(), verified);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens<T>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_is_found_and_the_cache_stays_bounded() {
        let cache = VerifiedTokens::default();
        cache.insert("a.b.c", 1);
        assert_eq!(cache.get("a.b.c"), Some(1));
        assert_eq!(cache.get("a.b.C"), None);
        assert_eq!(cache.get("a.b.c "), None);
        for n in 0..CAPACITY + 5 {
            cache.insert(&format!("t{n}"), n);
        }
        assert!(cache.lock().len() <= CAPACITY);
        assert_eq!(cache.get(&format!("t{}", CAPACITY + 4)), Some(CAPACITY + 4));
    }
}
