//! The cluster run's two Memcached nodes, deliberately small, and the fill that makes one
//! evict: what sets Memcached apart from the cluster's Redis, shown rather than told. The
//! instances hash each session id to one node (`src/stores/memcached.rs`); the nodes know
//! nothing of each other.

use super::processes::Managed;
use async_memcached::{Client, MetaProtocol};
use std::path::Path;

/// What each node may hold: small, so that a fill reaches the limit in a moment.
const MEGABYTES: u32 = 4;
/// The value size of a fill when no session names one: about a guest's session.
const DEFAULT_VALUE_BYTES: usize = 200;
/// Items a fill writes at most per node before it gives up waiting for an eviction.
const FILL_LIMIT: usize = 500_000;

/// Node `index` (from 1) on `port`, its log in `dir`.
pub fn node(index: u16, port: u16, dir: &Path) -> Managed {
    let name = format!("memcached-{index}");
    let log = dir.join(format!("{name}.log"));
    Managed::new(&name, port, "memcached", log).args([
        "-l".to_owned(),
        "127.0.0.1".to_owned(),
        "-p".to_owned(),
        port.to_string(),
        // No UDP: nothing here uses it, and it is an amplifier.
        "-U".to_owned(),
        "0".to_owned(),
        "-m".to_owned(),
        MEGABYTES.to_string(),
        // Only needed when run as root (it refuses to, without a user to become).
        "-u".to_owned(),
        user(),
    ])
}

/// The user this process runs as.
fn user() -> String {
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "nobody".to_owned())
}

/// The `memcached://` URL the instances are given for `ports`.
pub fn url(ports: &[u16]) -> String {
    let nodes: Vec<String> = ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    format!("memcached://{}", nodes.join(","))
}

async fn connect(port: u16) -> Result<Client, String> {
    Client::new(format!("tcp://127.0.0.1:{port}"))
        .await
        .map_err(|error| format!("Memcached on port {port}: {error}"))
}

/// The size of the value stored under `key` on any of `ports` that answers, if one holds it.
async fn value_bytes(ports: &[u16], key: &str) -> Option<usize> {
    for port in ports {
        let Ok(mut client) = connect(*port).await else {
            continue;
        };
        if let Ok(Some(item)) = client.meta_get(key, false, None, Some(&["s"])).await {
            return item.size.map(|size| size as usize);
        }
    }
    None
}

/// Whether the node still holds `key` (`mg <key> s`: its size, not its value).
async fn holds(client: &mut Client, key: &str) -> Result<bool, String> {
    let found = client
        .meta_get(key, false, None, Some(&["s"]))
        .await
        .map_err(|error| error.to_string())?;
    Ok(found.is_some())
}

async fn evictions(client: &mut Client) -> Result<u64, String> {
    let stats = client.stats().await.map_err(|error| error.to_string())?;
    Ok(stats
        .get("evictions")
        .and_then(|count| count.parse().ok())
        .unwrap_or(0))
}

/// Fills every running node in `ports` until it has evicted and turned its memory over twice
/// more, and `victim`'s session is gone. Items are the size of that session (Memcached evicts
/// within a size class) and each is fetched twice, as a visitor's session is, so the LRU treats
/// them alike. A node with no memory at all for that size answers "out of memory": it holds no
/// session of that size either, and is left as it is.
pub async fn fill(ports: &[u16], victim: Option<&str>) -> Result<(), String> {
    let size = match victim {
        Some(key) => value_bytes(ports, key).await.unwrap_or(DEFAULT_VALUE_BYTES),
        None => DEFAULT_VALUE_BYTES,
    };
    let value = vec![b'x'; size];
    for port in ports {
        // A stopped node holds nothing to evict.
        let Ok(mut client) = connect(*port).await else {
            continue;
        };
        let (mut written, mut full_at, mut out_of_memory) = (0, None, 0);
        'node: loop {
            if full_at.is_none() && evictions(&mut client).await? > 0 {
                full_at = Some(written);
            }
            if let Some(full_at) = full_at {
                let held = match victim {
                    Some(key) => holds(&mut client, key).await?,
                    None => false,
                };
                if written >= 3 * full_at && !held {
                    break;
                }
            }
            // Five hundred items at a time, each command pipelined (one round trip each).
            let keys: Vec<String> = (written..written + 500)
                .map(|index| format!("fill-{index:017}"))
                .collect();
            let items: Vec<(&str, &[u8])> = keys
                .iter()
                .map(|key| (key.as_str(), value.as_slice()))
                .collect();
            match client.meta_set_multi(&items, None).await {
                Ok(refused) if refused.is_empty() => out_of_memory = 0,
                Ok(refused) => return Err(format!("Memcached refused {} items", refused.len())),
                // A burst can outrun the thread that frees room at the tail of the LRU: a
                // moment, on a new connection (the error closed this one), then on. Only a
                // node that stays out of memory has none for this size at all.
                Err(error) if error.to_string().contains("out of memory") => {
                    out_of_memory += 1;
                    if out_of_memory > 20 {
                        break 'node;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    client = connect(*port).await?;
                    continue;
                }
                Err(error) => return Err(error.to_string()),
            }
            for _ in 0..2 {
                client
                    .meta_get_multi(&keys, Some(&["v"]))
                    .await
                    .map_err(|error| error.to_string())?;
            }
            written += keys.len();
            if written >= FILL_LIMIT {
                return Err(format!("Memcached on port {port} still holds the session"));
            }
            // Memcached moves items between its LRU's segments in a background thread.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    Ok(())
}
