//! One entry per strategy: everything the UI, the API, the guides, the charts and the tests
//! say about it. A new strategy adds its entry here (and its variant in [`super::Strategy`]);
//! the tests over `Strategy::ALL` in `strategy.rs` fail until every piece is there.

use super::{
    guide::{step, Guide},
    Capabilities, ClusterBehaviour, Look, SecondService, StrategyMeta, Trust,
};

/// How soon the orders service refuses a session logged out at the shop, as the services test
/// (`server/tests/system/services.rs`) measures it.
const LOGOUT_STORE: &str = "at once: the next lookup finds the session gone";
const LOGOUT_LEDGER: &str = "within milliseconds: it follows the revocation ledger's announcements, as the shop's instances do";

/// What the cluster's Memcached does to a strategy that keeps nothing there.
const NOT_MEMCACHED: &str = "kept: it never touches Memcached";

pub(super) const MEMORY: StrategyMeta = StrategyMeta {
    id: "memory",
    name: "In-memory store",
    summary: "Session id in a cookie, state in this server process's memory.",
    state_location: "server process memory",
    survives_restart: false,
    shared_across_instances: false,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "no",
    concurrent_writes: "both kept: its one process's writes take turns, each on the copy stored now",
    second_service: SecondService {
        trust: Trust::Cannot,
        needs: "nothing will do: the session lives in one shop process's memory, which no other process can read",
        learns_of_logout: "never: it cannot see these sessions at all",
    },
    cluster: ClusterBehaviour {
        instance_stop: "lost if it lived there (with sticky balancing it did): that process's memory is gone, so the visitor is a guest again, with a notice; under round robin it was only ever found on one instance in three",
        restart_all: "lost: every instance starts with empty memory",
        redis_restart: "kept: it never touches Redis",
        redis_flush: "kept: it never touches Redis",
        redis_primary_killed: "kept: it never touches Redis",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#4338ca",
        dash: "",
    },
    guide: Guide {
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
            "No other service can check these sessions: the orders service answers 401 and says why.",
            "The id is 128 random bits; the cookie is HttpOnly and SameSite=Lax.",
        ],
        stolen: "Whoever holds the sid cookie is the user, on this instance only, until logout deletes the server copy, 30 minutes pass without use (the idle timeout) or 12 hours pass since login (the absolute timeout).",
        source: "src/stores/memory.rs",
    },
};

pub(super) const COOKIE: StrategyMeta = StrategyMeta {
    id: "cookie",
    name: "Encrypted cookie",
    summary:
        "The whole session in a signed and encrypted cookie; nothing on the server.",
    state_location: "the client, in an encrypted cookie",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: false,
        renewed_on_read: true,
    },
    revocable: "via a ledger: logged-in sessions' families, which every instance mirrors",
    without_cookies: "no",
    concurrent_writes: "last wins: the browser keeps the last response, the other change is lost",
    second_service: SecondService {
        trust: Trust::SharedKey,
        needs: "the session key, to open the cookie: with it the service could also seal sessions of its own",
        learns_of_logout: LOGOUT_LEDGER,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: the browser holds the sealed session and every instance has the key",
        restart_all: "kept: nothing on the server was holding it",
        redis_restart: "kept; a logout recorded before still holds, since the revocation ledger is in SQL too",
        redis_flush: "kept; revocations still hold: SQL keeps the ledger, Redis was only its fast path",
        redis_primary_killed: "kept; a logout made meanwhile still holds: the revocation ledger is in SQL and in each instance's mirror",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#b45309",
        dash: "8 4",
    },
    guide: Guide {
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
            "Deleting nothing revokes a cookie: a logged-in one carries a family id that logout puts on a revocation ledger every instance reads (the standard remedy, one in-memory lookup per logged-in request, the ledger mirrored on every instance).",
            "Two tabs changing the cart at once: the cookie the browser keeps last wins and the other change is lost; the server has no copy to merge into (a test measures it).",
        ],
        stolen: "Whoever holds the session cookie is the user until it expires: 30 minutes idle, 12 hours since login at most. For a logged-in session, logout revokes the cookie's family, so a copy stops working at once; a guest's copied cookie keeps its cart until it expires.",
        source: "src/backends/cookie.rs",
    },
};

pub(super) const JWT: StrategyMeta = StrategyMeta {
    id: "jwt",
    name: "JSON Web Token",
    summary:
        "The session in the claims of a signed token, verified without server state.",
    state_location: "the client, in signed JWT claims",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: false,
        renewed_on_read: false,
    },
    revocable: "via a ledger: the token family, which every instance mirrors",
    without_cookies: "API clients: with a Bearer header",
    concurrent_writes: "last wins: the browser keeps the last response, the other change is lost",
    second_service: SecondService {
        trust: Trust::PublicKeys,
        needs: "the shop's public keys, fetched from its JWKS: it verifies tokens and cannot mint them",
        learns_of_logout: LOGOUT_LEDGER,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: any instance verifies the token with the shared key ring",
        restart_all: "kept: nothing on the server was holding it",
        redis_restart: "kept; revoked tokens stay revoked (the denylist is in SQL too)",
        redis_flush: "kept, and revoked tokens stay revoked: the denylist is written to SQL as well as Redis",
        redis_primary_killed: "kept; a logout made meanwhile still holds: the denylist is in SQL and in each instance's mirror",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#047857",
        dash: "2 3",
    },
    guide: Guide {
        how: [
            "At login the server signs the session into a JWT (EdDSA, key named by kid; HS256 for a single service).",
            "Browsers get it in the HttpOnly cookie jwt, API clients as a Bearer credential.",
            "Any instance verifies it without shared state: signature, algorithm, exp, nbf, iss, aud.",
            "Access tokens live 15 minutes; a single-use refresh token buys the next one.",
            "Logout revokes the token's family: every access token the session was given fails at once.",
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
            "Tokens are signed with Ed25519 (EdDSA) by default, and the public keys are served at /.well-known/jwks.json: another service verifies tokens and cannot mint them. HS256 (JWT_ALGORITHM=HS256) suits one service only: an HMAC key that verifies also signs, so a second service holding it could mint any session.",
            "Each instance keeps the revoked families in memory (filled from SQL, announced through Redis pub/sub, re-read from SQL every 5 s): checking one costs no round trip, and a revocation reaches every instance in about a millisecond.",
            "Two tabs changing the cart at once: the token the browser keeps last wins and the other change is lost; the claims are the only copy (a test measures it).",
        ],
        stolen: "Whoever holds an access token is the user until it expires (15 minutes) or logout revokes its family, which ends every token the session was given at once. A stolen refresh token buys new access tokens until the idle timeout, and once both thief and owner have used it, the whole family is revoked.",
        source: "src/backends/jwt.rs",
    },
};

pub(super) const HYBRID: StrategyMeta = StrategyMeta {
    id: "hybrid",
    name: "JWT + cookie hybrid",
    summary: "Who you are in a small signed token, the cart in its own encrypted cookie.",
    state_location: "the client: identity in a JWT, the cart in an encrypted cookie",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: false,
        renewed_on_read: true,
    },
    revocable: "via a ledger: the identity token's family, which every instance mirrors",
    without_cookies: "no: API clients send the token as Bearer, the cart still needs its cookie",
    concurrent_writes: "last wins: the browser keeps the last response's cart cookie, the other change is lost",
    second_service: SecondService {
        trust: Trust::PublicKeys,
        needs: "the shop's public keys to check who the visitor is (the token carries no cart), and the state cookie's key to read the cart at checkout (which lets it seal carts, never identities)",
        learns_of_logout: LOGOUT_LEDGER,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: the browser holds both credentials and every instance has the keys",
        restart_all: "kept: nothing on the server was holding it",
        redis_restart: "kept; a logout recorded before still holds, since the revocation ledger is in SQL too",
        redis_flush: "kept; revocations still hold: SQL keeps the ledger, Redis was only its fast path",
        redis_primary_killed: "kept; a logout made meanwhile still holds: the revocation ledger is in SQL and in each instance's mirror",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#9d174d",
        dash: "3 3 8 3",
    },
    guide: Guide {
        how: [
            "Who the visitor is (user, login, family, timeouts) goes in a small JWT, signed with EdDSA; no cart.",
            "The cart goes in a second cookie, sealed with AES-256-GCM and bound to the token's family.",
            "A cart change rewrites only that cookie: no signature is computed and the token is left as it is.",
            "Other services can verify the token alone, without a store and without seeing the cart.",
            "Logout revokes the family on a ledger every instance reads; a cart cookie shown with another family's token is refused.",
        ],
        sequence: &[
            step("Browser", "Server", "POST /cart/items, Cookie: identity=<JWT>; state=<sealed>"),
            step("Server", "Server", "verify EdDSA, check the family, open the cart"),
            step("Server", "Server", "change the cart, seal it again (no signature)"),
            step("Server", "Browser", "Set-Cookie: state=<new sealed>"),
        ],
        choose_when: "Several services must verify who the user is, while the session state stays small and private to this one.",
        avoid_when: "State that grows past a cookie, or one credential is all your clients can keep.",
        security: &[
            "The token carries no cart: it can be shown to other services, and stays the same size whatever the cart.",
            "The cart cookie is encrypted and authenticated, and names the token's family: it cannot be moved to another session.",
            "Two tabs changing the cart at once: the cookie the browser keeps last wins (a test measures it).",
        ],
        stolen: "Whoever holds the identity token is the user (without the cart) until it expires, 30 minutes after it was minted and renewed on use, or logout revokes its family; with the state cookie too, the whole session. 12 hours after login the session ends however active.",
        source: "src/backends/hybrid.rs",
    },
};

pub(super) const REDIS: StrategyMeta = StrategyMeta {
    id: "redis",
    name: "Redis store",
    summary: "Session id in a cookie, state in Redis with a time to live.",
    state_location: "Redis",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "no",
    concurrent_writes: "both kept: from any instance, a compare-and-set (a Lua script) on the stored bytes",
    second_service: SecondService {
        trust: Trust::StoreRead,
        needs: "read access to the shop's Redis: a lookup by the session id",
        learns_of_logout: LOGOUT_STORE,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: every instance reads the same Redis",
        restart_all: "kept: the sessions live in Redis, not in the instances",
        redis_restart: "kept: Redis writes an append-only file and reloads it; requests in the moment it is down answer 503",
        redis_flush: "lost, with a notice: the sessions were the keys",
        redis_primary_killed: "kept: the Sentinels promote the replica, and with REDIS_MIN_REPLICAS=1 every acknowledged write was on it already; writes answer 503 until the old primary is back as a replica to confirm them",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: "kept: it never touches Memcached, and its own Redis refuses writes when full (noeviction) rather than evict a session",
    },
    look: Look {
        colour: "#be123c",
        dash: "10 3 2 3",
    },
    guide: Guide {
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
        security: &[
            "Revocable at once; the id is 128 random bits.",
            "Keep Redis on a private network.",
        ],
        stolen: "Whoever holds the sid cookie is the user, on every instance, until logout deletes the session, 30 minutes pass without use or 12 hours pass since login.",
        source: "src/stores/redis.rs",
    },
};

pub(super) const MEMCACHED: StrategyMeta = StrategyMeta {
    id: "memcached",
    name: "Memcached store",
    summary: "Session id in a cookie, state in Memcached, spread over its nodes by the client.",
    state_location: "Memcached",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "no",
    concurrent_writes: "both kept: from any instance, Memcached's own compare-and-set on the item's CAS token",
    second_service: SecondService {
        trust: Trust::StoreRead,
        needs: "the Memcached node list: a lookup by the session id",
        learns_of_logout: LOGOUT_STORE,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: every instance reads the same Memcached nodes",
        restart_all: "kept: the sessions live in Memcached, not in the instances",
        redis_restart: "kept: it never touches Redis",
        redis_flush: "kept: it never touches Redis",
        redis_primary_killed: "kept: it never touches Redis",
        memcached_node_stop: "lost if its node stopped (about half of them): 503 while the node is away, a fresh guest with a notice once it is back empty; the other node's sessions stay",
        memcached_restart: "lost, with a notice: Memcached keeps nothing across a restart",
        memcached_full: "evicted when idle: the least recently used sessions go before their expiry, each visitor a fresh guest with a notice",
    },
    look: Look {
        colour: "#15803d",
        dash: "6 2 1 2",
    },
    guide: Guide {
        how: [
            "The session lives in Memcached under its id, the item expiring with the idle timeout.",
            "The browser holds the id in the cookie sid.",
            "The app hashes the id to pick one of the Memcached nodes: the nodes know nothing of each other.",
            "Every write is a compare-and-set on the CAS token the read returned, so concurrent changes all land.",
            "Memcached keeps nothing across a restart and evicts the least recently used items when full: an idle session can vanish early.",
        ],
        sequence: &[
            step("Browser", "Server", "Cookie: sid=…"),
            step("Server", "Memcached", "mg sid v c"),
            step("Memcached", "Server", "session, CAS token"),
            step("Server", "Memcached", "ms sid T1800 C<token>"),
        ],
        choose_when: "Several instances, a cache you already run, sessions you can afford to lose now and then.",
        avoid_when: "Sessions must survive a node restart or memory pressure (Redis with persistence and noeviction, or SQL).",
        security: &[
            "Revocable at once; the id is 128 random bits.",
            "Memcached has no authentication by default: keep it on a private network (or enable SASL).",
        ],
        stolen: "Whoever holds the sid cookie is the user, on every instance, until logout deletes the item, 30 minutes pass without use, 12 hours pass since login, or Memcached evicts it.",
        source: "src/stores/memcached.rs",
    },
};

pub(super) const SQL: StrategyMeta = StrategyMeta {
    id: "sql",
    name: "SQL store",
    summary: "Session id in a cookie, state in a database table.",
    state_location: "SQL database",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "no",
    concurrent_writes: "both kept: from any instance, UPDATE … WHERE data = the bytes read, else re-apply",
    second_service: SecondService {
        trust: Trust::StoreRead,
        needs: "read access to the session table: a lookup by the session id",
        learns_of_logout: LOGOUT_STORE,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: every instance reads the same database",
        restart_all: "kept: the sessions live in the database",
        redis_restart: "kept: it never touches Redis",
        redis_flush: "kept: it never touches Redis",
        redis_primary_killed: "kept: it never touches Redis",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#0369a1",
        dash: "4 4",
    },
    guide: Guide {
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
        stolen: "Whoever holds the sid cookie is the user, on every instance, until logout deletes the row, 30 minutes pass without use or 12 hours pass since login.",
        source: "src/stores/sql.rs",
    },
};

pub(super) const CACHE_ASIDE: StrategyMeta = StrategyMeta {
    id: "cache-aside",
    name: "Redis cache over SQL",
    summary: "Sessions persisted in SQL and read through a Redis cache.",
    state_location: "SQL database, cached in Redis",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "no",
    concurrent_writes: "both kept: from any instance, a compare-and-set in SQL; the cache only drops its copy",
    second_service: SecondService {
        trust: Trust::StoreRead,
        needs: "read access to the session table (the source of truth): a lookup by the session id",
        learns_of_logout: LOGOUT_STORE,
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: SQL holds every session, the cache is shared",
        restart_all: "kept: SQL holds every session",
        redis_restart: "kept: reads go to SQL while the cache is away",
        redis_flush: "kept: only the cache is gone; the next read refills it from SQL",
        redis_primary_killed: "kept: reads and writes go to SQL while the cache fails over",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#7e22ce",
        dash: "1 5",
    },
    guide: Guide {
        how: [
            "Sessions are stored in SQL, the source of truth.",
            "Reads try Redis first; a miss loads from SQL and fills Redis.",
            "Writes go to SQL, then mark the cached copy changed so the next reads go to SQL and refill it.",
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
        stolen: "Whoever holds the sid cookie is the user, on every instance, until logout deletes the session from SQL and the cache, 30 minutes pass without use or 12 hours pass since login.",
        source: "src/stores/cache_aside.rs",
    },
};

pub(super) const SIGNED_URL: StrategyMeta = StrategyMeta {
    id: "signed-url",
    name: "Signed URL",
    summary: "A signed, expiring session id in every link; no cookies at all.",
    state_location: "a server store, found through the URL",
    survives_restart: true,
    shared_across_instances: true,
    capabilities: Capabilities {
        server_copy: true,
        renewed_on_read: true,
    },
    revocable: "yes: delete the server copy",
    without_cookies: "yes: the token is in every URL",
    concurrent_writes: "both kept: from any instance, a compare-and-set in SQL on the stored bytes",
    second_service: SecondService {
        trust: Trust::Introspection,
        needs: "a service credential for the shop's introspection endpoint (RFC 7662): one round trip to the shop per request, and no key",
        learns_of_logout: "at once: the shop answers the next introspection call from its store",
    },
    cluster: ClusterBehaviour {
        instance_stop: "kept: the token verifies on any instance and the state is in SQL",
        restart_all: "kept: the state is in SQL",
        redis_restart: "kept: it never touches Redis",
        redis_flush: "kept: it never touches Redis",
        redis_primary_killed: "kept: it never touches Redis",
        memcached_node_stop: NOT_MEMCACHED,
        memcached_restart: NOT_MEMCACHED,
        memcached_full: NOT_MEMCACHED,
    },
    look: Look {
        colour: "#374151",
        dash: "12 6",
    },
    guide: Guide {
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
        stolen: "Whoever holds the URL (from history, a log, a forwarded link) is the user until logout deletes the session, the token expires (the idle timeout) or 12 hours pass since login. Pages send no Referer, so links to other sites do not leak it.",
        source: "src/backends/signed_url.rs",
    },
};
