//! Randomness and key derivation shared by every strategy: one configured master key yields an
//! independent key per purpose, and every id or token a client may hold comes from here.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A 32-byte secret for one `purpose`, derived from the master key (HMAC-SHA256 over
/// `derive\0purpose`), so one configured secret yields independent keys for cookies, JWTs and
/// URLs, and a key leaked from one use says nothing about another.
pub fn derive_secret(master: &[u8], purpose: &str) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"derive\0");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// 128 random bits, base64url: ids that name something without granting it (token ids,
/// refresh families, one-off link ids).
pub fn random_id() -> String {
    random_base64::<16>()
}

/// 256 random bits, base64url: bearer secrets such as refresh tokens.
pub fn random_token() -> String {
    random_base64::<32>()
}

/// `N` bytes from the operating system's generator, for keys.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    bytes
}

fn random_base64<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_gets_its_own_key() {
        let master = [7u8; 64];
        let cookies = derive_secret(&master, "cookies");
        assert_eq!(cookies.len(), 32);
        assert_ne!(cookies, derive_secret(&master, "jwt"));
        assert_eq!(cookies, derive_secret(&master, "cookies"));
        assert_ne!(cookies, derive_secret(&[8u8; 64], "cookies"));
    }

    #[test]
    fn ids_and_tokens_are_random_and_url_safe() {
        assert_eq!(random_id().len(), 22);
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_id(), random_id());
        assert!(random_token()
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
    }
}
