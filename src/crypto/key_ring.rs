//! The session key and the keys it replaced: newest first, as Django's `SECRET_KEY_FALLBACKS`
//! and Rails' rotations keep them. Everything is sealed or signed with the newest key and opened
//! or verified with any of them, and a credential opened with an older key is sealed again with
//! the newest on the same request. So a key can be retired without logging anyone out: add the
//! new one in front, wait one idle timeout, drop the old one. A key that leaked is dropped at
//! once, and whatever it sealed stops working.

use axum_extra::extract::cookie::Key;
use sha2::{Digest, Sha256};

/// Session keys, newest first; never empty.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<Key>,
}

/// Which key of a ring something was opened with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPosition {
    /// 0 for the newest key.
    pub index: usize,
    pub of: usize,
}

impl KeyPosition {
    /// Whether an older key opened it: it must be sealed again with the newest.
    pub fn is_retired(self) -> bool {
        self.index > 0
    }
}

/// `key 2 of 2 (an older key)`, as the trace says it.
impl std::fmt::Display for KeyPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {} of {}", self.index + 1, self.of)?;
        if self.is_retired() {
            f.write_str(" (an older key)")?;
        }
        Ok(())
    }
}

/// A ring needs at least one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a key ring needs at least one key")]
pub struct EmptyRing;

impl KeyRing {
    /// `keys`, newest first.
    pub fn new(keys: Vec<Key>) -> Result<Self, EmptyRing> {
        if keys.is_empty() {
            return Err(EmptyRing);
        }
        Ok(Self { keys })
    }

    /// A ring of one key.
    pub fn single(key: Key) -> Self {
        Self { keys: vec![key] }
    }

    /// The key everything new is sealed or signed with.
    pub fn newest(&self) -> &Key {
        &self.keys[0]
    }

    /// Every key, newest first, with its position.
    pub fn keys(&self) -> impl Iterator<Item = (KeyPosition, &Key)> {
        let of = self.keys.len();
        self.keys
            .iter()
            .enumerate()
            .map(move |(index, key)| (KeyPosition { index, of }, key))
    }

    /// A short name for a key that says nothing of it: the first hex digits of a hash of it.
    pub fn fingerprint(key: &Key) -> String {
        hex::encode(&Sha256::digest(key.master())[..4])
    }
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} keys, [redacted])", self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_key_comes_first_and_an_older_one_is_retired() {
        let (new, old) = (Key::generate(), Key::generate());
        let ring = KeyRing::new(vec![new.clone(), old.clone()]).unwrap();
        assert_eq!(ring.newest().master(), new.master());
        let positions: Vec<KeyPosition> = ring.keys().map(|(position, _)| position).collect();
        assert!(!positions[0].is_retired());
        assert!(positions[1].is_retired());
        assert_eq!(positions[1].to_string(), "key 2 of 2 (an older key)");
        assert!(KeyRing::new(Vec::new()).is_err());
        assert_ne!(KeyRing::fingerprint(&new), KeyRing::fingerprint(&old));
    }
}
