//! Known devices: a browser that logged in as a user before holds a signed cookie saying so,
//! and its login attempts count against that device alone, not the username's or the address's
//! limit. Anyone who knows a username can use up its limit; this keeps the owner's own way in
//! from the browsers they use (OWASP Authentication cheat sheet, "Account lockout").

use super::Shop;
use session_strategies::{clock::now_unix, crypto::secrets::random_bytes, ClientChange, Session};
use std::time::Duration;

/// The cookie that marks a known device.
pub const COOKIE: &str = "device";
/// How long a browser stays a known device after its last login.
pub const TTL: Duration = Duration::from_secs(180 * 24 * 3600);
const PURPOSE: &str = "known-device";

/// The known-device token the request's browser holds, if any (not yet verified).
pub fn presented(request: &http::request::Parts) -> Option<String> {
    session_strategies::session::transport::request_cookie(request, COOKIE)
}

/// The id of the device whose `token` says it logged in as `username` before, if it does.
pub fn known_device(shop: &Shop, token: &str, username: &str) -> Option<String> {
    let payload = shop.links.verify(PURPOSE, token).ok()?;
    let (device, name) = payload.split_at_checked(16)?;
    (name == username.as_bytes()).then(|| hex::encode(device))
}

/// Marks the browser of `session`, which just logged in as `username`, a known device of
/// theirs, freshly signed with the newest key. Only where the strategy keeps the session in
/// cookies anyway: a browser under one that does not may have cookies blocked, and was
/// promised none.
pub fn remember(shop: &Shop, session: &Session, username: &str) {
    if !session.carried_by_cookies() {
        return;
    }
    let mut payload = random_bytes::<16>().to_vec();
    payload.extend_from_slice(username.as_bytes());
    let expires_at = now_unix() + TTL.as_secs() as i64;
    session.push_client_changes([ClientChange::SetCookie {
        name: COOKIE,
        value: shop.links.sign(PURPOSE, &payload, expires_at),
        max_age: TTL,
    }]);
}
