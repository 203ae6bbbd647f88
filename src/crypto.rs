//! The cryptography the strategies share: the session keys, newest first ([`key_ring`]), keys
//! derived per purpose and random ids ([`secrets`]), values sealed with AES-256-GCM for
//! cookies ([`sealed`]), signed expiring tokens for URLs ([`url_signer`]), and the cache of
//! credentials already verified ([`verified_tokens`]).

pub mod key_ring;
pub mod sealed;
pub mod secrets;
pub mod url_signer;
pub mod verified_tokens;
