//! `/compare`'s figures are what the backends really emit: the bytes a client ends up holding
//! for the same session, and the stored copy the inspector shows.

use crate::common::{carried_bytes, strategies_where, strategy_ids, Client};
use http::{Method, StatusCode};
use serde_json::Value;
use session_strategies::Strategy;

/// Alice with three cart lines.
async fn shopper(client: &mut Client) {
    let reply = client.login("alice", "wonderland").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for (product, quantity) in [(1, 2), (2, 1), (3, 5)] {
        let reply = client.add(product, quantity).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

fn row<'a>(table: &'a Value, strategy: &str) -> &'a Value {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == strategy)
        .unwrap_or_else(|| panic!("no row for {strategy} in {table}"))
}

#[tokio::test]
async fn compare_figures_equal_the_bytes_each_backend_emits() {
    let mut measurer = Client::new().await;
    shopper(&mut measurer).await;
    let reply = measurer.send(Method::GET, "/compare", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let table = reply.body;
    assert_eq!(table["cart_lines"], 3);
    assert_eq!(table["rows"].as_array().unwrap().len(), Strategy::ALL.len());
    for strategy in strategy_ids().await {
        let strategy = strategy.as_str();
        let mut client = Client::new().await;
        client.switch(strategy).await;
        shopper(&mut client).await;
        let row = row(&table, strategy);
        assert_eq!(row["unavailable"], Value::Null, "{strategy}: {row}");
        assert_eq!(
            row["client_bytes"].as_u64().unwrap() as usize,
            carried_bytes(&mut client, strategy).await,
            "{strategy}: the table's client bytes against the client's cookies or URL token"
        );
        let inspection = client.send(Method::GET, "/inspect", None).await.body;
        let stored = inspection["server"]["bytes"].as_u64().unwrap_or(0);
        assert_eq!(
            row["server_bytes"].as_u64().unwrap(),
            stored,
            "{strategy}: stored bytes"
        );
    }
    // The size series: id-only strategies stay flat, client-side ones grow; the cookie's limit
    // is found by bisection over real saves, past the chart's 50 lines.
    let series = table["series"].as_array().unwrap();
    assert_eq!(series.len(), Strategy::ALL.len());
    let points = |id: &str| -> Vec<(u64, u64, bool)> {
        series.iter().find(|s| s["id"] == id).unwrap()["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap(),
                    p[1].as_u64().unwrap(),
                    p[2].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert!(points("redis").iter().all(|p| p.1 == points("redis")[0].1));
    let cookie = points("cookie");
    assert_eq!(cookie.first().unwrap().0, 0);
    assert_eq!(cookie.last().unwrap().0, 50);
    assert!(cookie.windows(2).all(|pair| pair[0].1 < pair[1].1));
    assert!(cookie.iter().all(|p| !p.2 && p.1 <= 4096), "{cookie:?}");
    let limit = row(&table, "cookie")["size_limit"]
        .as_str()
        .unwrap()
        .to_owned();
    let full_at: usize = limit
        .rsplit("full at ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|lines| lines.parse().ok())
        .unwrap_or_else(|| panic!("{limit}"));
    assert!((50..100).contains(&full_at), "{limit}");
}

/// What a cart change costs: the hybrid reseals its cart's cookie and signs nothing, where the
/// JWT strategy signs a new token carrying the whole cart; server-side strategies sign nothing
/// and send back little.
#[tokio::test]
async fn a_cart_change_costs_the_hybrid_no_signature_and_fewer_bytes_than_a_jwt() {
    let mut client = Client::new().await;
    shopper(&mut client).await;
    let table = client.send(Method::GET, "/compare", None).await.body;
    let cost = |strategy: &str| {
        let row = row(&table, strategy);
        (
            row["change_bytes"].as_u64().unwrap(),
            row["change_signatures"].as_u64().unwrap(),
        )
    };
    let (hybrid_bytes, hybrid_signatures) = cost("hybrid");
    let (jwt_bytes, jwt_signatures) = cost("jwt");
    assert_eq!((hybrid_signatures, jwt_signatures), (0, 1));
    assert!(
        hybrid_bytes < jwt_bytes,
        "{hybrid_bytes} against {jwt_bytes}"
    );
    for strategy in strategies_where(|meta| meta.capabilities.server_copy) {
        let (bytes, signatures) = cost(strategy);
        assert!(bytes < 100, "{strategy}: {bytes}");
        assert!(signatures <= 1, "{strategy}: {signatures}");
    }
}

#[tokio::test]
async fn a_latency_run_measures_every_strategy_against_its_store() {
    let mut client = Client::new().await;
    shopper(&mut client).await;
    for strategy in strategy_ids().await {
        let strategy = strategy.as_str();
        let reply = client
            .send(Method::POST, &format!("/compare/latency/{strategy}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{strategy}: {}", reply.body);
        let latency = &reply.body;
        assert_eq!(latency["unavailable"], Value::Null, "{strategy}: {latency}");
        assert!(latency["rounds"].as_u64().unwrap() > 1);
        for figure in ["load_median", "save_median"] {
            assert!(
                latency[figure].as_f64().unwrap() > 0.0,
                "{strategy} {figure}"
            );
        }
        assert!(latency["load_p95"].as_f64() >= latency["load_median"].as_f64());
    }
    let reply = client
        .send(Method::POST, "/compare/latency/nope", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "strategy_unknown");
}

#[tokio::test]
async fn without_redis_its_strategies_say_why() {
    let mut client = Client::configured(|config| {
        config.redis_url = "redis://127.0.0.1:1".into();
    })
    .await;
    let table = client.send(Method::GET, "/compare", None).await.body;
    let redis = row(&table, "redis");
    assert!(
        redis["unavailable"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{redis}"
    );
    assert_eq!(redis["client_bytes"], Value::Null);
    // Cache-aside only loses its cache: SQL still serves it.
    assert_eq!(row(&table, "cache-aside")["unavailable"], Value::Null);
    assert_eq!(row(&table, "cookie")["unavailable"], Value::Null);
    let latency = client
        .send(Method::POST, "/compare/latency/redis", None)
        .await
        .body;
    assert!(latency["unavailable"].as_str().is_some(), "{latency}");
}
