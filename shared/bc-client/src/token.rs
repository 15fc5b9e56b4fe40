//! OAuth2 client-credentials token, cached and shared by all clones of a client. Refreshed ahead of
//! expiry (5 minutes, or a tenth of the lifetime for short-lived tokens) so requests rarely meet an
//! expired token; the refresh is single-flight — the cache lock is held while fetching, so concurrent
//! callers wait for one token instead of each asking Entra.

use crate::config::BcConfig;
use crate::error::BcError;
use crate::retry::{delay, parse_retry_after};
use crate::wire::{TokenAnswer, decode_as};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Clone)]
struct Cached {
    value: String,
    refresh_at: Instant,
}

pub(crate) struct TokenSource {
    url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    max_retries: u32,
    cached: Mutex<Option<Cached>>,
    fetched: AtomicU64,
}

impl TokenSource {
    pub(crate) fn new(config: &BcConfig) -> TokenSource {
        TokenSource {
            url: config.token_url(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            scope: config.scope.clone(),
            max_retries: config.max_retries,
            cached: Mutex::new(None),
            fetched: AtomicU64::new(0),
        }
    }

    /// Tokens fetched from the token endpoint so far.
    pub(crate) fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// A valid token, fetching one if none is cached or it is due for refresh.
    pub(crate) async fn get(&self, http: &reqwest::Client) -> Result<String, BcError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.value.clone());
        }
        let fresh = self.fetch(http).await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// BC rejected `stale`: drop it unless someone already replaced it.
    pub(crate) async fn invalidate(&self, stale: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.value == stale) {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Cached, BcError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("scope", self.scope.as_str()),
        ];
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let err = match http.post(&self.url).form(&form).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = parse_retry_after(resp.headers());
                    match resp.bytes().await {
                        Ok(body) if (200..300).contains(&status) => {
                            let answer: TokenAnswer = decode_as("token answer", &body)?;
                            self.fetched.fetch_add(1, Ordering::Relaxed);
                            let lifetime = Duration::from_secs(answer.expires_in);
                            let margin = REFRESH_MARGIN.min(lifetime / 10);
                            tracing::debug!(client_id = %self.client_id, expires_in = answer.expires_in, "BC token fetched");
                            return Ok(Cached {
                                value: answer.access_token,
                                refresh_at: started + lifetime - margin,
                            });
                        }
                        Ok(body) => BcError::from_token_response(status, retry_after, &body),
                        Err(e) => BcError::Transport {
                            message: format!("token endpoint: {e}"),
                            outcome_unknown: true,
                        },
                    }
                }
                Err(e) => BcError::Transport {
                    message: format!("token endpoint: {e}"),
                    outcome_unknown: !e.is_connect(),
                },
            };
            // Asking for a token has no side effect, so every transient failure may be retried.
            if !err.is_retryable() || attempt >= self.max_retries {
                tracing::warn!(client_id = %self.client_id, error = %err, "BC token request failed");
                return Err(err);
            }
            tokio::time::sleep(delay(attempt, err.retry_after())).await;
            attempt += 1;
        }
    }
}
