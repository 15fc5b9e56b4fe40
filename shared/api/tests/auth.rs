//! The token checks of the api function, with tokens signed by a local RSA key: every way a token can
//! be wrong is a 401 with a sentence that says which, and the claims become the caller's rights.

use serde_json::json;
use shopsync_api::auth::{AuthConfig, KeySource, Verifier};
use shopsync_api::local_issuer::LocalIssuer;
use shopsync_domain::time::now_secs;
use std::sync::OnceLock;

fn issuer() -> &'static LocalIssuer {
    static ISSUER: OnceLock<LocalIssuer> = OnceLock::new();
    ISSUER.get_or_init(LocalIssuer::generate)
}

fn verifier() -> Verifier {
    let i = issuer();
    Verifier::new(AuthConfig {
        issuer: i.issuer.clone(),
        audience: i.audience.clone(),
        keys: KeySource::Inline(i.jwks()),
        leeway_secs: 30,
    })
}

fn claims() -> serde_json::Value {
    let now = now_secs();
    json!({"iss": issuer().issuer, "aud": issuer().audience, "sub": "merchant-a",
           "iat": now, "exp": now + 600, "shops": ["A"]})
}

async fn rejection(authorization: Option<String>) -> String {
    let err = verifier()
        .caller(authorization.as_deref())
        .await
        .expect_err("must be rejected");
    assert_eq!(err.status, 401, "{err}");
    assert_eq!(err.code, "unauthorized");
    err.message
}

#[tokio::test]
async fn a_valid_token_names_its_shops_and_admin_scope() {
    let v = verifier();
    let caller = v
        .caller(Some(&format!(
            "Bearer {}",
            issuer().token("ops", &["A", "B"], true, 60)
        )))
        .await
        .unwrap();
    assert_eq!(caller.shops, vec!["A", "B"]);
    assert!(caller.admin);
    assert!(caller.may_access("B") && !caller.may_access("C"));

    let merchant = v
        .caller(Some(&format!(
            "Bearer {}",
            issuer().token("m", &["A"], false, 60)
        )))
        .await
        .unwrap();
    assert!(!merchant.admin);
    assert_eq!(merchant.require_shop("B").unwrap_err().status, 403);
    assert_eq!(merchant.require_admin().unwrap_err().status, 403);

    // Identity providers that cannot emit arrays: space-separated strings, and `scp`.
    let mut c = claims();
    c["shops"] = json!("A  B");
    c["scp"] = json!(["read", "shopsync/admin"]);
    let caller = v
        .caller(Some(&format!("Bearer {}", issuer().sign(&c))))
        .await
        .unwrap();
    assert_eq!(caller.shops, vec!["A", "B"]);
    assert!(caller.admin);
}

#[tokio::test]
async fn missing_malformed_and_foreign_schemes_are_401() {
    assert!(rejection(None).await.contains("bearer token is required"));
    assert!(
        rejection(Some("   ".into()))
            .await
            .contains("bearer token is required")
    );
    assert!(
        rejection(Some("Bearer not-a-jwt".into()))
            .await
            .contains("not a JWT")
    );
    assert!(
        rejection(Some("Basic dXNlcjpwYXNz".into()))
            .await
            .contains("Bearer <JWT>")
    );
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_401() {
    let mut c = claims();
    c["exp"] = json!(now_secs() - 120);
    assert!(
        rejection(Some(format!("Bearer {}", issuer().sign(&c))))
            .await
            .contains("expired")
    );
    let mut c = claims();
    c["nbf"] = json!(now_secs() + 3600);
    assert!(
        rejection(Some(format!("Bearer {}", issuer().sign(&c))))
            .await
            .contains("not valid yet")
    );
}

#[tokio::test]
async fn badly_signed_tokens_are_401() {
    let good = issuer().sign(&claims());
    // A payload changed after signing.
    let mut parts: Vec<&str> = good.split('.').collect();
    let mut forged_claims = claims();
    forged_claims["shops"] = json!(["*"]);
    use base64::Engine;
    let forged_payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    parts[1] = &forged_payload;
    assert!(
        rejection(Some(format!("Bearer {}", parts.join("."))))
            .await
            .contains("signature")
    );

    // Signed by another key that claims the same key id is impossible to tell apart by kid, so an
    // impostor uses its own kid: unknown to the API.
    let impostor = LocalIssuer::generate();
    assert!(
        rejection(Some(format!("Bearer {}", impostor.sign(&claims()))))
            .await
            .contains("not one of the issuer's keys")
    );

    // alg=none and HMAC tokens are refused before any key is looked at.
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims())
    );
    assert!(!rejection(Some(format!("Bearer {none}"))).await.is_empty());
    let hs = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "HS256", "typ": "JWT", "kid": "x"})),
        b64(claims())
    );
    assert!(
        rejection(Some(format!("Bearer {hs}")))
            .await
            .contains("HS256")
    );
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_401() {
    let mut c = claims();
    c["aud"] = json!("someone-else");
    assert!(
        rejection(Some(format!("Bearer {}", issuer().sign(&c))))
            .await
            .contains("audience")
    );
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    assert!(
        rejection(Some(format!("Bearer {}", issuer().sign(&c))))
            .await
            .contains("trust")
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert!(
        rejection(Some(format!("Bearer {}", issuer().sign(&c))))
            .await
            .contains("exp")
    );
}

/// A JWKS endpoint on 127.0.0.1 that counts its requests and can be switched to serve another set.
struct JwksServer {
    url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    body: std::sync::Arc<std::sync::Mutex<String>>,
}

async fn jwks_server(initial: String) -> JwksServer {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = std::sync::Arc::new(std::sync::Mutex::new(initial));
    let (h, b) = (hits.clone(), body.clone());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0; 4096];
            let _ = conn.read(&mut buf).await;
            let text = b.lock().unwrap().clone();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = conn.write_all(reply.as_bytes()).await;
        }
    });
    JwksServer { url, hits, body }
}

#[tokio::test]
async fn keys_come_from_the_issuers_jwks_url_once_and_again_only_for_a_new_key() {
    use std::sync::atomic::Ordering;
    let i = issuer();
    let server = jwks_server(i.jwks()).await;
    let v = Verifier::new(AuthConfig {
        issuer: i.issuer.clone(),
        audience: i.audience.clone(),
        keys: KeySource::Url(server.url.clone()),
        leeway_secs: 30,
    });
    for _ in 0..3 {
        v.caller(Some(&format!("Bearer {}", i.token("m", &["A"], false, 60))))
            .await
            .unwrap();
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "the key set is cached"
    );

    // A token from a key the set does not have (yet): refused, and the set is not refetched while
    // it is fresh, so a flood of bad tokens cannot hammer the issuer.
    let rotated = LocalIssuer::generate();
    *server.body.lock().unwrap() = rotated.jwks();
    let mut c = claims();
    c["iss"] = json!(i.issuer);
    let err = v
        .caller(Some(&format!("Bearer {}", rotated.sign(&c))))
        .await
        .unwrap_err();
    assert_eq!(err.status, 401);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // Once the cached set is old enough, a new key id makes the verifier read the set again.
    let v = Verifier::new(AuthConfig {
        issuer: i.issuer.clone(),
        audience: i.audience.clone(),
        keys: KeySource::Url(server.url.clone()),
        leeway_secs: 30,
    })
    .with_refresh_after(std::time::Duration::ZERO);
    *server.body.lock().unwrap() = i.jwks();
    v.caller(Some(&format!("Bearer {}", i.token("m", &["A"], false, 60))))
        .await
        .unwrap();
    *server.body.lock().unwrap() = rotated.jwks();
    let caller = v
        .caller(Some(&format!("Bearer {}", rotated.sign(&c))))
        .await
        .expect("the rotated key is fetched");
    assert_eq!(caller.shops, vec!["A"]);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_unreachable_key_set_is_503_not_401() {
    let i = issuer();
    let v = Verifier::new(AuthConfig {
        issuer: i.issuer.clone(),
        audience: i.audience.clone(),
        // Nothing listens on port 9 of loopback.
        keys: KeySource::Url("http://127.0.0.1:9/jwks.json".into()),
        leeway_secs: 30,
    });
    let err = v
        .caller(Some(&format!("Bearer {}", i.token("m", &["A"], false, 60))))
        .await
        .unwrap_err();
    assert_eq!((err.status, err.code), (503, "unavailable"), "{err}");
}

#[test]
fn the_configuration_names_what_is_missing() {
    use shopsync_api::auth::AuthConfigError;
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert!(matches!(
        AuthConfig::from_lookup(env(&[("JWT_AUDIENCE", "a")])),
        Err(AuthConfigError::Missing("JWT_ISSUER"))
    ));
    let c = AuthConfig::from_lookup(env(&[
        ("JWT_ISSUER", "https://idp.example/"),
        ("JWT_AUDIENCE", "a"),
    ]))
    .unwrap();
    assert!(
        matches!(c.keys, KeySource::Url(ref u) if u == "https://idp.example/.well-known/jwks.json")
    );
    assert!(matches!(
        AuthConfig::from_lookup(env(&[
            ("JWT_ISSUER", "i"),
            ("JWT_AUDIENCE", "a"),
            ("JWT_JWKS", "{nope")
        ])),
        Err(AuthConfigError::BadJwks(_))
    ));
}
