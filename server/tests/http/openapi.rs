//! The OpenAPI document is the contract: it names every route of the JSON API, every status it
//! documents for a route is one the route really answers, shown here by a request that gets it,
//! and every body those requests get back fits the schema the document gives for it.

use crate::common::{Client, Reply};
use base64::{engine::general_purpose::STANDARD, Engine};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use server::config::Config;
use std::collections::BTreeSet;

/// A documented answer: method, path template, status.
type Answer = (String, String, u16);

/// Who asks: the session the request is sent in.
#[derive(Clone, Copy, Debug)]
enum Asker {
    Guest,
    GuestWithCart,
    Alice,
    AliceWithCart,
    /// An API client of the JWT strategy holding a fresh access and refresh token.
    JwtClient,
    /// `X-Session-Strategy` names no strategy.
    UnknownStrategy,
    /// A Bearer token that does not verify.
    BadBearer,
    /// The `redis` strategy while its Redis is unreachable.
    RedisDown,
    /// A browser on another site, its cookie sent along.
    CrossSite,
    /// Somebody who has guessed `locked-out`'s password wrong ten times.
    Guesser,
    /// A guest of a server whose demo outbox is off.
    OutboxOff,
    /// A guest on another machine (the demo outbox answers only this one).
    Remote,
    /// Somebody who has asked for ten login links for `flooded`.
    MagicFlooder,
    /// A visitor who has used up this minute's measurements (that server allows one of each).
    Rationed,
    /// Alice, signed in on another device too; `{id}` in the path names the other session.
    AliceOnTwoDevices,
    /// Alice; `{id}` in the path names the session she asks from.
    AliceHerself,
    /// Another service with the service credential, sending a form.
    Service,
    /// A form sent with a wrong service credential.
    NotAService,
}

/// The service credential of the app the cases run against.
const SERVICE_SECRET: &str = "the-openapi-test-service-secret";
/// What a token introspection asks.
const INTROSPECT_FORM: &str = "token=not-a-token&token_type_hint=signed-url";

/// A request that gets a documented answer.
struct Case {
    method: &'static str,
    template: &'static str,
    path: &'static str,
    asker: Asker,
    body: Option<&'static str>,
    status: u16,
}

const fn case(
    method: &'static str,
    template: &'static str,
    path: &'static str,
    asker: Asker,
    body: Option<&'static str>,
    status: u16,
) -> Case {
    Case {
        method,
        template,
        path,
        asker,
        body,
        status,
    }
}

use Asker::*;

/// The answers particular to each route; the session layer's (400, 401, 503 on every route)
/// are asked for on every route by [`layer_cases`].
const CASES: &[Case] = &[
    case("get", "/health", "/health", Guest, None, 200),
    case("get", "/openapi.json", "/openapi.json", Guest, None, 200),
    case("get", "/strategies", "/strategies", Guest, None, 200),
    case("get", "/products", "/products", Guest, None, 200),
    case("get", "/session", "/session", Guest, None, 200),
    case("get", "/inspect", "/inspect", GuestWithCart, None, 200),
    case(
        "put",
        "/session/strategy",
        "/session/strategy",
        GuestWithCart,
        Some(r#"{"strategy":"cookie"}"#),
        200,
    ),
    case(
        "put",
        "/session/strategy",
        "/session/strategy",
        GuestWithCart,
        Some(r#"{"strategy":"floppy"}"#),
        400,
    ),
    case(
        "post",
        "/login",
        "/login",
        GuestWithCart,
        Some(r#"{"username":"alice","password":"wonderland"}"#),
        200,
    ),
    case(
        "post",
        "/login",
        "/login",
        Guest,
        Some(r#"{"username":"#),
        400,
    ),
    case(
        "post",
        "/login",
        "/login",
        Guest,
        Some(r#"{"username":"alice","password":"nope"}"#),
        401,
    ),
    case(
        "post",
        "/login",
        "/login",
        Guesser,
        Some(r#"{"username":"locked-out","password":"guess"}"#),
        429,
    ),
    case("post", "/logout", "/logout", Alice, None, 200),
    case(
        "post",
        "/token/refresh",
        "/token/refresh",
        JwtClient,
        None,
        200,
    ),
    case(
        "post",
        "/token/refresh",
        "/token/refresh",
        Guest,
        Some("[]"),
        400,
    ),
    case(
        "post",
        "/token/refresh",
        "/token/refresh",
        Guest,
        Some(r#"{"access_token":"a.b.c","refresh_token":"nope"}"#),
        401,
    ),
    case("delete", "/cart", "/cart", GuestWithCart, None, 200),
    case(
        "post",
        "/cart/items",
        "/cart/items",
        Guest,
        Some(r#"{"product_id":1,"quantity":1}"#),
        200,
    ),
    case(
        "post",
        "/cart/items",
        "/cart/items",
        Guest,
        Some(r#"{"product_id":1,"quantity":0}"#),
        400,
    ),
    case(
        "post",
        "/cart/items",
        "/cart/items",
        Guest,
        Some(r#"{"product_id":999,"quantity":1}"#),
        404,
    ),
    case(
        "put",
        "/cart/items/{product_id}",
        "/cart/items/1",
        GuestWithCart,
        Some(r#"{"quantity":5}"#),
        200,
    ),
    case(
        "put",
        "/cart/items/{product_id}",
        "/cart/items/1",
        GuestWithCart,
        Some(r#"{"quantity":100}"#),
        400,
    ),
    case(
        "put",
        "/cart/items/{product_id}",
        "/cart/items/999",
        GuestWithCart,
        Some(r#"{"quantity":1}"#),
        404,
    ),
    case(
        "delete",
        "/cart/items/{product_id}",
        "/cart/items/1",
        GuestWithCart,
        None,
        200,
    ),
    case(
        "delete",
        "/cart/items/{product_id}",
        "/cart/items/one",
        GuestWithCart,
        None,
        400,
    ),
    case(
        "delete",
        "/cart/items/{product_id}",
        "/cart/items/999",
        GuestWithCart,
        None,
        404,
    ),
    case("post", "/checkout", "/checkout", AliceWithCart, None, 200),
    case("post", "/checkout", "/checkout", GuestWithCart, None, 401),
    case("post", "/checkout", "/checkout", Alice, None, 422),
    case("get", "/orders", "/orders", Alice, None, 200),
    case("get", "/orders", "/orders", Guest, None, 401),
    case(
        "post",
        "/cart/share",
        "/cart/share",
        GuestWithCart,
        None,
        200,
    ),
    case("post", "/cart/share", "/cart/share", Guest, None, 400),
    case(
        "post",
        "/login/magic",
        "/login/magic",
        Guest,
        Some(r#"{"username":"alice"}"#),
        202,
    ),
    case(
        "post",
        "/login/magic",
        "/login/magic",
        Guest,
        Some("{}"),
        400,
    ),
    case(
        "post",
        "/login/magic",
        "/login/magic",
        MagicFlooder,
        Some(r#"{"username":"flooded"}"#),
        429,
    ),
    case("get", "/outbox", "/outbox", Guest, None, 200),
    case("get", "/outbox", "/outbox", OutboxOff, None, 404),
    case("get", "/outbox", "/outbox", Remote, None, 403),
    case("get", "/sessions", "/sessions", Alice, None, 200),
    case("get", "/sessions", "/sessions", Guest, None, 401),
    case(
        "delete",
        "/sessions/{id}",
        "/sessions/{id}",
        AliceOnTwoDevices,
        None,
        200,
    ),
    case(
        "delete",
        "/sessions/{id}",
        "/sessions/{id}",
        AliceHerself,
        None,
        400,
    ),
    case(
        "delete",
        "/sessions/{id}",
        "/sessions/nobody",
        Guest,
        None,
        401,
    ),
    case(
        "delete",
        "/sessions/{id}",
        "/sessions/nobody",
        Alice,
        None,
        404,
    ),
    case(
        "post",
        "/logout-everywhere",
        "/logout-everywhere",
        Alice,
        None,
        200,
    ),
    case(
        "post",
        "/logout-everywhere",
        "/logout-everywhere",
        Guest,
        None,
        401,
    ),
    case("get", "/compare", "/compare", GuestWithCart, None, 200),
    case("get", "/compare", "/compare", Rationed, None, 429),
    case(
        "post",
        "/compare/latency/{strategy}",
        "/compare/latency/memory",
        GuestWithCart,
        None,
        200,
    ),
    case(
        "post",
        "/compare/latency/{strategy}",
        "/compare/latency/floppy",
        GuestWithCart,
        None,
        400,
    ),
    case(
        "post",
        "/compare/latency/{strategy}",
        "/compare/latency/memory",
        Rationed,
        None,
        429,
    ),
    case(
        "post",
        "/introspect",
        "/introspect",
        Service,
        Some(INTROSPECT_FORM),
        200,
    ),
    case(
        "post",
        "/introspect",
        "/introspect",
        Service,
        Some("token=x&token_type_hint=memory"),
        400,
    ),
    case(
        "post",
        "/introspect",
        "/introspect",
        NotAService,
        Some(INTROSPECT_FORM),
        401,
    ),
];

/// The document as the server serves it.
async fn served_document() -> Value {
    let reply = Client::new()
        .await
        .send(Method::GET, "/openapi.json", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.body
}

/// Every (method, path, status) the document names.
fn documented(document: &Value) -> BTreeSet<Answer> {
    let mut answers = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            for status in operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
            {
                answers.insert((
                    method.clone(),
                    path.clone(),
                    status.parse().expect("a status"),
                ));
            }
        }
    }
    answers
}

/// A concrete path for a template: any product, any strategy.
fn concrete(template: &str) -> String {
    template
        .replace("{product_id}", "1")
        .replace("{strategy}", "memory")
        .replace("{id}", "some-session")
}

/// The session layer's answers, asked for on every documented route, and the cross-site
/// check's on every route that changes state.
fn layer_cases(document: &Value) -> Vec<(String, String, String, Asker, u16)> {
    let routes: BTreeSet<(String, String)> = documented(document)
        .into_iter()
        .map(|(method, template, _)| (method, template))
        .collect();
    routes
        .into_iter()
        .flat_map(|(method, template)| {
            let mut askers = vec![(UnknownStrategy, 400), (BadBearer, 401), (RedisDown, 503)];
            if method != "get" {
                askers.push((CrossSite, 403));
            }
            askers.into_iter().map(move |(asker, status)| {
                let path = concrete(&template);
                (method.clone(), template.clone(), path, asker, status)
            })
        })
        .collect()
}

struct Apps {
    /// An app whose Redis is up (the test run's), and its first client.
    main: Client,
    /// An app whose Redis is unreachable.
    redis_down: Client,
}

impl Apps {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(dir.path().to_owned());
        config.redis_url = "redis://127.0.0.1:1".into();
        config.demo_outbox = false;
        config.measurements_per_minute = 1;
        Self {
            main: Client::configured(|config| config.service_secrets = vec![SERVICE_SECRET.into()])
                .await,
            redis_down: Client::with_config(config, Some(dir)).await,
        }
    }

    /// A client of the right app with the asker's session set up.
    async fn client(&self, asker: Asker) -> Client {
        let app = match asker {
            RedisDown | OutboxOff | Rationed => &self.redis_down,
            _ => &self.main,
        };
        let mut client = Client::for_app(app.app.clone(), None);
        match asker {
            Guest | BadBearer | OutboxOff | Service | NotAService => {}
            Remote => client.peer = std::net::SocketAddr::from(([192, 0, 2, 7], 40_000)),
            MagicFlooder => {
                for _ in 0..10 {
                    let flood = json!({"username": "flooded"});
                    client.send(Method::POST, "/login/magic", Some(flood)).await;
                }
            }
            Rationed => {
                client.send(Method::GET, "/compare", None).await;
                client
                    .send(Method::POST, "/compare/latency/memory", None)
                    .await;
            }
            Guesser => {
                for _ in 0..10 {
                    client.login("locked-out", "guess").await;
                }
            }
            CrossSite => {
                client.add(3, 2).await;
            }
            GuestWithCart => {
                client.add(3, 2).await;
            }
            AliceOnTwoDevices => {
                let mut other = Client::for_app(app.app.clone(), None);
                other.login("alice", "wonderland").await;
                client.login("alice", "wonderland").await;
            }
            AliceHerself => {
                client.login("alice", "wonderland").await;
            }
            Alice | AliceWithCart => {
                client.login("alice", "wonderland").await;
                if matches!(asker, AliceWithCart) {
                    client.add(3, 2).await;
                }
            }
            JwtClient => {
                client.cookieless = true;
                client.strategy_header = Some("jwt".into());
            }
            UnknownStrategy => client.strategy_header = Some("floppy".into()),
            RedisDown => client.strategy_header = Some("redis".into()),
        }
        client
    }

    async fn ask(&self, method: &str, path: &str, asker: Asker, body: Option<&str>) -> Reply {
        let mut client = self.client(asker).await;
        let mut path = path.to_owned();
        if let AliceOnTwoDevices | AliceHerself = asker {
            let listed = client.send(Method::GET, "/sessions", None).await;
            let current = matches!(asker, AliceHerself);
            let id = listed.body["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|listed| listed["current"] == current)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            path = path.replace("{id}", &id);
        }
        let path = path.as_str();
        let method: Method = method.to_uppercase().parse().unwrap();
        let mut body = body.map(str::to_owned);
        let mut headers = Vec::new();
        if let JwtClient = asker {
            let login = client.login("bob", "builder").await;
            body = Some(
                json!({
                    "access_token": login.body["credential"],
                    "refresh_token": login.body["refresh_token"],
                })
                .to_string(),
            );
        }
        let form = ("content-type", "application/x-www-form-urlencoded");
        let service = format!(
            "Basic {}",
            STANDARD.encode(format!("orders:{SERVICE_SECRET}"))
        );
        match asker {
            Service => headers.extend([form, ("authorization", service.as_str())]),
            NotAService => headers.extend([form, ("authorization", "Basic b3JkZXJzOm5vcGU=")]),
            BadBearer => headers.push(("authorization", "Bearer not.a.jwt")),
            CrossSite => headers.push(("origin", "https://evil.example")),
            _ => {}
        }
        client.send_raw(method, path, body, &headers).await
    }
}

/// Checks that `reply`'s body fits the schema `document` gives for `method template` answering
/// with its status: a JSON body where JSON is documented, and no body where none is.
fn assert_fits_the_document(document: &Value, method: &str, template: &str, reply: &Reply) {
    let status = reply.status.as_u16().to_string();
    let response = &document["paths"][template][method]["responses"][&status];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which is not documented"
    );
    let body: String = reply.body.to_string().chars().take(400).collect();
    let context = format!("{method} {template} {status}: {body}");
    let Some(content) = response["content"].as_object() else {
        assert_eq!(
            reply.body,
            Value::Null,
            "{context}: a body where none is documented"
        );
        return;
    };
    let Some(schema) = content
        .get("application/json")
        .and_then(|json| json.get("schema"))
    else {
        return; // Not JSON (a page), or JSON of any shape: nothing to check here.
    };
    // The schema, with the document's components beside it so that its `$ref`s resolve.
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|error| panic!("{context}: the documented schema is not valid: {error}"));
    let errors: Vec<String> = validator
        .iter_errors(&reply.body)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{context}: does not fit the document: {errors:?}"
    );
}

#[tokio::test]
async fn every_documented_status_is_one_the_route_answers() {
    let document = served_document().await;
    let apps = Apps::start().await;
    let mut shown = BTreeSet::new();
    for case in CASES {
        let reply = apps
            .ask(case.method, case.path, case.asker, case.body)
            .await;
        assert_eq!(
            reply.status.as_u16(),
            case.status,
            "{} {} as {:?}",
            case.method,
            case.path,
            case.asker
        );
        assert_fits_the_document(&document, case.method, case.template, &reply);
        shown.insert((
            case.method.to_owned(),
            case.template.to_owned(),
            case.status,
        ));
    }
    for (method, template, path, asker, expected) in layer_cases(&document) {
        let reply = apps.ask(&method, &path, asker, None).await;
        assert_eq!(
            reply.status.as_u16(),
            expected,
            "{method} {path} as {asker:?}"
        );
        assert_fits_the_document(&document, &method, &template, &reply);
        shown.insert((method, template, expected));
    }
    let documented = documented(&document);
    let undocumented: Vec<_> = shown.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "answered but not documented: {undocumented:?}"
    );
    let unshown: Vec<_> = documented.difference(&shown).collect();
    assert!(
        unshown.is_empty(),
        "documented but never shown: {unshown:?}"
    );
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_names_every_route() {
    let document = served_document().await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    assert_eq!(
        document,
        serde_json::to_value(server::api::document()).unwrap()
    );
    let routes: BTreeSet<(String, String)> = documented(&document)
        .into_iter()
        .map(|(method, template, _)| (method, template))
        .collect();
    // Every route has a case that answers it successfully.
    for (method, template) in &routes {
        assert!(
            CASES.iter().any(|case| case.method == method
                && case.template == template
                && (200..300).contains(&case.status)),
            "{method} {template} has no successful case"
        );
    }
    // Routes reach the router only through `routes!`, which documents them as it adds them.
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(&api).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            !source.contains(".route("),
            "{} adds a route the document does not see",
            path.display()
        );
    }
}
