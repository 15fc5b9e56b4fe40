//! The token checks of the api function, with tokens signed by a local RSA key: every way a token can
//! be wrong is a 401 with one plain sentence (the reason, parser words included, goes to the log
//! only), and the claims become the caller's rights.

use serde_json::json;
use shopsync_api::auth::{
    AuthConfig, INVALID_TOKEN, KeySource, MISSING_TOKEN, NOT_BEARER, TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID, Verifier,
};
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

/// The refusal of a token: the answer must be one of the plain sentences; returns (answer, the
/// detail that goes to the log).
async fn rejection(authorization: Option<String>) -> (String, String) {
    let v = verifier();
    let err = v
        .caller(authorization.as_deref())
        .await
        .expect_err("must be rejected");
    assert_eq!(err.status, 401, "{err}");
    assert_eq!(err.code, "unauthorized");
    assert!(
        [
            MISSING_TOKEN,
            NOT_BEARER,
            TOKEN_EXPIRED,
            TOKEN_NOT_YET_VALID,
            INVALID_TOKEN
        ]
        .contains(&err.message.as_str()),
        "not a plain answer: {}",
        err.message
    );
    let refusal = v.verify(authorization.as_deref()).await.unwrap_err();
    assert_eq!(refusal.error, err);
    assert!(refusal.detail.len() <= 400, "{}", refusal.detail);
    (err.message, refusal.detail)
}

/// The answer is `answer` and the logged detail mentions `why`.
async fn refused_as(authorization: Option<String>, answer: &str, why: &str) {
    let (message, detail) = rejection(authorization.clone()).await;
    assert_eq!(message, answer, "{authorization:?}");
    assert!(detail.contains(why), "{authorization:?}: detail {detail}");
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
    refused_as(None, MISSING_TOKEN, "no Authorization").await;
    refused_as(Some("   ".into()), MISSING_TOKEN, "no Authorization").await;
    refused_as(Some("Bearer not-a-jwt".into()), INVALID_TOKEN, "not a JWT").await;
    refused_as(Some("Basic dXNlcjpwYXNz".into()), NOT_BEARER, "Basic").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_401() {
    let mut c = claims();
    c["exp"] = json!(now_secs() - 120);
    refused_as(
        Some(format!("Bearer {}", issuer().sign(&c))),
        TOKEN_EXPIRED,
        "expired",
    )
    .await;
    let mut c = claims();
    c["nbf"] = json!(now_secs() + 3600);
    refused_as(
        Some(format!("Bearer {}", issuer().sign(&c))),
        TOKEN_NOT_YET_VALID,
        "not valid yet",
    )
    .await;
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
    refused_as(
        Some(format!("Bearer {}", parts.join("."))),
        INVALID_TOKEN,
        "signature",
    )
    .await;

    // Signed by another key that claims the same key id is impossible to tell apart by kid, so an
    // impostor uses its own kid: unknown to the API.
    let impostor = LocalIssuer::generate();
    refused_as(
        Some(format!("Bearer {}", impostor.sign(&claims()))),
        INVALID_TOKEN,
        "not one of the issuer's keys",
    )
    .await;

    // alg=none and HMAC tokens are refused before any key is looked at.
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims())
    );
    // `none` is no algorithm the parser knows: the answer does not say what the parser said.
    refused_as(Some(format!("Bearer {none}")), INVALID_TOKEN, "not a JWT").await;
    let hs = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "HS256", "typ": "JWT", "kid": "x"})),
        b64(claims())
    );
    refused_as(Some(format!("Bearer {hs}")), INVALID_TOKEN, "HS256").await;
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_401() {
    let mut c = claims();
    c["aud"] = json!("someone-else");
    refused_as(
        Some(format!("Bearer {}", issuer().sign(&c))),
        INVALID_TOKEN,
        "audience",
    )
    .await;
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    refused_as(
        Some(format!("Bearer {}", issuer().sign(&c))),
        INVALID_TOKEN,
        "not trusted",
    )
    .await;
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    refused_as(
        Some(format!("Bearer {}", issuer().sign(&c))),
        INVALID_TOKEN,
        "'exp' claim",
    )
    .await;
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

/// The local issuer, named by the JWKS server's loopback origin (the key set must be on the issuer's
/// host).
fn issuer_at(server: &JwksServer) -> LocalIssuer {
    let mut i = issuer().clone();
    i.issuer = server
        .url
        .trim_end_matches("/.well-known/jwks.json")
        .to_string();
    i
}

#[tokio::test]
async fn keys_come_from_the_issuers_jwks_url_once_and_again_only_for_a_new_key() {
    use std::sync::atomic::Ordering;
    let server = jwks_server(issuer().jwks()).await;
    let i = &issuer_at(&server);
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
    let mut i = issuer().clone();
    i.issuer = "http://127.0.0.1:9".into();
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
    assert!(!err.message.contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn keys_are_never_read_from_another_host_than_the_issuers() {
    use std::sync::atomic::Ordering;
    let server = jwks_server(issuer().jwks()).await;
    // A configuration built by hand (not from the environment) that points the key set elsewhere.
    let i = issuer();
    let v = Verifier::new(AuthConfig {
        issuer: "https://idp.example".into(),
        audience: i.audience.clone(),
        keys: KeySource::Url(server.url.clone()),
        leeway_secs: 30,
    });
    let mut c = claims();
    c["iss"] = json!("https://idp.example");
    let err = v
        .caller(Some(&format!("Bearer {}", i.sign(&c))))
        .await
        .unwrap_err();
    assert_eq!((err.status, err.code), (500, "internal"), "{err}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0, "nothing was fetched");
}

#[tokio::test]
async fn refusals_are_plain_short_sentences_without_parser_words_or_echoes() {
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let long_kid = "k".repeat(60_000);
    // A token that names a 60 K key id, an `alg: none` token, and a signed token whose `shops`
    // claim is neither a string nor a list (the parser's words name its internal types).
    let kid_token = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256", "typ": "JWT", "kid": long_kid})),
        b64(claims())
    );
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims())
    );
    let mut c = claims();
    c["shops"] = json!(5);
    let bad_claims = issuer().sign(&c);
    for token in [kid_token, none, bad_claims, "x".repeat(60_000)] {
        let (message, detail) = rejection(Some(format!("Bearer {token}"))).await;
        assert_eq!(message, INVALID_TOKEN);
        for internal in ["variant", "HS256", "StringOrList", "Json", "Error(", "kkkk"] {
            assert!(!message.contains(internal), "{message}");
        }
        assert!(detail.len() < 400, "the logged detail is bounded too");
    }
}

#[test]
fn the_issuer_and_its_key_set_url_are_checked_at_startup() {
    use shopsync_api::auth::AuthConfigError;
    let config = |issuer: &str, jwks_url: Option<&str>| {
        let (issuer, jwks_url) = (issuer.to_string(), jwks_url.map(String::from));
        AuthConfig::from_lookup(move |name| match name {
            "JWT_ISSUER" => Some(issuer.clone()),
            "JWT_AUDIENCE" => Some("a".into()),
            "JWT_JWKS_URL" => jwks_url.clone(),
            _ => None,
        })
    };
    for (issuer, jwks_url, want) in [
        (
            "https://idp.example",
            None,
            "https://idp.example/.well-known/jwks.json",
        ),
        (
            "https://login.microsoftonline.com/t1/v2.0",
            None,
            "https://login.microsoftonline.com/t1/v2.0/.well-known/jwks.json",
        ),
        (
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/",
            None,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json",
        ),
        (
            "https://idp.example/t",
            Some("https://idp.example/keys/v2"),
            "https://idp.example/keys/v2",
        ),
        (
            "http://127.0.0.1:8080/issuer",
            None,
            "http://127.0.0.1:8080/issuer/.well-known/jwks.json",
        ),
        (
            "http://localhost:9/i",
            None,
            "http://localhost:9/i/.well-known/jwks.json",
        ),
        (
            "http://[::1]:9/i",
            None,
            "http://[::1]:9/i/.well-known/jwks.json",
        ),
    ] {
        let c = config(issuer, jwks_url).unwrap_or_else(|e| panic!("{issuer}: {e}"));
        assert!(
            matches!(c.keys, KeySource::Url(ref u) if u == want),
            "{issuer}: {:?}",
            c.keys
        );
        assert_eq!(
            c.issuer, issuer,
            "the issuer is compared with `iss` as given"
        );
    }
    for (issuer, jwks_url, why) in [
        ("http://idp.example", None, "plain http"),
        ("ftp://idp.example", None, "scheme"),
        ("idp.example", None, "does not parse"),
        ("https://user:pw@idp.example", None, "user name"),
        ("https://idp.example?.evil.example", None, "query"),
        ("https://idp.example/?x=1", None, "query"),
        ("https://idp.example#.evil.example", None, "fragment"),
        ("https://idp.ex ample", None, "whitespace"),
        ("https://idp.example\n.evil", None, "whitespace"),
        ("https://idp_x.example", None, "DNS name"),
        (
            "https://idp.example",
            Some("https://evil.example/jwks.json"),
            "issuer's",
        ),
        (
            "https://idp.example",
            Some("http://idp.example/jwks.json"),
            "plain http",
        ),
        (
            "https://idp.example",
            Some("https://idp.example/jwks.json?x"),
            "query",
        ),
        (
            "https://idp.example",
            Some("https://x@idp.example/jwks.json"),
            "user name",
        ),
    ] {
        match config(issuer, jwks_url) {
            Err(e @ AuthConfigError::BadUrl { .. }) => {
                assert!(e.to_string().contains(why), "{issuer} {jwks_url:?}: {e}")
            }
            other => panic!("{issuer} {jwks_url:?} must be refused, got {other:?}"),
        }
    }
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
            ("JWT_ISSUER", "https://i.example"),
            ("JWT_AUDIENCE", "a"),
            ("JWT_JWKS", "{nope")
        ])),
        Err(AuthConfigError::BadJwks(_))
    ));
}
