//! HTTP/1.1 as a client on the wire sends it, one exchange per connection: what the system
//! tests speak to real sockets (a served app, the load balancer, the cluster's control API),
//! with every header under the test's control, as an attacker's would be.

use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream},
    time::Duration,
};

/// A reply: status, headers (lower-case names), the body as text and as JSON (`Null` if it is
/// not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every `Set-Cookie` header's value.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(name, _)| name == "set-cookie")
            .map(|(_, value)| value.as_str())
            .collect()
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
}

/// A request to send: the target, and every header but `Host`, `Connection` and the body's.
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The `Host` header; the address connected to when `None`.
    pub host: Option<String>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, target: &'a str) -> Self {
        Self {
            method,
            target,
            headers: Vec::new(),
            body: None,
            host: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self
    }

    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Sends it to `port` on loopback.
    pub fn send(self, port: u16) -> Reply {
        self.send_to(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    }

    /// Sends it to `address`, on a fresh connection.
    pub fn send_to(self, address: SocketAddr) -> Reply {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let host = self.host.unwrap_or_else(|| address.to_string());
        let mut request = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.target
        );
        for (name, value) in &self.headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = self.body.unwrap_or_default();
        let typed = self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !body.is_empty() || self.method != "GET" {
            if !typed {
                request.push_str("Content-Type: application/json\r\n");
            }
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"))
    {
        payload = unchunk(&payload);
    }
    let text = String::from_utf8_lossy(&payload).to_string();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn unchunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = chunked.windows(2).position(|window| window == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&chunked[..end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&chunked[end + 2..end + 2 + size]);
        chunked = &chunked[end + 2 + size + 2..];
    }
    out
}

/// A browser of `port`'s JSON API: a cookie jar, and the URL token under signed-url.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub port: u16,
    pub cookies: BTreeMap<String, String>,
    pub url_token: Option<String>,
}

impl Visitor {
    /// A visitor of `port` logged in as alice under `strategy`, with a line in the cart.
    pub fn alice_under(port: u16, strategy: &str) -> Self {
        let mut alice = Self::of(port);
        let reply = alice.send(
            "PUT",
            "/session/strategy",
            Some(json!({"strategy": strategy})),
        );
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        let reply = alice.send(
            "POST",
            "/login",
            Some(json!({"username": "alice", "password": "wonderland"})),
        );
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        let reply = alice.send(
            "POST",
            "/cart/items",
            Some(json!({"product_id": 3, "quantity": 1})),
        );
        assert_eq!(reply.status, 200, "{strategy}: {}", reply.text);
        alice
    }

    pub fn of(port: u16) -> Self {
        Self {
            port,
            cookies: BTreeMap::new(),
            url_token: None,
        }
    }

    /// The `Cookie` header this visitor sends, if it holds any.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// `method /api/v1{path}` with this visitor's cookies and URL token; keeps what the reply
    /// sets.
    pub fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send_with(method, path, body, &[])
    }

    /// [`Self::send`] with extra headers.
    pub fn send_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let target = match &self.url_token {
            Some(token) => format!("/api/v1{path}?s={token}"),
            None => format!("/api/v1{path}"),
        };
        let mut request = Request::new(method, &target);
        if let Some(cookies) = self.cookie_header() {
            request = request.header("Cookie", &cookies);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = request.send(self.port);
        self.keep(&reply);
        reply
    }

    /// Takes in the cookies and URL token a reply hands out.
    pub fn keep(&mut self, reply: &Reply) {
        for value in reply.set_cookies() {
            let pair = value.split(';').next().unwrap();
            let (key, cookie) = pair.split_once('=').unwrap();
            if cookie.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(key);
            } else {
                self.cookies.insert(key.to_owned(), cookie.to_owned());
            }
        }
        let session = if reply.body.get("session").is_some() {
            &reply.body["session"]
        } else {
            &reply.body
        };
        if (200..300).contains(&reply.status) && session.get("strategy").is_some() {
            self.url_token = (session["strategy"] == "signed-url")
                .then(|| session["credential"].as_str().map(str::to_owned))
                .flatten();
        }
    }
}
