//! `GET /inspect` shows, for every strategy, exactly what the client holds and what the server
//! keeps.

mod common;

use common::Client;
use http::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn inspect_shows_where_each_strategy_keeps_the_session() {
    for strategy in [
        "memory",
        "cookie",
        "jwt",
        "redis",
        "sql",
        "cache-aside",
        "signed-url",
    ] {
        let mut client = Client::new().await;
        client.switch(strategy).await;
        client.add(3, 2).await;
        let reply = client.send(Method::GET, "/inspect", None).await;
        assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
        let inspection = &reply.body;
        assert_eq!(inspection["strategy"], strategy);
        let artifacts = inspection["client"].as_array().unwrap();
        assert!(!artifacts.is_empty(), "{strategy}: {inspection}");
        for artifact in artifacts {
            let name = artifact["name"].as_str().unwrap();
            let value = artifact["value"].as_str().unwrap();
            let bytes = artifact["bytes"].as_u64().unwrap() as usize;
            assert_eq!(bytes, name.len() + 1 + value.len(), "{strategy}: {name}");
            match artifact["transport"].as_str().unwrap() {
                "cookie" => assert_eq!(client.cookies.get(name).map(String::as_str), Some(value)),
                "url" => assert_eq!(client.url_token.as_deref(), Some(value)),
                other => panic!("{strategy}: unexpected transport {other}"),
            }
        }
        let server = &inspection["server"];
        match strategy {
            "cookie" | "jwt" => assert_eq!(server, &Value::Null, "{strategy} keeps nothing"),
            _ => {
                assert!(server["ttl_seconds"].as_i64().unwrap() > 0, "{strategy}");
                assert_eq!(server["value"]["cart"][0]["product_id"], 3, "{strategy}");
                assert_eq!(
                    server["bytes"].as_u64().unwrap() as usize,
                    server["value"].to_string().len()
                );
            }
        }
        if strategy == "jwt" {
            let token = artifacts.iter().find(|a| a["name"] == "jwt").unwrap();
            assert_eq!(token["decoded"]["header"]["alg"], "HS256");
            assert_eq!(
                token["decoded"]["claims"]["session"]["cart"][0]["product_id"],
                3
            );
        } else {
            assert!(
                artifacts.iter().all(|a| a["decoded"].is_null()),
                "{strategy}"
            );
        }
    }
}
