//! Values sealed with AES-256-GCM, the primitive axum-extra's private cookies use: encrypted and
//! authenticated under the key ring's newest key, opened with any key of it. A value is sealed
//! under a name (the cookie's), which the tag covers: a value sealed for one cookie does not
//! open as another. Kept as a string rather than a response part, so that its size can be
//! checked before anything is sent.

use super::key_ring::{KeyPosition, KeyRing};
use cookie::{Cookie, CookieJar};

/// `plaintext` sealed under `name` with the newest key.
pub fn seal(keys: &KeyRing, name: &'static str, plaintext: String) -> String {
    let mut jar = CookieJar::new();
    jar.private_mut(keys.newest())
        .add(Cookie::new(name, plaintext));
    jar.get(name)
        .map(|sealed| sealed.value().to_owned())
        .expect("a jar holds the cookie just added to it")
}

/// The plaintext of `sealed`, sealed under `name`, and which key opened it; `None` if no key
/// of the ring does.
pub fn open(keys: &KeyRing, name: &'static str, sealed: &str) -> Option<(String, KeyPosition)> {
    keys.keys().find_map(|(position, key)| {
        let opened = CookieJar::new()
            .private(key)
            .decrypt(Cookie::new(name, sealed.to_owned()))?;
        Some((opened.value().to_owned(), position))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum_extra::extract::cookie::Key;

    #[test]
    fn a_value_opens_under_its_own_name_with_any_key_of_the_ring() {
        let (old, new) = (Key::generate(), Key::generate());
        let before = KeyRing::single(old.clone());
        let sealed = seal(&before, "state", "cart".into());
        let after = KeyRing::new(vec![new, old]).unwrap();
        let (plaintext, position) = open(&after, "state", &sealed).unwrap();
        assert_eq!(plaintext, "cart");
        assert!(position.is_retired());
        assert!(open(&after, "session", &sealed).is_none(), "another name");
        assert!(open(&KeyRing::single(Key::generate()), "state", &sealed).is_none());
    }
}
