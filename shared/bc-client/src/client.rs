//! The HTTP core: every BC call goes through [`BcClient::execute`], which takes a permit of the shared
//! semaphore (BC online processes 5 requests per principal at once and answers 429 beyond that), adds the
//! bearer token, resends once with a fresh token after a 401, and retries transient failures with
//! backoff. Collections are read by following `@odata.nextLink`, one request (and one retry budget) per
//! page, so a fault on page 7 costs one page, not the whole read.

use crate::config::BcConfig;
use crate::error::BcError;
use crate::retry::{Resend, delay, parse_retry_after, should_retry};
use crate::token::TokenSource;
use crate::urls::encode_component;
use crate::wire::{self, ODataEtag, ODataPage};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A BC API client. Cheap to clone; clones share the token, the connection pool and the concurrency
/// limit.
#[derive(Clone)]
pub struct BcClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: BcConfig,
    /// Scheme, host and port of `api_base_url`: the only origin the bearer token is sent to.
    api_origin: reqwest::Url,
    http: reqwest::Client,
    tokens: TokenSource,
    permits: Arc<Semaphore>,
}

/// A successful answer, body read.
#[derive(Debug, Clone)]
pub struct BcResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl BcResponse {
    /// The body decoded as `T`; another shape is [`BcError::Decode`] naming the type and the JSON
    /// path ([`wire::decode`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BcError> {
        wire::decode(&self.body)
    }

    /// The entity's ETag: the `ETag` header, else `@odata.etag` in the body.
    pub fn etag(&self) -> Option<String> {
        if let Some(h) = self
            .headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
        {
            return Some(h.to_string());
        }
        wire::decode::<ODataEtag>(&self.body).ok()?.etag
    }
}

/// The answer to a PATCH: the updated entity and its new ETag.
#[derive(Debug, Clone)]
pub struct Patched<T> {
    pub entity: T,
    pub etag: Option<String>,
}

/// `url` parsed, http(s) only, without user info.
fn parse_http_url(what: &str, url: &str) -> Result<reqwest::Url, BcError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| BcError::Config(format!("{what} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.host_str().is_none()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(BcError::Config(format!(
            "{what} must be an http(s) URL with a host and no user info"
        )));
    }
    Ok(parsed)
}

/// A BC company as listed by `GET /companies`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BcCompany {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: String,
}

impl BcClient {
    /// Checks every value that reaches a URL against its strict pattern (tenant: GUID or DNS name,
    /// environment: `[A-Za-z0-9_-]{1,30}`, company id: GUID — see `shopsync_domain::patterns`) and the
    /// hosts of the built API and token URLs against their configured hosts, before any credential
    /// can be sent.
    pub fn new(config: BcConfig) -> Result<BcClient, BcError> {
        use shopsync_domain::patterns::{is_bc_environment, is_bc_tenant, is_guid, template_host};
        if !is_bc_tenant(&config.tenant) {
            return Err(BcError::Config(
                "the tenant must be the Entra tenant's GUID or domain name".into(),
            ));
        }
        if !is_bc_environment(&config.environment) {
            return Err(BcError::Config(
                "the environment must be 1 to 30 of A-Z, a-z, 0-9, '_', '-'".into(),
            ));
        }
        if !is_guid(&config.company_id) {
            return Err(BcError::Config("the company id must be a GUID".into()));
        }
        if config.client_id.trim().is_empty() {
            return Err(BcError::Config("client_id must be set".into()));
        }
        let api_origin = parse_http_url("api_base_url", &config.api_base_url)?;
        let token_url = parse_http_url("token URL", &config.token_url())?;
        let token_host = template_host(
            &config.token_url_template,
            &[("{tenant}", &encode_component(&config.tenant))],
        );
        if token_host.as_deref() != token_url.host_str() {
            return Err(BcError::Config(format!(
                "the token URL for this tenant would go to {:?}, not {token_host:?}; refusing to send the client secret",
                token_url.host_str().unwrap_or("")
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| BcError::Config(format!("HTTP client: {e}")))?;
        let permits = Arc::new(Semaphore::new(config.max_concurrency.max(1)));
        let tokens = TokenSource::new(&config);
        Ok(BcClient {
            inner: Arc::new(Inner {
                config,
                api_origin,
                http,
                tokens,
                permits,
            }),
        })
    }

    pub fn config(&self) -> &BcConfig {
        &self.inner.config
    }

    /// Access tokens this client (and its clones) fetched so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.inner.tokens.fetched()
    }

    /// `{base}/v2.0/{tenant}/{environment}`.
    fn environment_root(&self) -> String {
        let c = &self.inner.config;
        format!(
            "{}/v2.0/{}/{}",
            c.api_base_url.trim_end_matches('/'),
            encode_component(&c.tenant),
            encode_component(&c.environment)
        )
    }

    /// `{base}/v2.0/{tenant}/{environment}/api/v2.0`.
    pub fn api_root(&self) -> String {
        format!("{}/api/v2.0", self.environment_root())
    }

    /// `{api root}/companies({company_id})/{path}`, e.g. `company_url("items")`.
    pub fn company_url(&self, path: &str) -> String {
        format!(
            "{}/companies({})/{}",
            self.api_root(),
            encode_component(&self.inner.config.company_id),
            path
        )
    }

    /// `{base}/v2.0/{tenant}/{environment}/ODataV4/Company('{company_name}')/{page}`.
    pub fn odata_page_url(&self, company_name: &str, page: &str) -> String {
        format!(
            "{}/ODataV4/{}/{}",
            self.environment_root(),
            encode_component(&format!(
                "Company({})",
                crate::urls::odata_string(company_name)
            )),
            encode_component(page)
        )
    }

    /// One BC request with token, concurrency limit, 401 refresh and retries. Non-success answers come
    /// back as [`BcError`].
    pub async fn execute(
        &self,
        method: Method,
        url: &str,
        headers: &[(&'static str, String)],
        body: Option<&Value>,
    ) -> Result<BcResponse, BcError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| BcError::Config(format!("request body: {e}")))?;
        let resend = if method == Method::GET {
            Resend::Safe
        } else {
            Resend::NotProcessedOnly
        };
        self.send(method, url, headers, body.as_deref(), resend)
            .await
    }

    /// [`BcClient::execute`] with a JSON body already encoded (so that decimals can be written as
    /// number literals with exactly their digits) and an explicit resend policy.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&'static str, String)],
        body: Option<&[u8]>,
        resend: Resend,
    ) -> Result<BcResponse, BcError> {
        let inner = &self.inner;
        // The URL may come from an answer (`@odata.nextLink`): the token goes to the API's origin only.
        let target =
            reqwest::Url::parse(url).map_err(|e| BcError::Config(format!("bad URL: {e}")))?;
        if target.origin() != inner.api_origin.origin()
            || !target.username().is_empty()
            || target.password().is_some()
        {
            return Err(BcError::Config(format!(
                "refusing to send the BC token to {:?}: not the configured API host",
                target.host_str().unwrap_or("")
            )));
        }
        let mut attempt: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            let token = inner.tokens.get(&inner.http).await?;
            let mut req = inner.http.request(method.clone(), url).bearer_auth(&token);
            if method == Method::GET {
                req = req.header("Data-Access-Intent", "ReadOnly");
            }
            for (name, value) in headers {
                req = req.header(
                    *name,
                    HeaderValue::from_str(value)
                        .map_err(|e| BcError::Config(format!("header {name}: {e}")))?,
                );
            }
            if let Some(b) = body {
                // JSON unless the caller names another type (picture content is a byte stream).
                if !headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                {
                    req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
                }
                req = req.body(b.to_vec());
            }
            let outcome = {
                let _permit = inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| BcError::Config("client closed".into()))?;
                match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let headers = resp.headers().clone();
                        match resp.bytes().await {
                            Ok(b) => Ok(BcResponse {
                                status,
                                headers,
                                body: b.to_vec(),
                            }),
                            Err(e) => Err(BcError::Transport {
                                message: format!("reading answer: {e}"),
                                outcome_unknown: true,
                            }),
                        }
                    }
                    Err(e) => Err(BcError::Transport {
                        message: e.to_string(),
                        outcome_unknown: !e.is_connect(),
                    }),
                }
            };
            let err = match outcome {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
                Ok(resp) if resp.status == 401 && !refreshed_after_401 => {
                    tracing::debug!(%url, "BC answered 401; refreshing the token once");
                    refreshed_after_401 = true;
                    inner.tokens.invalidate(&token).await;
                    continue;
                }
                Ok(resp) => BcError::from_response(
                    resp.status,
                    parse_retry_after(&resp.headers),
                    &resp.body,
                ),
                Err(e) => e,
            };
            if attempt >= inner.config.max_retries || !should_retry(resend, &err) {
                return Err(err);
            }
            let wait = delay(attempt, err.retry_after());
            tracing::debug!(%method, %url, attempt, ?wait, error = %err, "retrying BC request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    pub(crate) fn page_headers(&self) -> Vec<(&'static str, String)> {
        match self.inner.config.page_size {
            Some(n) => vec![("Prefer", format!("odata.maxpagesize={n}"))],
            None => Vec::new(),
        }
    }

    /// GET one JSON document (an entity, or one page).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, BcError> {
        self.execute(Method::GET, url, &[], None).await?.json()
    }

    /// GET a collection, following `@odata.nextLink` until absent, and hand each page to `on_page` (for
    /// reads too large to hold at once).
    pub async fn for_each_page<T, F>(&self, url: &str, mut on_page: F) -> Result<(), BcError>
    where
        T: DeserializeOwned,
        F: FnMut(Vec<T>) -> Result<(), BcError>,
    {
        let headers = self.page_headers();
        let mut next = Some(url.to_string());
        let mut seen = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if !seen.insert(url.clone()) {
                return Err(BcError::Decode {
                    message: format!("@odata.nextLink repeats {url}"),
                });
            }
            let page: ODataPage<T> = self
                .execute(Method::GET, &url, &headers, None)
                .await?
                .json()?;
            next = match page.next_link {
                Some(link) => Some(
                    reqwest::Url::parse(&url)
                        .and_then(|base| base.join(&link))
                        .map_err(|e| BcError::Decode {
                            message: format!("bad @odata.nextLink {link:?}: {e}"),
                        })?
                        .to_string(),
                ),
                None => None,
            };
            on_page(page.value)?;
        }
        Ok(())
    }

    /// GET a whole collection (all pages).
    pub async fn get_collection<T: DeserializeOwned>(&self, url: &str) -> Result<Vec<T>, BcError> {
        let mut all = Vec::new();
        self.for_each_page(url, |page: Vec<T>| {
            all.extend(page);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// PATCH with `If-Match: etag` (`"*"` overwrites unconditionally). A stale ETag is
    /// [`BcError::EntityChanged`]; the caller re-reads and decides.
    pub async fn patch_json<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        etag: &str,
        body: &B,
    ) -> Result<Patched<T>, BcError> {
        let body = serde_json::to_value(body)
            .map_err(|e| BcError::Config(format!("request body: {e}")))?;
        let resp = self
            .execute(
                Method::PATCH,
                url,
                &[("If-Match", etag.to_string())],
                Some(&body),
            )
            .await?;
        Ok(Patched {
            entity: resp.json()?,
            etag: resp.etag(),
        })
    }

    /// POST a JSON body and read the created entity. Not resent when the outcome is unknown: the caller
    /// looks the record up (e.g. by `externalDocumentNumber`) before trying again.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, BcError> {
        let body = serde_json::to_value(body)
            .map_err(|e| BcError::Config(format!("request body: {e}")))?;
        self.execute(Method::POST, url, &[], Some(&body))
            .await?
            .json()
    }

    /// The companies of the environment.
    pub async fn companies(&self) -> Result<Vec<BcCompany>, BcError> {
        self.get_collection(&format!("{}/companies", self.api_root()))
            .await
    }
}
