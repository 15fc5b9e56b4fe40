//! The Entra ID side: registered confidential clients, the client-credentials token endpoint and bearer
//! token validation on API calls. Tokens are opaque here (BC never asks the client to read them) but
//! expire like real ones, so token caching and refresh are observable.

use crate::respond::entra_error;
use crate::text::parse_pairs;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) const BC_SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

struct Token {
    tenant: String,
    client_id: String,
    expires_at: Instant,
}

#[derive(Default)]
pub(crate) struct AuthState {
    /// (tenant, client id) → secret.
    clients: HashMap<(String, String), String>,
    tokens: HashMap<String, Token>,
}

/// Who is calling, from a valid bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub tenant: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Invalid,
    Expired,
    WrongTenant,
}

/// Outcome of a token request: the response and whether a token was issued.
pub(crate) struct TokenOutcome {
    pub response: Response,
    pub issued: bool,
}

impl AuthState {
    pub(crate) fn add_client(&mut self, tenant: &str, client_id: &str, secret: &str) {
        self.clients.insert(
            (tenant.to_string(), client_id.to_string()),
            secret.to_string(),
        );
    }

    /// Invalidate every token (as a secret rotation or an admin revoke would).
    pub(crate) fn revoke_all(&mut self) {
        self.tokens.clear();
    }

    pub(crate) fn check(
        &self,
        authorization: Option<&str>,
        tenant: &str,
    ) -> Result<Caller, TokenProblem> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(TokenProblem::Missing)?;
        let t = self.tokens.get(token).ok_or(TokenProblem::Invalid)?;
        if Instant::now() >= t.expires_at {
            return Err(TokenProblem::Expired);
        }
        if !t.tenant.eq_ignore_ascii_case(tenant) {
            return Err(TokenProblem::WrongTenant);
        }
        Ok(Caller {
            tenant: t.tenant.clone(),
            client_id: t.client_id.clone(),
        })
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with a form body.
    pub(crate) fn token_request(
        &mut self,
        tenant: &str,
        body: &[u8],
        ttl: Duration,
    ) -> TokenOutcome {
        let form: HashMap<String, String> = parse_pairs(&String::from_utf8_lossy(body))
            .into_iter()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let fail = |status, error, description: String, code| TokenOutcome {
            response: entra_error(status, error, &description, code),
            issued: false,
        };
        if field("grant_type") != "client_credentials" {
            return fail(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "AADSTS70003: The app requested an unsupported grant type '{}'.",
                    field("grant_type")
                ),
                70003,
            );
        }
        if !self.clients.keys().any(|(t, _)| t == tenant) {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."
                ),
                90002,
            );
        }
        let client_id = field("client_id");
        let Some(secret) = self
            .clients
            .get(&(tenant.to_string(), client_id.to_string()))
        else {
            return fail(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                format!(
                    "AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{tenant}'."
                ),
                700016,
            );
        };
        if secret != field("client_secret") {
            return fail(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                format!(
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
                7000215,
            );
        }
        if field("scope") != BC_SCOPE {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                format!(
                    "AADSTS1002012: The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                    field("scope")
                ),
                1002012,
            );
        }
        let now = Instant::now();
        self.tokens.retain(|_, t| t.expires_at > now);
        let token = format!(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}.{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(
            token.clone(),
            Token {
                tenant: tenant.to_string(),
                client_id: client_id.to_string(),
                expires_at: now + ttl,
            },
        );
        let expires_in = ttl.as_secs().saturating_sub(1).max(1);
        let body = json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token});
        TokenOutcome {
            response: (StatusCode::OK, axum::Json(body)).into_response(),
            issued: true,
        }
    }
}
