//! Answers of the wrong shape, over real HTTP on 127.0.0.1 from a server that always answers the
//! same canned body: each ends as the crate's typed error naming the JSON path — never a panic, and
//! never retried unless the body was not JSON at all.

use shopsync_domain::SyncError;
use shopsync_domain::ports::ShopifyInventoryApi;
use shopsync_shopify::documents::LOCATIONS;
use shopsync_shopify::retry::Backoff;
use shopsync_shopify::{Pacer, ShopifyClient, ShopifyClientConfig, ShopifyError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const COST: &str = r#""extensions":{"cost":{"requestedQueryCost":2,"actualQueryCost":2,
    "throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1998,"restoreRate":100}}}"#;

/// Starts a server answering every request with `200` and `body`; returns a client of it.
async fn client_answered_with(body: String) -> ShopifyClient {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(stream, body.clone()));
        }
    });
    let mut config = ShopifyClientConfig::for_store(
        &format!("http://127.0.0.1:{port}/{{shop_domain}}/admin/api/{{version}}/graphql.json"),
        "test-shop.myshopify.com",
        "shpat_test",
    )
    .unwrap();
    config.max_retries = 2;
    config.request_timeout = Duration::from_secs(5);
    config.backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    ShopifyClient::new(config, Arc::new(Pacer::new())).unwrap()
}

/// Reads one request (headers and `Content-Length` body) and answers it, closing the connection.
async fn answer(mut stream: TcpStream, body: String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            break;
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn unexpected(e: ShopifyError) -> String {
    match e {
        ShopifyError::Unexpected(m) => m,
        other => panic!("expected Unexpected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_type_in_actual_query_cost_fails_once_naming_the_field() {
    let client = client_answered_with(
        r#"{"data":{},"extensions":{"cost":{"requestedQueryCost":2,"actualQueryCost":"lots",
        "throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1998,"restoreRate":100}}}}"#
            .into(),
    )
    .await;
    let m = unexpected(
        client
            .execute(&LOCATIONS, serde_json::json!({}))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        m,
        "Shopify answer: at extensions.cost.actualQueryCost: invalid value: string \"lots\", \
         expected a number of cost points"
    );
    assert_eq!(
        client.http_attempts(),
        1,
        "a wrong shape comes back the same: no retry"
    );
}

#[tokio::test]
async fn an_answer_without_data_is_unexpected() {
    let client = client_answered_with(format!("{{{COST}}}")).await;
    let m = unexpected(client.list_locations().await.unwrap_err());
    assert_eq!(m, "response without data or errors");
    // Through the domain port it is an internal failure, not retried by the worker.
    let e = ShopifyInventoryApi::locations(&client).await.unwrap_err();
    assert!(
        matches!(e, SyncError::Internal(_)) && !e.is_retryable(),
        "{e:?}"
    );
}

#[tokio::test]
async fn data_of_another_shape_names_the_path() {
    let client = client_answered_with(format!(
        r#"{{"data":{{"locations":{{"nodes":[{{"id":"gid://shopify/Location/1","name":"Shop"}}],
        "pageInfo":{{"hasNextPage":false,"endCursor":null}}}}}},{COST}}}"#
    ))
    .await;
    let m = unexpected(client.list_locations().await.unwrap_err());
    assert_eq!(
        m,
        "Locations answer: at data.locations.nodes[0]: missing field `isActive`"
    );
    // The cost was still read and counted.
    assert_eq!(client.cost_points_used(), 2.0);

    let client = client_answered_with(format!(
        r#"{{"data":{{"productVariantsCount":{{"count":"many","precision":"EXACT"}}}},{COST}}}"#
    ))
    .await;
    let m = unexpected(client.variant_count().await.unwrap_err());
    assert_eq!(
        m,
        "ProductVariantsCount answer: at data.productVariantsCount.count: invalid type: string \"many\", expected u64"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_retried_then_a_transport_error() {
    let client = client_answered_with(r#"{"data":{"locations":"#.into()).await;
    let e = client.list_locations().await.unwrap_err();
    assert!(
        matches!(e, ShopifyError::Transport { attempts: 3, ref message } if message.starts_with("Shopify answer: not JSON: ")),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert_eq!(client.http_attempts(), 3);
}
