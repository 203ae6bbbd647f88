//! Configuration from the environment, read once at start, with defaults that run with nothing
//! else installed.

use crate::serving::Placement;
use app::shop::LoginLimits;
use axum_extra::extract::cookie::Key;
use leptos::prelude::LeptosOptions;
use session_strategies::{
    backends::jwt::{Algorithm, SigningKey, ALGORITHMS},
    crypto::{key_ring::KeyRing, secrets::derive_secret},
    Strategy,
};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the Leptos configuration: {0}")]
    Leptos(String),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("could not keep the session key in {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub site_addr: SocketAddr,
    pub leptos_options: LeptosOptions,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The session keys, newest first (`SESSION_KEYS`, or `SESSION_KEY` alone). Never printed.
    pub session_keys: KeyRing,
    pub instance_id: String,
    pub default_strategy: Strategy,
    /// Idle timeout of every session.
    pub session_ttl: Duration,
    /// How often expired rows leave the SQL session store.
    pub session_sweep: Duration,
    /// Absolute timeout of every session, counted from creation and again from login.
    pub session_max_age: Duration,
    /// `Secure` on every cookie; set `COOKIE_SECURE=true` behind HTTPS.
    pub secure_cookies: bool,
    pub redis_url: String,
    /// `REDIS_MIN_REPLICAS`: replicas that must hold a `redis` session write before it is
    /// acknowledged (Redis' `WAIT`); 0, the default, acknowledges after the primary alone.
    pub redis_min_replicas: u8,
    /// `MEMCACHED_URL`: `memcached://host:port[,host:port…]`, the nodes the `memcached`
    /// strategy spreads its sessions over.
    pub memcached_url: String,
    /// JWT signing keys, oldest first: `JWT_KEYS=kid:hex,kid:hex`, else one derived key.
    pub jwt_keys: Vec<SigningKey>,
    /// `JWT_ALGORITHM`: `EdDSA` (the default: other services verify with the published public
    /// keys) or `HS256` (one shared secret: a single service only).
    pub jwt_algorithm: Algorithm,
    pub jwt_access_ttl: Duration,
    /// The service credentials the shop's introspection endpoint accepts (HTTP Basic, user
    /// `orders`), newest first; the orders service presents the first. `SERVICE_SECRET`, else
    /// one derived from each session key: a shop and an orders service started with the same
    /// keys agree, and while the keys rotate, one that has not seen the new key yet still does.
    pub service_secrets: Vec<String>,
    /// `ORDERS_URL`: the orders service the shop's pages and API send order calls to, else
    /// `http://127.0.0.1:3100`; `off` (and every test that runs the shop alone in its process):
    /// none, the shop places orders itself.
    pub orders_url: Option<String>,
    /// `SHOP_URL`: where the orders service finds the shop (its key set, introspection), else
    /// `http://127.0.0.1:3000`.
    pub shop_url: String,
    /// How long a spent refresh token still gets the pair it was traded for.
    pub jwt_refresh_grace: Duration,
    pub login_limits: LoginLimits,
    /// `/compare` measurements a client address, and a session, may ask for per minute, each
    /// kind counted apart.
    pub measurements_per_minute: u32,
    /// `/outbox` shows the mail the shop sends (`DEMO_OUTBOX=true`; the run command sets it).
    pub demo_outbox: bool,
    /// The cluster supervisor's control API (`host:port`, from `CLUSTER_CONTROL_URL`) and the
    /// run's secret it asks for (`CLUSTER_CONTROL_SECRET`), set only in the cluster run: the
    /// `/cluster` page and its controls exist only then.
    pub cluster_control: Option<(String, String)>,
    /// Hosts this site answers besides loopback names (`ALLOWED_HOSTS`, comma-separated).
    pub allowed_hosts: Vec<String>,
    /// `BEHIND_PROXY`: this instance sits behind a proxy of ours on this machine, whose last
    /// `X-Forwarded-For` hop is the client's address (`server/src/request_origin.rs`).
    pub behind_proxy: bool,
    /// The most sessions the `memory` strategy keeps (`MEMORY_SESSIONS_MAX`).
    pub memory_sessions_max: usize,
    /// How often the revocation mirror re-reads SQL (`REVOCATION_SYNC_SECONDS`); three periods
    /// without a read and it is stale.
    pub revocation_sync: Duration,
    /// Keep the inspector's traces in Redis as well (`TRACE_STORE=redis`, set by the cluster
    /// run), so a session's trace shows its requests on every instance.
    pub shared_traces: bool,
    /// Serving threads, one single-threaded runtime each (`SERVER_THREADS`, default: the
    /// cores this process may run on).
    pub serving_threads: usize,
    /// Each serving thread on a core of its own (`SERVER_PIN_THREADS`, default `true`).
    pub serving_placement: Placement,
}

/// The name cargo-leptos gives the site's JS, WASM and CSS files.
pub const OUTPUT_NAME: &str = "session-strategies";

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Memcached's own default port, on loopback.
const DEFAULT_MEMCACHED_URL: &str = "memcached://127.0.0.1:11211";

impl Config {
    /// Reads the environment; every variable is listed in `docs/CONFIGURATION.md`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut leptos_options = leptos::config::get_configuration(None)
            .map_err(|error| ConfigError::Leptos(error.to_string()))?
            .leptos_options;
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = OUTPUT_NAME.into();
        }
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "target/data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("shop.db").display()));
        let session_keys = match (var("SESSION_KEYS"), var("SESSION_KEY")) {
            (Some(list), _) => parse_keys("SESSION_KEYS", &list)?,
            (None, Some(hex)) => parse_keys("SESSION_KEY", &hex)?,
            (None, None) => load_or_create_key(&data_dir)?,
        };
        let default_strategy = match var("DEFAULT_STRATEGY") {
            Some(id) => id.parse().map_err(|error| ConfigError::Invalid {
                name: "DEFAULT_STRATEGY",
                reason: format!("{error}"),
            })?,
            None => Strategy::Memory,
        };
        let session_ttl = seconds("SESSION_TTL_SECONDS", 30 * 60)?;
        let session_sweep = nonzero_seconds("SESSION_SWEEP_SECONDS", 60)?;
        let session_max_age = seconds("SESSION_MAX_AGE_SECONDS", 12 * 3600)?;
        let jwt_keys = match var("JWT_KEYS") {
            Some(list) => parse_jwt_keys(&list)?,
            None => derived_jwt_keys(&session_keys),
        };
        let service_secrets = match var("SERVICE_SECRET") {
            Some(secret) => vec![secret],
            None => derived_service_secrets(&session_keys),
        };
        let jwt_algorithm = match var("JWT_ALGORITHM") {
            Some(name) => parse_jwt_algorithm(&name)?,
            None => Algorithm::EdDSA,
        };
        Ok(Self {
            site_addr: leptos_options.site_addr,
            leptos_options,
            data_dir,
            database_url,
            session_keys,
            instance_id: var("INSTANCE_ID").unwrap_or_else(|| "app-1".into()),
            default_strategy,
            session_ttl,
            session_sweep,
            session_max_age,
            secure_cookies: var("COOKIE_SECURE")
                .is_some_and(|value| value == "true" || value == "1"),
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            redis_min_replicas: count("REDIS_MIN_REPLICAS", 0)?.try_into().map_err(|_| {
                ConfigError::Invalid {
                    name: "REDIS_MIN_REPLICAS",
                    reason: "more replicas than Redis can wait for".into(),
                }
            })?,
            memcached_url: var("MEMCACHED_URL").unwrap_or_else(|| DEFAULT_MEMCACHED_URL.into()),
            jwt_keys,
            jwt_algorithm,
            service_secrets,
            orders_url: match var("ORDERS_URL") {
                Some(off) if off == "off" => None,
                Some(url) => Some(url),
                None => Some(DEFAULT_ORDERS_URL.into()),
            },
            shop_url: var("SHOP_URL").unwrap_or_else(|| DEFAULT_SHOP_URL.into()),
            jwt_access_ttl: seconds("JWT_ACCESS_TTL_SECONDS", 15 * 60)?,
            jwt_refresh_grace: seconds("JWT_REFRESH_GRACE_SECONDS", 10)?,
            login_limits: LoginLimits {
                per_username: count("LOGIN_FAILURES_PER_USER", 10)?,
                per_address: count("LOGIN_FAILURES_PER_ADDRESS", 100)?,
                window: seconds("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)?,
            },
            measurements_per_minute: count("COMPARE_MEASUREMENTS_PER_MINUTE", 30)?,
            demo_outbox: var("DEMO_OUTBOX").is_some_and(|value| value == "true" || value == "1"),
            shared_traces: var("TRACE_STORE").is_some_and(|store| store == "redis"),
            serving_threads: serving_threads()?,
            serving_placement: serving_placement()?,
            cluster_control: match (var("CLUSTER_CONTROL_URL"), var("CLUSTER_CONTROL_SECRET")) {
                (Some(url), Some(secret)) => Some((
                    url.trim_start_matches("http://")
                        .trim_end_matches('/')
                        .to_owned(),
                    secret,
                )),
                (Some(_), None) => {
                    return Err(ConfigError::Invalid {
                        name: "CLUSTER_CONTROL_SECRET",
                        reason: "the control API answers only with the run's secret".into(),
                    })
                }
                (None, _) => None,
            },
            memory_sessions_max: count("MEMORY_SESSIONS_MAX", 100_000)? as usize,
            revocation_sync: nonzero_seconds("REVOCATION_SYNC_SECONDS", 5)?,
            behind_proxy: var("BEHIND_PROXY").is_some_and(|value| value == "true" || value == "1"),
            allowed_hosts: var("ALLOWED_HOSTS")
                .map(|list| {
                    list.split(',')
                        .map(|host| host.trim().to_owned())
                        .filter(|host| !host.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

impl Config {
    /// Defaults with a throwaway key and everything under `data_dir`: for tests and tools.
    /// `REDIS_URL` and `MEMCACHED_URL` are still read, so tests can point at their own.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        let leptos_options = LeptosOptions::builder().output_name(OUTPUT_NAME).build();
        let session_keys = KeyRing::single(Key::generate());
        Self {
            site_addr: leptos_options.site_addr,
            leptos_options,
            database_url: format!("sqlite://{}?mode=rwc", data_dir.join("shop.db").display()),
            data_dir,
            jwt_keys: derived_jwt_keys(&session_keys),
            jwt_algorithm: Algorithm::EdDSA,
            service_secrets: derived_service_secrets(&session_keys),
            orders_url: None,
            shop_url: DEFAULT_SHOP_URL.into(),
            session_keys,
            instance_id: "test-1".into(),
            default_strategy: Strategy::Memory,
            session_ttl: Duration::from_secs(1800),
            session_sweep: Duration::from_secs(60),
            session_max_age: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            redis_min_replicas: 0,
            memcached_url: var("MEMCACHED_URL").unwrap_or_else(|| DEFAULT_MEMCACHED_URL.into()),
            jwt_access_ttl: Duration::from_secs(900),
            jwt_refresh_grace: Duration::from_secs(10),
            login_limits: LoginLimits::default(),
            measurements_per_minute: 30,
            demo_outbox: true,
            cluster_control: None,
            allowed_hosts: Vec::new(),
            behind_proxy: false,
            memory_sessions_max: 100_000,
            revocation_sync: Duration::from_secs(5),
            shared_traces: false,
            serving_threads: 1,
            serving_placement: Placement::Anywhere,
        }
    }
}

/// `SERVER_THREADS`, at least 1; by default the cores the process may run on (its CPU
/// affinity, so `taskset -c 0 server` serves on one thread).
fn serving_threads() -> Result<usize, ConfigError> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match count("SERVER_THREADS", cores as u32)? {
        0 => Err(ConfigError::Invalid {
            name: "SERVER_THREADS",
            reason: "at least one thread serves".into(),
        }),
        threads => Ok(threads as usize),
    }
}

/// `SERVER_PIN_THREADS`: `true` (the default) or `1` pins each serving thread to a core of its
/// own, `false` or `0` leaves them to the kernel's scheduler.
fn serving_placement() -> Result<Placement, ConfigError> {
    placement_from(var("SERVER_PIN_THREADS").as_deref())
}

fn placement_from(value: Option<&str>) -> Result<Placement, ConfigError> {
    match value.map(str::trim) {
        None | Some("true" | "1") => Ok(Placement::CorePerThread),
        Some("false" | "0") => Ok(Placement::Anywhere),
        Some(other) => Err(ConfigError::Invalid {
            name: "SERVER_PIN_THREADS",
            reason: format!("{other:?} is neither true nor false"),
        }),
    }
}

fn count(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match var(name) {
        Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{value:?} is not a whole number"),
        }),
        None => Ok(default),
    }
}

fn seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match var(name) {
        Some(value) => value
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{value:?} is not a number of seconds"),
            }),
        None => Ok(Duration::from_secs(default)),
    }
}

/// [`seconds`] for a period, which cannot be zero.
fn nonzero_seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let period = seconds(name, default)?;
    if period.is_zero() {
        return Err(ConfigError::Invalid {
            name,
            reason: "a period of at least one second".into(),
        });
    }
    Ok(period)
}

/// Where the orders service listens when nothing says otherwise.
pub const DEFAULT_ORDERS_URL: &str = "http://127.0.0.1:3100";
/// Where the shop listens when nothing says otherwise.
pub const DEFAULT_SHOP_URL: &str = "http://127.0.0.1:3000";

/// The service credentials derived from each session key, newest first.
pub fn derived_service_secrets(ring: &KeyRing) -> Vec<String> {
    ring.keys()
        .map(|(_, key)| hex::encode(derive_secret(key.master(), "service-credential")))
        .collect()
}

/// One of the algorithms the JWT strategies can pin ([`ALGORITHMS`]), by its JOSE name.
pub fn parse_jwt_algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    name.parse()
        .ok()
        .filter(|algorithm| ALGORITHMS.contains(algorithm))
        .ok_or_else(|| ConfigError::Invalid {
            name: "JWT_ALGORITHM",
            reason: format!("{name:?}: use one of {ALGORITHMS:?}"),
        })
}

/// `kid:hex,kid:hex`, oldest first; each key at least 32 bytes.
pub fn parse_jwt_keys(list: &str) -> Result<Vec<SigningKey>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "JWT_KEYS",
        reason,
    };
    list.split(',')
        .map(|entry| {
            let (kid, hex_key) = entry
                .trim()
                .split_once(':')
                .ok_or_else(|| invalid("expected kid:hex entries separated by commas".into()))?;
            let secret =
                hex::decode(hex_key).map_err(|_| invalid(format!("key {kid} is not hex")))?;
            SigningKey::new(kid, secret).map_err(|error| invalid(format!("key {kid}: {error}")))
        })
        .collect()
}

/// The JWT keys derived from the session keys, oldest first as `JWT_KEYS` lists them (tokens
/// are signed with the last), each named by its session key's fingerprint.
pub fn derived_jwt_keys(ring: &KeyRing) -> Vec<SigningKey> {
    let mut keys: Vec<SigningKey> = ring
        .keys()
        .map(|(_, key)| {
            let kid = format!("s-{}", KeyRing::fingerprint(key));
            SigningKey::new(kid, derive_secret(key.master(), "jwt"))
                .unwrap_or_else(|_| unreachable!("a derived secret has 32 bytes"))
        })
        .collect();
    keys.reverse();
    keys
}

/// Keys of 128 hex digits each (64 bytes: 32 to sign, 32 to encrypt), comma-separated,
/// newest first, from the variable `name`.
pub fn parse_keys(name: &'static str, list: &str) -> Result<KeyRing, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let keys = list
        .split(',')
        .map(|hex_key| {
            let bytes = hex::decode(hex_key.trim()).map_err(|_| invalid("expected hex digits"))?;
            if bytes.len() < 64 {
                return Err(invalid("expected at least 64 bytes (128 hex digits) a key"));
            }
            Key::try_from(bytes.as_slice()).map_err(|_| invalid("not a usable key"))
        })
        .collect::<Result<Vec<Key>, ConfigError>>()?;
    KeyRing::new(keys).map_err(|_| invalid("no key"))
}

/// The key kept in the data dir, made on first start, so sessions survive restarts.
fn load_or_create_key(data_dir: &std::path::Path) -> Result<KeyRing, ConfigError> {
    let path = data_dir.join("session.key");
    let io = |source| ConfigError::KeyFile {
        path: path.clone(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return parse_keys("SESSION_KEY", &existing);
    }
    tracing::warn!(
        path = %path.display(),
        "SESSION_KEY is not set: generating a key and keeping it in the data dir; set SESSION_KEY \
         (128 hex digits) and share it between instances in production"
    );
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|error| io(std::io::Error::other(error.to_string())))?;
    write_private(&path, &hex::encode(bytes)).map_err(io)?;
    parse_keys("SESSION_KEY", &hex::encode(bytes))
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_non_hex_key_is_refused() {
        assert!(parse_keys("SESSION_KEY", "abcd").is_err());
        assert!(parse_keys("SESSION_KEY", &"zz".repeat(64)).is_err());
        assert!(parse_keys("SESSION_KEY", &"ab".repeat(64)).is_ok());
        assert!(parse_keys("SESSION_KEYS", &format!("{},abcd", "ab".repeat(64))).is_err());
    }

    #[test]
    fn a_key_ring_lists_the_newest_first_and_derives_jwt_keys_oldest_first() {
        let (new, old) = ("11".repeat(64), "22".repeat(64));
        let ring = parse_keys("SESSION_KEYS", &format!("{new}, {old}")).unwrap();
        let single = parse_keys("SESSION_KEY", &new).unwrap();
        assert_eq!(ring.newest().master(), single.newest().master());
        let jwt = derived_jwt_keys(&ring);
        assert_eq!(jwt.len(), 2);
        assert_eq!(
            jwt[1].kid,
            derived_jwt_keys(&single)[0].kid,
            "new tokens use the newest"
        );
        assert_ne!(jwt[0].kid, jwt[1].kid);
    }

    #[test]
    fn jwt_keys_parse_in_order_and_refuse_short_ones() {
        let keys =
            parse_jwt_keys(&format!("old:{},new:{}", "11".repeat(32), "22".repeat(32))).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].kid, "new");
        assert!(parse_jwt_keys("short:abcd").is_err());
        assert!(parse_jwt_keys("nokid").is_err());
    }

    #[test]
    fn serving_threads_are_pinned_unless_told_not_to_be() {
        assert_eq!(placement_from(None).unwrap(), Placement::CorePerThread);
        assert_eq!(placement_from(Some("1")).unwrap(), Placement::CorePerThread);
        assert_eq!(placement_from(Some("false")).unwrap(), Placement::Anywhere);
        assert_eq!(placement_from(Some(" 0 ")).unwrap(), Placement::Anywhere);
        let refused = placement_from(Some("yes")).unwrap_err().to_string();
        assert_eq!(
            refused,
            "SERVER_PIN_THREADS is not valid: \"yes\" is neither true nor false"
        );
    }

    #[test]
    fn the_secret_never_prints() {
        let secret = parse_keys("SESSION_KEY", &"ab".repeat(64)).unwrap();
        assert_eq!(format!("{secret:?}"), "KeyRing(1 keys, [redacted])");
    }

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_key(dir.path()).unwrap();
        let second = load_or_create_key(dir.path()).unwrap();
        assert_eq!(first.newest().master(), second.newest().master());
    }
}
