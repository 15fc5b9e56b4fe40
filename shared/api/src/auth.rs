//! Who is calling, and what may they touch.
//!
//! API Gateway's JWT authorizer already rejects bad tokens, but the function checks again: a route
//! deployed without the authorizer, or a test that calls the handler directly, must not open the
//! shops. So every request's bearer token is verified here (RS256/384/512 against the issuer's JSON
//! Web Key Set, issuer, audience, expiry, not-before) before anything is read.
//!
//! The token's claims decide the rest:
//! - `shops`: the shop codes the caller may act on, as a JSON array or a space-separated string
//!   (identity providers that cannot emit arrays); `"*"` means every shop.
//! - `scope` (space-separated) or `scp` (array or string) containing [`ADMIN_SCOPE`]: the caller may
//!   read and change shop settings, and (with `"*"`) the failures that belong to no shop.
//!
//! A caller without the shop in the path gets `403` whatever the route, so nothing of another shop
//! can be read, run or changed.
//!
//! A refused token gets one plain sentence ("missing bearer token", "token expired", "invalid
//! token"): never the parser's words, never the token's own header values. Why it was refused goes to
//! the log, as a bounded preview.

use crate::http::ApiError;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::Url;
use serde::Deserialize;
use shopsync_domain::text::{bounded, preview};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The scope that makes a caller an administrator.
pub const ADMIN_SCOPE: &str = "shopsync/admin";
/// The `shops` entry that grants every shop.
pub const ALL_SHOPS: &str = "*";

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub shops: Vec<String>,
    pub admin: bool,
}

impl Caller {
    pub fn all_shops(&self) -> bool {
        self.shops.iter().any(|s| s == ALL_SHOPS)
    }

    pub fn may_access(&self, shop: &str) -> bool {
        self.all_shops() || self.shops.iter().any(|s| s == shop)
    }

    /// `403` unless the caller may act on `shop`.
    pub fn require_shop(&self, shop: &str) -> Result<(), ApiError> {
        if self.may_access(shop) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your token does not allow shop {shop}"
            )))
        }
    }

    /// `403` unless the caller is an administrator.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {ADMIN_SCOPE} scope, which your token does not have"
            )))
        }
    }
}

/// What a token must be to be accepted.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: KeySource,
    /// Clock skew tolerated on `exp`/`nbf`.
    pub leeway_secs: u64,
}

/// Where the issuer's public keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document given in configuration (`JWT_JWKS`).
    Inline(String),
    /// The issuer's JWKS URL (`JWT_JWKS_URL`, default `<issuer>/.well-known/jwks.json`), fetched on
    /// first use and again when a token names an unknown key id (at most every `refresh_after`). It
    /// must be on the issuer's host; the verifier checks that again before every fetch.
    Url(String),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{0} is not set; the api function needs the token issuer and audience")]
    Missing(&'static str),
    #[error("JWT_JWKS is not a valid JSON Web Key Set: {0}")]
    BadJwks(String),
    #[error("{var} is not a usable URL ({reason}): {value}")]
    BadUrl {
        var: &'static str,
        value: String,
        reason: String,
    },
}

/// Hosts on which plain `http` is allowed (the local stand-ins of the tests and the demo).
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// A URL the verifier may read keys from or that names the issuer: `https` (plain `http` only on a
/// loopback host), a real host (a DNS name or an IP address), no user name or password, no query, no
/// fragment, no whitespace or control characters. `Err` says why not.
pub fn check_https_url(value: &str) -> Result<Url, String> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains whitespace or control characters".into());
    }
    let url = Url::parse(value).map_err(|e| format!("it does not parse: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("it names no host")?
        .to_string();
    match url.scheme() {
        "https" => {}
        "http" if LOOPBACK_HOSTS.contains(&host.as_str()) => {}
        "http" => return Err("plain http is allowed only on 127.0.0.1, localhost or [::1]".into()),
        other => return Err(format!("the scheme must be https, not {}", preview(other))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it must not carry a user name or password".into());
    }
    if url.query().is_some() || value.contains('?') {
        return Err("it must not have a query".into());
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err("it must not have a fragment".into());
    }
    let is_ip = host.parse::<std::net::Ipv4Addr>().is_ok()
        || (host.starts_with('[') && host.ends_with(']'));
    if !is_ip {
        let domain = host.as_str();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if domain.len() > 253 || !domain.split('.').all(label_ok) {
            return Err(format!("'{}' is not a DNS name", preview(domain)));
        }
    }
    Ok(url)
}

/// The issuer's key set URL, `<issuer>/.well-known/jwks.json`, built segment by segment.
fn default_jwks_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend([".well-known", "jwks.json"]);
    }
    url
}

impl AuthConfig {
    /// From `JWT_ISSUER`, `JWT_AUDIENCE` and `JWT_JWKS` or `JWT_JWKS_URL`. The issuer and the key set
    /// URL are checked strictly ([`check_https_url`]), and the key set must be on the issuer's host.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<AuthConfig, AuthConfigError> {
        let non_empty = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let issuer = non_empty("JWT_ISSUER").ok_or(AuthConfigError::Missing("JWT_ISSUER"))?;
        let audience = non_empty("JWT_AUDIENCE").ok_or(AuthConfigError::Missing("JWT_AUDIENCE"))?;
        let bad_url = |var: &'static str, value: &str, reason: String| AuthConfigError::BadUrl {
            var,
            value: bounded(value, 200),
            reason,
        };
        let issuer_url =
            check_https_url(&issuer).map_err(|reason| bad_url("JWT_ISSUER", &issuer, reason))?;
        let keys = match (non_empty("JWT_JWKS"), non_empty("JWT_JWKS_URL")) {
            (Some(jwks), _) => {
                serde_json::from_str::<JwkSet>(&jwks)
                    .map_err(|e| AuthConfigError::BadJwks(e.to_string()))?;
                KeySource::Inline(jwks)
            }
            (None, Some(url)) => {
                let parsed = check_https_url(&url)
                    .map_err(|reason| bad_url("JWT_JWKS_URL", &url, reason))?;
                if parsed.host_str() != issuer_url.host_str() {
                    return Err(bad_url(
                        "JWT_JWKS_URL",
                        &url,
                        format!(
                            "its host must be the issuer's, {}",
                            issuer_url.host_str().unwrap_or("")
                        ),
                    ));
                }
                KeySource::Url(parsed.to_string())
            }
            (None, None) => KeySource::Url(default_jwks_url(&issuer_url).to_string()),
        };
        Ok(AuthConfig {
            issuer,
            audience,
            keys,
            leeway_secs: 30,
        })
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    shops: Option<StringOrList>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<StringOrList>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    fn items(&self) -> Vec<String> {
        match self {
            StringOrList::One(s) => s.split_whitespace().map(String::from).collect(),
            StringOrList::Many(v) => v.iter().map(|s| s.trim().to_string()).collect(),
        }
    }
}

/// The answer to a token without `Authorization` header.
pub const MISSING_TOKEN: &str = "missing bearer token";
/// The answer to an `Authorization` header of another scheme.
pub const NOT_BEARER: &str = "the Authorization header must be 'Bearer <token>'";
/// The answer to a token past its `exp`.
pub const TOKEN_EXPIRED: &str = "token expired";
/// The answer to a token before its `nbf`.
pub const TOKEN_NOT_YET_VALID: &str = "token not yet valid";
/// The answer to every other bad token.
pub const INVALID_TOKEN: &str = "invalid token";

/// Why a request was refused: the error the caller gets (a `401` with one of the plain sentences
/// above, or a `5xx` when the keys could not be read) and the detail that goes to the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: ApiError,
    pub detail: String,
}

impl Refusal {
    fn token(answer: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal {
            error: ApiError::unauthorized(answer),
            detail: bounded(&detail.into(), 300),
        }
    }

    fn server(error: ApiError, detail: impl Into<String>) -> Refusal {
        Refusal {
            error,
            detail: bounded(&detail.into(), 300),
        }
    }
}

/// Verifies bearer tokens; built once per process.
pub struct Verifier {
    config: AuthConfig,
    keys: RwLock<Option<(JwkSet, Instant)>>,
    http: reqwest::Client,
    refresh_after: Duration,
}

impl Verifier {
    pub fn new(config: AuthConfig) -> Verifier {
        let keys = match &config.keys {
            KeySource::Inline(json) => serde_json::from_str(json).ok().map(|k| (k, Instant::now())),
            KeySource::Url(_) => None,
        };
        Verifier {
            config,
            keys: RwLock::new(keys),
            // No redirects: the keys come from the host that was checked, not from where it points.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            refresh_after: Duration::from_secs(300),
        }
    }

    /// Refetch the key set for an unknown key id only when the cached set is older than this
    /// (default 5 minutes), so a flood of tokens with made-up key ids cannot hammer the issuer.
    pub fn with_refresh_after(mut self, after: Duration) -> Verifier {
        self.refresh_after = after;
        self
    }

    /// Verify the `Authorization` header and return the caller; a bad token is a `401` with a plain
    /// sentence, and why it was refused goes to the log.
    pub async fn caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        self.verify(authorization).await.map_err(|refusal| {
            if refusal.error.status >= 500 {
                tracing::warn!(detail = %refusal.detail, "could not check a token");
            } else {
                tracing::info!(answer = %refusal.error.message, detail = %refusal.detail, "token refused");
            }
            refusal.error
        })
    }

    /// [`Verifier::caller`] with the reason of a refusal (for the log and for tests).
    pub async fn verify(&self, authorization: Option<&str>) -> Result<Caller, Refusal> {
        let header = authorization
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Refusal::token(MISSING_TOKEN, "no Authorization header"))?;
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            // API Gateway's identity source also accepts the bare token.
            None => header,
            Some((scheme, _)) => {
                return Err(Refusal::token(
                    NOT_BEARER,
                    format!("Authorization scheme '{}'", preview(scheme)),
                ));
            }
        };
        let head = decode_header(token).map_err(|e| {
            Refusal::token(INVALID_TOKEN, format!("the bearer token is not a JWT: {e}"))
        })?;
        let kid = head.kid.as_deref().map(preview);
        if !matches!(
            head.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        ) {
            return Err(Refusal::token(
                INVALID_TOKEN,
                format!(
                    "signed with {:?}, only RS256/384/512 are accepted",
                    head.alg
                ),
            ));
        }
        let Some(kid_full) = head.kid.as_deref() else {
            return Err(Refusal::token(
                INVALID_TOKEN,
                "the token names no signing key (kid)",
            ));
        };
        let key = self.key(kid_full).await?;

        let mut validation = Validation::new(head.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let kid = kid.clone().unwrap_or_default();
            let (answer, why) = match e.kind() {
                K::ExpiredSignature => (TOKEN_EXPIRED, "the token has expired".to_string()),
                K::ImmatureSignature => (
                    TOKEN_NOT_YET_VALID,
                    "the token is not valid yet (nbf)".to_string(),
                ),
                K::InvalidSignature => (INVALID_TOKEN, "the signature does not verify".to_string()),
                K::InvalidIssuer => (
                    INVALID_TOKEN,
                    "the token's issuer is not trusted".to_string(),
                ),
                K::InvalidAudience => (
                    INVALID_TOKEN,
                    "the token is for another audience".to_string(),
                ),
                K::MissingRequiredClaim(c) => (
                    INVALID_TOKEN,
                    format!("the token lacks the '{}' claim", preview(c)),
                ),
                other => (INVALID_TOKEN, format!("the token is not valid: {other:?}")),
            };
            Refusal::token(answer, format!("{why} (kid '{kid}')"))
        })?;
        let claims = data.claims;
        let shops = claims.shops.map(|s| s.items()).unwrap_or_default();
        let mut scopes: Vec<String> = claims
            .scope
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        scopes.extend(claims.scp.map(|s| s.items()).unwrap_or_default());
        Ok(Caller {
            subject: claims.sub.unwrap_or_default(),
            shops,
            admin: scopes.iter().any(|s| s == ADMIN_SCOPE),
        })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let unknown = || {
            Refusal::token(
                INVALID_TOKEN,
                format!(
                    "the token's signing key '{}' is not one of the issuer's keys",
                    preview(kid)
                ),
            )
        };
        if let Some(key) = self.cached_key(kid)? {
            return Ok(key);
        }
        let KeySource::Url(url) = &self.config.keys else {
            return Err(unknown());
        };
        let fresh_enough = self
            .keys
            .read()
            .ok()
            .and_then(|k| k.as_ref().map(|(_, at)| at.elapsed() < self.refresh_after))
            .unwrap_or(false);
        if fresh_enough {
            return Err(unknown());
        }
        let set = self.fetch(url).await?;
        if let Ok(mut guard) = self.keys.write() {
            *guard = Some((set, Instant::now()));
        }
        self.cached_key(kid)?.ok_or_else(unknown)
    }

    fn cached_key(&self, kid: &str) -> Result<Option<DecodingKey>, Refusal> {
        let guard = self.keys.read().map_err(|_| {
            Refusal::server(
                ApiError::new(
                    500,
                    "internal",
                    "the request failed inside Shopsync; the details are in the api function's log",
                ),
                "the key cache is poisoned",
            )
        })?;
        let Some((set, _)) = guard.as_ref() else {
            return Ok(None);
        };
        match set.find(kid) {
            Some(jwk) => DecodingKey::from_jwk(jwk).map(Some).map_err(|e| {
                Refusal::token(
                    INVALID_TOKEN,
                    format!("the issuer's key '{}' is unusable: {e}", preview(kid)),
                )
            }),
            None => Ok(None),
        }
    }

    /// The issuer's key set, read from `url` once it is checked: an https URL (http on loopback) on
    /// the issuer's own host.
    async fn fetch(&self, url: &str) -> Result<JwkSet, Refusal> {
        let unavailable = |detail: String| {
            Refusal::server(
                ApiError::new(
                    503,
                    "unavailable",
                    "the token issuer's keys could not be read; try again shortly",
                ),
                detail,
            )
        };
        let misconfigured = |detail: String| {
            Refusal::server(
                ApiError::new(
                    500,
                    "internal",
                    "the request failed inside Shopsync; the details are in the api function's log",
                ),
                detail,
            )
        };
        let parsed = check_https_url(url)
            .map_err(|e| misconfigured(format!("the JWKS URL is not usable: {e}")))?;
        let issuer_host = Url::parse(&self.config.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if parsed.host_str().is_none() || parsed.host_str() != issuer_host.as_deref() {
            return Err(misconfigured(format!(
                "the JWKS URL's host {:?} is not the issuer's {:?}",
                parsed.host_str(),
                issuer_host
            )));
        }
        let response = self
            .http
            .get(parsed)
            .send()
            .await
            .map_err(|e| unavailable(format!("JWKS request failed: {e}")))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "JWKS answered HTTP {}",
                response.status()
            )));
        }
        response
            .json::<JwkSet>()
            .await
            .map_err(|e| unavailable(format!("JWKS is not a key set: {e}")))
    }
}
