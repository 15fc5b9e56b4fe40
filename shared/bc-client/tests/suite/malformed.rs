//! Answers of the wrong shape, over real HTTP on 127.0.0.1 from a server that hands out a token and
//! answers every API request with the same canned `200` body: each ends as [`BcError::Decode`]
//! naming the type and the JSON path — never a panic.

use shopsync_bc::{BcClient, BcConfig, BcError};
use shopsync_domain::SyncError;
use shopsync_domain::ports::BcInventoryApi;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const COMPANY_ID: &str = "11111111-2222-4333-8444-555555555555";

/// Starts the server; returns a client of it.
async fn client_answered_with(body: &'static str) -> BcClient {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(stream, body));
        }
    });
    let config = BcConfig::new("contoso", "production", COMPANY_ID, "app", "secret")
        .with_endpoints(base.clone(), format!("{base}/{{tenant}}/oauth2/v2.0/token"));
    BcClient::new(config).unwrap()
}

/// Reads one request and answers it (a token for a POST to the token path, else `body`), closing the
/// connection.
async fn answer(mut stream: TcpStream, body: &'static str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head = loop {
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
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let length: usize = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            break head;
        }
    };
    let body = if head.starts_with("POST") && head.contains("/oauth2/v2.0/token") {
        r#"{"token_type":"Bearer","access_token":"t0k3n","expires_in":3600}"#
    } else {
        body
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn decode_message(e: BcError) -> String {
    match e {
        BcError::Decode { message } => message,
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn a_page_without_value_names_the_missing_field() {
    let client = client_answered_with(r#"{"@odata.context":"x","items":[]}"#).await;
    let m = decode_message(client.list_items().await.unwrap_err());
    assert_eq!(
        m,
        "ODataPage<ItemRow>: at the top level: missing field `value`"
    );
    // Through the domain port: a malformed answer, retried later by the job (as before).
    let e = BcInventoryApi::items(&client).await.unwrap_err();
    assert!(
        matches!(e, SyncError::Transport { ref message, .. } if message == "malformed answer: ODataPage<ItemRow>: at the top level: missing field `value`"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_row_of_another_shape_names_its_path() {
    let client = client_answered_with(
        r#"{"value":[{"number":"1000","type":"Inventory","inventory":4},
                    {"number":"1001","type":"Inventory","inventory":"four"}]}"#,
    )
    .await;
    let m = decode_message(client.list_items().await.unwrap_err());
    assert_eq!(
        m,
        "ODataPage<ItemRow>: at value[1].inventory: invalid type: string \"four\", expected f64"
    );
    let client = client_answered_with(
        r#"{"value":[{"number":"1000","type":"Inventory"}],"@odata.nextLink":7}"#,
    )
    .await;
    let m = decode_message(client.list_items().await.unwrap_err());
    assert_eq!(
        m,
        "ODataPage<ItemRow>: at @odata.nextLink: invalid type: integer `7`, expected a string"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_decode_error() {
    let client = client_answered_with("<html>gateway</html>").await;
    let m = decode_message(client.companies().await.unwrap_err());
    assert!(m.starts_with("ODataPage<BcCompany>: not JSON: "), "{m}");
}
