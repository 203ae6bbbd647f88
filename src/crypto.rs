//! The cryptography the strategies share: the session keys, newest first ([`key_ring`]), keys
//! derived per purpose and random ids ([`secrets`]), values sealed with AES-256-GCM for
//! cookies ([`sealed`]), signed expiring tokens for URLs ([`url_signer`]), and the cache of
//! credentials already verified ([`verified_tokens`]); and, for another service, the public
//! keys the shop publishes ([`published_keys`]).

pub mod key_ring;
pub mod published_keys;
pub mod sealed;
pub mod secrets;
pub mod url_signer;
pub mod verified_tokens;
