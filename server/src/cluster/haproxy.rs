//! The load balancer's configuration: HAProxy from Debian's packages, written here and never
//! replaced by a proxy of our own.
//!
//! Each visitor picks a balancing mode with the `lb_mode` cookie (the `/cluster` page sets it),
//! so the choice takes effect on the very next request and two visitors can compare the modes
//! side by side: without it, plain round robin; with `lb_mode=sticky`, a backend that inserts
//! an `lb_instance` cookie naming the instance of the first response and keeps sending the
//! visitor there while it is up. Both backends check every instance's `/api/v1/health` twice a
//! second and re-dispatch a request whose instance refuses the connection or closes it
//! without a word (an instance shutting down closes its idle connections), so a stopped
//! instance costs a retry, never an error page. The client's address reaches the instances in
//! `X-Forwarded-For`, which HAProxy sets to the peer it saw rather than appending to whatever
//! the client sent (`option forwardfor` appends, and the client writes the first value).
//! `/api/v1/orders` goes to the orders service's instances, round robin, whatever the mode:
//! it keeps no session of its own to be sticky to.

use std::fmt::Write;

/// The cookie a visitor sets to choose the balancing mode.
pub const MODE_COOKIE: &str = "lb_mode";
/// The cookie HAProxy inserts under sticky balancing.
pub const AFFINITY_COOKIE: &str = "lb_instance";

/// One instance behind the load balancer.
pub struct Upstream<'a> {
    pub name: &'a str,
    pub port: u16,
}

/// The whole `haproxy.cfg`: the site on `port` (`upstreams` the shop's instances, `orders` the
/// orders service's), the stats page on `stats_port`, the runtime socket at `socket`.
pub fn config(
    port: u16,
    stats_port: u16,
    socket: &str,
    upstreams: &[Upstream],
    orders: &[Upstream],
) -> String {
    let mut cfg = format!(
        "global\n\
         \x20 stats socket {socket} mode 600 level admin\n\
         \x20 maxconn 4096\n\
         \n\
         defaults\n\
         \x20 mode http\n\
         \x20 timeout connect 1s\n\
         \x20 timeout client 60s\n\
         \x20 timeout server 60s\n\
         \x20 option redispatch 1\n\
         \x20 retries 3\n\
         \x20 retry-on conn-failure empty-response\n\
         \x20 default-server inter 500ms fall 2 rise 1\n\
         \n\
         frontend site\n\
         \x20 bind 127.0.0.1:{port}\n\
         \x20 http-request set-header X-Forwarded-Proto http\n\
         \x20 http-request set-header X-Forwarded-For %[src]\n\
         \x20 use_backend orders if {{ path /api/v1/orders }} || {{ path_beg /api/v1/orders/ }}\n\
         \x20 use_backend sticky if {{ req.cook({MODE_COOKIE}) -m str sticky }}\n\
         \x20 default_backend round_robin\n\
         \n\
         frontend stats\n\
         \x20 bind 127.0.0.1:{stats_port}\n\
         \x20 stats enable\n\
         \x20 stats uri /\n\
         \x20 stats refresh 2s\n"
    );
    for (backend, sticky) in [("round_robin", false), ("sticky", true)] {
        let _ = write!(
            cfg,
            "\nbackend {backend}\n\
             \x20 balance roundrobin\n\
             \x20 option httpchk GET /api/v1/health\n\
             \x20 http-check expect status 200\n"
        );
        if sticky {
            let _ = writeln!(
                cfg,
                "  cookie {AFFINITY_COOKIE} insert indirect nocache httponly attr SameSite=Lax"
            );
        }
        for upstream in upstreams {
            let _ = write!(
                cfg,
                "  server {name} 127.0.0.1:{port} check",
                name = upstream.name,
                port = upstream.port
            );
            if sticky {
                let _ = write!(cfg, " cookie {}", upstream.name);
            }
            cfg.push('\n');
        }
    }
    cfg.push_str(
        "\nbackend orders\n\
         \x20 balance roundrobin\n\
         \x20 option httpchk GET /api/v1/orders/health\n\
         \x20 http-check expect status 200\n",
    );
    for upstream in orders {
        let _ = writeln!(
            cfg,
            "  server {} 127.0.0.1:{} check",
            upstream.name, upstream.port
        );
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_modes_list_every_instance_and_only_sticky_inserts_a_cookie() {
        let upstreams = [
            Upstream {
                name: "app-1",
                port: 3101,
            },
            Upstream {
                name: "app-2",
                port: 3102,
            },
        ];
        let orders = [Upstream {
            name: "orders-1",
            port: 3111,
        }];
        let cfg = config(3000, 3098, "/tmp/x.sock", &upstreams, &orders);
        assert!(cfg.contains("use_backend orders if { path /api/v1/orders }"));
        assert_eq!(
            cfg.matches("server orders-1 127.0.0.1:3111 check").count(),
            1
        );
        assert_eq!(cfg.matches("server app-1 127.0.0.1:3101 check").count(), 2);
        assert_eq!(cfg.matches("cookie app-2").count(), 1);
        assert_eq!(cfg.matches("insert indirect nocache").count(), 1);
        assert!(cfg.contains("req.cook(lb_mode) -m str sticky"));
    }
}
