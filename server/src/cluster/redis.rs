//! The cluster run's Redis: two nodes, one the primary and the other its replica, and three
//! Sentinels that watch the primary, promote the replica when it stops answering, and tell the
//! instances which node is the primary (they connect with `redis-sentinel://`, so a failover
//! needs no restart and no configuration change). The timings are a demo's: a Sentinel takes
//! the primary for down after [`DOWN_AFTER_MS`] without an answer, and two of the three must
//! agree; the promotion follows within a second or two.

use super::processes::Managed;
use std::{path::Path, time::Duration};

/// The name the Sentinels know the primary by.
pub const SERVICE: &str = "shop";
/// How long a primary may not answer before a Sentinel takes it for down: long enough that a
/// primary slowed by a loaded machine is not taken for dead, short enough for a demo.
pub const DOWN_AFTER_MS: u32 = 1000;
/// Sentinels: three, so that two can agree while one is away.
pub const SENTINELS: u16 = 3;

/// Redis node `index` (from 1) on `port`, its append-only file in `dir/redis-<index>`, started
/// by [`start_node`].
pub fn node(index: u16, port: u16, dir: &Path) -> std::io::Result<Managed> {
    let name = format!("redis-{index}");
    std::fs::create_dir_all(dir.join(&name))?;
    Ok(Managed::new(
        &name,
        port,
        "redis-server",
        dir.join(format!("{name}.log")),
    ))
}

fn node_args(port: u16, data: &str, replica_of: Option<u16>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--dir",
        data,
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        // A bound on what anyone who can make sessions (anyone) can make Redis hold, and at
        // the bound it refuses writes (`503` for the strategies that write there) rather than
        // evict sessions nobody ended.
        "--maxmemory",
        super::REDIS_MAXMEMORY,
        "--maxmemory-policy",
        "noeviction",
        // A replica syncs at once, rather than after Redis' five seconds of waiting for others
        // to share the transfer: until it has, a write awaiting a replica is refused.
        "--repl-diskless-sync-delay",
        "0",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(primary) = replica_of {
        args.extend([
            "--replicaof".to_owned(),
            "127.0.0.1".to_owned(),
            primary.to_string(),
        ]);
    }
    args
}

/// Sentinel `index` (from 1) on `port`, watching the primary on `primary`; its configuration
/// file, which a Sentinel rewrites as it learns, is written afresh in `dir`.
pub fn sentinel(index: u16, port: u16, primary: u16, dir: &Path) -> std::io::Result<Managed> {
    let name = format!("sentinel-{index}");
    let config = dir.join(format!("{name}.conf"));
    std::fs::write(
        &config,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
             sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n\
             sentinel failover-timeout {SERVICE} 3000\n\
             sentinel parallel-syncs {SERVICE} 1\n",
            dir = dir.display()
        ),
    )?;
    Ok(
        Managed::new(&name, port, "redis-server", dir.join(format!("{name}.log")))
            .args([config.display().to_string(), "--sentinel".to_owned()]),
    )
}

/// The file in the cluster's directory that names the primary's port, so that a run started
/// again over the same append-only files begins with the node that has the newest data.
const PRIMARY_FILE: &str = "redis-primary";

/// The port of the primary the last run left (one of `ports`), else the first node's.
pub fn remembered_primary(dir: &Path, ports: &[u16]) -> u16 {
    std::fs::read_to_string(dir.join(PRIMARY_FILE))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|port| ports.contains(port))
        .unwrap_or(ports[0])
}

/// Notes `port` as the primary's for the next run.
pub fn remember_primary(dir: &Path, port: u16) {
    if let Err(error) = std::fs::write(dir.join(PRIMARY_FILE), port.to_string()) {
        tracing::warn!(%error, "could not note the Redis primary for the next run");
    }
}

/// The instances' `REDIS_URL`: every Sentinel, and the service they watch.
pub fn url(sentinel_ports: &[u16]) -> String {
    let [first, others @ ..] = sentinel_ports else {
        return String::new();
    };
    let nodes: String = others
        .iter()
        .map(|port| format!("node=127.0.0.1:{port}&"))
        .collect();
    format!("redis-sentinel://127.0.0.1:{first}?{nodes}sentinelServiceName={SERVICE}")
}

/// Waits until every Sentinel knows the replica and the other two (they find each other through
/// the primary, every two seconds): until then a failover could not be agreed. False if they do
/// not within 20 s.
pub async fn until_sentinels_agree(sentinel_ports: &[u16]) -> bool {
    let others = (sentinel_ports.len() - 1).to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let mut agreed = true;
        for port in sentinel_ports {
            let master = cli(*port, &["SENTINEL", "MASTER", SERVICE]).await;
            let lines: Vec<&str> = master.lines().collect();
            let value = |name: &str| {
                lines
                    .iter()
                    .position(|line| *line == name)
                    .and_then(|at| lines.get(at + 1).copied())
            };
            agreed &= value("num-slaves") == Some("1")
                && value("num-other-sentinels") == Some(others.as_str());
        }
        if agreed {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Waits until the node on `port` is a replica in sync with its primary; false after 10 s.
pub async fn until_replica_in_sync(port: u16) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if cli(port, &["INFO", "replication"])
            .await
            .contains("master_link_status:up")
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The port of the primary, as the first Sentinel that answers names it.
pub async fn primary_port(sentinel_ports: &[u16]) -> Option<u16> {
    for port in sentinel_ports {
        let named = cli(*port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE]).await;
        if let Some(primary) = named.lines().nth(1).and_then(|line| line.parse().ok()) {
            return Some(primary);
        }
    }
    None
}

/// Starts `node` (its files under `dir`) as a replica of `primary`, or as the primary when
/// that is itself or `None`.
pub async fn start_node(
    node: &mut Managed,
    primary: Option<u16>,
    dir: &Path,
) -> Result<(), super::processes::ProcessError> {
    let data = dir.join(&node.name).display().to_string();
    let replica_of = primary.filter(|primary| *primary != node.port);
    node.set_args(node_args(node.port, &data, replica_of));
    node.start().await
}

/// What a Redis node says of its replication: its role, and for a replica how many bytes of
/// the primary's stream it has yet to apply.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Replication {
    /// `primary` or `replica`.
    pub role: &'static str,
    /// A replica's distance behind its primary, in bytes of the replication stream.
    pub lag_bytes: Option<i64>,
}

/// The replication of the nodes on `ports`, in order; `None` for one that does not answer.
pub async fn replication(ports: &[u16]) -> Vec<Option<Replication>> {
    let mut infos = Vec::new();
    for port in ports {
        infos.push(parse_info(&cli(*port, &["INFO", "replication"]).await));
    }
    let primary_offset = infos
        .iter()
        .flatten()
        .find(|info| info.0 == "master")
        .map(|info| info.1);
    infos
        .into_iter()
        .map(|info| {
            let (role, offset) = info?;
            Some(match role {
                "master" => Replication {
                    role: "primary",
                    lag_bytes: None,
                },
                _ => Replication {
                    role: "replica",
                    lag_bytes: primary_offset.map(|primary| (primary - offset).max(0)),
                },
            })
        })
        .collect()
}

/// `role` (`master` or `slave`) and `master_repl_offset` from `INFO replication`.
fn parse_info(info: &str) -> Option<(&'static str, i64)> {
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
    };
    let role = match field("role")? {
        "master" => "master",
        _ => "slave",
    };
    let offset = field("master_repl_offset")?.parse().ok()?;
    Some((role, offset))
}

/// `redis-cli -p <port> <command>`'s output, empty if it did not answer within a second.
async fn cli(port: u16, command: &[&str]) -> String {
    let run = tokio::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(command)
        .output();
    match tokio::time::timeout(Duration::from_secs(1), run).await {
        Ok(Ok(output)) => String::from_utf8_lossy(&output.stdout).into_owned(),
        _ => String::new(),
    }
}
