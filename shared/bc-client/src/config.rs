//! Where the client talks to and as whom. Every URL is configuration so the same binary runs against BC
//! online (the defaults) or the simulator; the client secret is kept out of `Debug` output because
//! configs end up in logs and panics.

use std::fmt;

pub const DEFAULT_API_BASE_URL: &str = "https://api.businesscentral.dynamics.com";
pub const DEFAULT_TOKEN_URL_TEMPLATE: &str =
    "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token";
pub const DEFAULT_SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

#[derive(Clone)]
pub struct BcConfig {
    /// Scheme and host; the API lives at `{api_base_url}/v2.0/{tenant}/{environment}/api/v2.0`.
    pub api_base_url: String,
    /// Entra token endpoint; `{tenant}` is replaced by `tenant`.
    pub token_url_template: String,
    pub tenant: String,
    pub environment: String,
    /// GUID of the BC company (API v2.0 addresses companies by id).
    pub company_id: String,
    pub client_id: String,
    /// Never logged; redacted in `Debug`.
    pub client_secret: String,
    pub scope: String,
    /// Requests in flight at once across all clones of one client (BC online allows 5 per principal).
    pub max_concurrency: usize,
    /// Retries of one request after a retryable failure (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Sent as `Prefer: odata.maxpagesize=N` when set; otherwise BC's server page size applies.
    pub page_size: Option<usize>,
}

impl BcConfig {
    /// A config for BC online with the documented defaults.
    pub fn new(
        tenant: impl Into<String>,
        environment: impl Into<String>,
        company_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> BcConfig {
        BcConfig {
            api_base_url: DEFAULT_API_BASE_URL.to_string(),
            token_url_template: DEFAULT_TOKEN_URL_TEMPLATE.to_string(),
            tenant: tenant.into(),
            environment: environment.into(),
            company_id: company_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: DEFAULT_SCOPE.to_string(),
            max_concurrency: 5,
            max_retries: 5,
            page_size: None,
        }
    }

    /// Point the client at other endpoints (a simulator, a proxy, a sovereign cloud).
    pub fn with_endpoints(
        mut self,
        api_base_url: impl Into<String>,
        token_url_template: impl Into<String>,
    ) -> BcConfig {
        self.api_base_url = api_base_url.into();
        self.token_url_template = token_url_template.into();
        self
    }

    /// The token endpoint for this tenant (the tenant percent-encoded).
    pub fn token_url(&self) -> String {
        self.token_url_template
            .replace("{tenant}", &crate::urls::encode_component(&self.tenant))
    }
}

impl fmt::Debug for BcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BcConfig")
            .field("api_base_url", &self.api_base_url)
            .field("token_url_template", &self.token_url_template)
            .field("tenant", &self.tenant)
            .field("environment", &self.environment)
            .field("company_id", &self.company_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_retries", &self.max_retries)
            .field("page_size", &self.page_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret() {
        let c = BcConfig::new("t", "production", "c", "id", "s3cr3t-value");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn token_url_from_template() {
        let c = BcConfig::new("contoso.onmicrosoft.com", "production", "c", "id", "s");
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }
}
