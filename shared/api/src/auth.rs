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

use crate::http::ApiError;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
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
    /// first use and again when a token names an unknown key id (at most every `refresh_after`).
    Url(String),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{0} is not set; the api function needs the token issuer and audience")]
    Missing(&'static str),
    #[error("JWT_JWKS is not a valid JSON Web Key Set: {0}")]
    BadJwks(String),
}

impl AuthConfig {
    /// From `JWT_ISSUER`, `JWT_AUDIENCE` and `JWT_JWKS` or `JWT_JWKS_URL`.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<AuthConfig, AuthConfigError> {
        let non_empty = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let issuer = non_empty("JWT_ISSUER").ok_or(AuthConfigError::Missing("JWT_ISSUER"))?;
        let audience = non_empty("JWT_AUDIENCE").ok_or(AuthConfigError::Missing("JWT_AUDIENCE"))?;
        let keys = match (non_empty("JWT_JWKS"), non_empty("JWT_JWKS_URL")) {
            (Some(jwks), _) => {
                serde_json::from_str::<JwkSet>(&jwks)
                    .map_err(|e| AuthConfigError::BadJwks(e.to_string()))?;
                KeySource::Inline(jwks)
            }
            (None, Some(url)) => KeySource::Url(url),
            (None, None) => KeySource::Url(format!(
                "{}/.well-known/jwks.json",
                issuer.trim_end_matches('/')
            )),
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
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
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

    /// Verify the `Authorization` header and return the caller; every failure is a `401`.
    pub async fn caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        let header = authorization
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("a bearer token is required (Authorization: Bearer <JWT>)")
            })?;
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            // API Gateway's identity source also accepts the bare token.
            None => header,
            Some(_) => {
                return Err(ApiError::unauthorized(
                    "the Authorization header must be 'Bearer <JWT>'",
                ));
            }
        };
        let head = decode_header(token)
            .map_err(|e| ApiError::unauthorized(format!("the bearer token is not a JWT: {e}")))?;
        if !matches!(
            head.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        ) {
            return Err(ApiError::unauthorized(format!(
                "tokens signed with {:?} are not accepted; use RS256",
                head.alg
            )));
        }
        let kid = head
            .kid
            .ok_or_else(|| ApiError::unauthorized("the token names no signing key (kid)"))?;
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(head.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            ApiError::unauthorized(match e.kind() {
                K::ExpiredSignature => "the token has expired".to_string(),
                K::ImmatureSignature => "the token is not valid yet (nbf)".to_string(),
                K::InvalidSignature => "the token's signature does not verify".to_string(),
                K::InvalidIssuer => {
                    "the token was issued by someone this API does not trust".to_string()
                }
                K::InvalidAudience => "the token is meant for another audience".to_string(),
                K::MissingRequiredClaim(c) => format!("the token lacks the '{c}' claim"),
                other => format!("the token is not valid: {other:?}"),
            })
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

    async fn key(&self, kid: &str) -> Result<DecodingKey, ApiError> {
        if let Some(key) = self.cached_key(kid)? {
            return Ok(key);
        }
        let KeySource::Url(url) = &self.config.keys else {
            return Err(ApiError::unauthorized(format!(
                "the token's signing key '{kid}' is not one of the issuer's keys"
            )));
        };
        let fresh_enough = self
            .keys
            .read()
            .ok()
            .and_then(|k| k.as_ref().map(|(_, at)| at.elapsed() < self.refresh_after))
            .unwrap_or(false);
        if fresh_enough {
            return Err(ApiError::unauthorized(format!(
                "the token's signing key '{kid}' is not one of the issuer's keys"
            )));
        }
        let set = self.fetch(url).await?;
        if let Ok(mut guard) = self.keys.write() {
            *guard = Some((set, Instant::now()));
        }
        self.cached_key(kid)?.ok_or_else(|| {
            ApiError::unauthorized(format!(
                "the token's signing key '{kid}' is not one of the issuer's keys"
            ))
        })
    }

    fn cached_key(&self, kid: &str) -> Result<Option<DecodingKey>, ApiError> {
        let guard = self
            .keys
            .read()
            .map_err(|_| ApiError::new(500, "internal", "the key cache is poisoned"))?;
        let Some((set, _)) = guard.as_ref() else {
            return Ok(None);
        };
        match set.find(kid) {
            Some(jwk) => DecodingKey::from_jwk(jwk).map(Some).map_err(|e| {
                ApiError::unauthorized(format!("the issuer's key '{kid}' is unusable: {e}"))
            }),
            None => Ok(None),
        }
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, ApiError> {
        let unavailable = |e: String| {
            ApiError::new(
                503,
                "unavailable",
                format!("the token issuer's keys could not be read ({e}); try again shortly"),
            )
        };
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        response
            .json::<JwkSet>()
            .await
            .map_err(|e| unavailable(e.to_string()))
    }
}
