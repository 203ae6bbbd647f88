//! What each strategy's guide page says: how it works, when to choose it, its security notes and
//! where its code lives. One table, keyed by strategy id, like the properties in the root crate.

/// A step of a request, for the sequence diagram: who sends what to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: &'static str,
    pub to: &'static str,
    pub message: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guide {
    pub id: &'static str,
    pub title: &'static str,
    pub how: [&'static str; 5],
    pub sequence: &'static [Step],
    pub choose_when: &'static str,
    pub avoid_when: &'static str,
    pub security: &'static [&'static str],
    pub source: &'static str,
}

const fn step(from: &'static str, to: &'static str, message: &'static str) -> Step {
    Step { from, to, message }
}

pub const GUIDES: [Guide; 7] = [
    Guide {
        id: "memory",
        title: "In-memory store",
        how: [
            "The server keeps each session in a map in its own memory, keyed by a random 128-bit id.",
            "The browser holds only that id, in the HttpOnly cookie sid.",
            "Every request sends the id; the server looks the session up and answers.",
            "Logging in gives the session a new id, so an id planted before login is worthless.",
            "Restart the process, or send the next request to another instance, and the session is gone.",
        ],
        sequence: &[
            step("Browser", "Server", "GET /cart, Cookie: sid=…"),
            step("Server", "Memory", "look up sid"),
            step("Memory", "Server", "user, cart"),
            step("Server", "Browser", "page"),
        ],
        choose_when: "One process, development, or state you can afford to lose.",
        avoid_when: "Several instances, restarts you must survive, or sticky sessions you do not want.",
        security: &[
            "Revocable at once: delete the entry.",
            "The id is 128 random bits; the cookie is HttpOnly and SameSite=Lax.",
        ],
        source: "src/store.rs",
    },
    Guide {
        id: "cookie",
        title: "Encrypted cookie",
        how: [
            "The whole session is serialized and sealed with AES-256-GCM (axum-extra private cookies).",
            "The sealed value is the cookie session; the server keeps nothing.",
            "Every request sends the full cart; the server opens and checks it before use.",
            "A changed byte fails authentication, so a tampered cookie is a fresh guest.",
            "Browsers keep at most 4096 bytes per cookie, so a large cart is refused.",
        ],
        sequence: &[
            step("Browser", "Server", "POST /cart/items, Cookie: session=<sealed>"),
            step("Server", "Server", "decrypt, change, seal again"),
            step("Server", "Browser", "Set-Cookie: session=<new sealed>"),
        ],
        choose_when: "Small state, many instances, no shared store.",
        avoid_when: "State that grows, or sessions you must revoke before they expire.",
        security: &[
            "Encrypted and authenticated: unreadable and unforgeable without the key.",
            "Not revocable: a copied cookie works until it expires; keep the idle timeout short.",
        ],
        source: "src/cookie.rs",
    },
    Guide {
        id: "jwt",
        title: "JSON Web Token",
        how: [
            "At login the server signs the session into a JWT (HS256, key named by kid).",
            "Browsers get it in the HttpOnly cookie jwt, API clients as a Bearer credential.",
            "Any instance verifies it without shared state: signature, algorithm, exp, nbf, iss, aud.",
            "Access tokens live 15 minutes; a single-use refresh token buys the next one.",
            "Logout puts the token id on a denylist until it would have expired.",
        ],
        sequence: &[
            step("Client", "Server", "POST /login"),
            step("Server", "Client", "access token + refresh token"),
            step("Client", "Server", "Authorization: Bearer <jwt>"),
            step("Server", "Server", "verify signature and claims"),
            step("Client", "Server", "POST /token/refresh"),
        ],
        choose_when: "APIs and mobile clients, many instances, authentication more than state.",
        avoid_when: "Large state (the token grows with it) or a need to revoke instantly everywhere.",
        security: &[
            "The algorithm is pinned; alg none and other algorithms are refused.",
            "Claims are only encoded: anyone holding the token can read the cart.",
            "A replayed refresh token revokes its whole family.",
        ],
        source: "src/jwt.rs",
    },
    Guide {
        id: "redis",
        title: "Redis store",
        how: [
            "The session lives in Redis under its id, with a time to live.",
            "The browser holds the id in the cookie sid.",
            "Every instance reads the same Redis, so any instance serves any request.",
            "Activity pushes the time to live ahead; idle sessions expire by themselves.",
            "If Redis goes down the strategy answers 503 until it is back, and the rest go on.",
        ],
        sequence: &[
            step("Browser", "Server", "Cookie: sid=…"),
            step("Server", "Redis", "GET sid"),
            step("Redis", "Server", "session"),
            step("Server", "Redis", "SET sid … EXAT"),
        ],
        choose_when: "Several instances, fast reads, revocation, automatic expiry.",
        avoid_when: "You cannot run Redis, or sessions must survive a Redis flush.",
        security: &["Revocable at once; the id is 128 random bits.", "Keep Redis on a private network."],
        source: "src/redis_store.rs",
    },
    Guide {
        id: "sql",
        title: "SQL store",
        how: [
            "Sessions are rows in the application's database: SQLite here, PostgreSQL in production.",
            "The browser holds the id in the cookie sid.",
            "Every read and write is a query, durable across restarts and shared by instances.",
            "A background task deletes expired rows every minute.",
            "Nothing extra to run: the database is already there.",
        ],
        sequence: &[
            step("Browser", "Server", "Cookie: sid=…"),
            step("Server", "Database", "SELECT … WHERE id = $1"),
            step("Server", "Database", "UPDATE … SET data, expiry_date"),
        ],
        choose_when: "Durability and simplicity matter more than the last millisecond.",
        avoid_when: "Very high request rates that would load the database.",
        security: &["Revocable: delete the row.", "Back-ups contain sessions: protect them."],
        source: "src/sql_store.rs",
    },
    Guide {
        id: "cache-aside",
        title: "Redis cache over SQL",
        how: [
            "Sessions are stored in SQL, the source of truth.",
            "Reads try Redis first; a miss loads from SQL and fills Redis.",
            "Writes go to SQL, then delete the cached copy so the next read refills it.",
            "A flushed or failed Redis loses nothing: reads fall back to SQL.",
            "Cache entries live at most five minutes, which bounds any staleness.",
        ],
        sequence: &[
            step("Server", "Redis", "GET cache:sid"),
            step("Redis", "Server", "miss"),
            step("Server", "Database", "SELECT session"),
            step("Server", "Redis", "SET cache:sid EX 300"),
        ],
        choose_when: "Durable sessions with cache-speed reads.",
        avoid_when: "You do not want two stores to run and reason about.",
        security: &["Deleting a session deletes it in both stores."],
        source: "src/cache_aside.rs",
    },
    Guide {
        id: "signed-url",
        title: "Signed URL",
        how: [
            "The session id travels in the URL parameter s, signed with HMAC-SHA256 and an expiry.",
            "No cookies at all: every link, form and redirect carries the token.",
            "The server checks the signature in constant time, then finds the session in its store.",
            "Pages send Referrer-Policy: no-referrer and Cache-Control: no-store.",
            "The same signer makes share-cart and magic login links, each for its own purpose.",
        ],
        sequence: &[
            step("Browser", "Server", "GET /cart?s=<id.exp.signature>"),
            step("Server", "Server", "verify HMAC, expiry"),
            step("Server", "Database", "load session"),
            step("Server", "Browser", "page whose links carry s"),
        ],
        choose_when: "Cookies are unavailable, or for one-off links (password reset, magic login).",
        avoid_when: "Whole visits where URLs are shared, logged or bookmarked.",
        security: &[
            "Anyone with the URL holds the session: tokens expire and login rotates the id.",
            "URLs leak through history and logs; no Referer is sent.",
        ],
        source: "src/signed_url.rs",
    },
];

/// The guide for a strategy id.
pub fn guide(id: &str) -> Option<&'static Guide> {
    GUIDES.iter().find(|guide| guide.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guide_names_a_source_file_that_exists() {
        for guide in GUIDES {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(guide.source);
            assert!(path.is_file(), "{}: {}", guide.id, guide.source);
            assert!(!guide.sequence.is_empty());
        }
        assert!(guide("jwt").is_some());
        assert!(guide("floppy").is_none());
    }
}
