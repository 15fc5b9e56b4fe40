//! A token issuer for running the API without an identity provider: the local demo and the tests sign
//! their own tokens with a fresh RSA key and hand the API its public half as an inline JWKS
//! (`JWT_JWKS`). Nothing here is used in the cloud, where tokens come from the deployment's identity
//! provider; the key lives only in memory, so there is no secret to keep.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use std::sync::Arc;

/// Issuer and audience the local stack uses.
pub const LOCAL_ISSUER: &str = "https://shopsync.local/issuer";
pub const LOCAL_AUDIENCE: &str = "shopsync-api";

/// Signs RS256 tokens with an in-memory key.
#[derive(Clone)]
pub struct LocalIssuer {
    key: Arc<KeyPair>,
    kid: String,
    pub issuer: String,
    pub audience: String,
}

impl LocalIssuer {
    /// A fresh 2048-bit key.
    pub fn generate() -> LocalIssuer {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        // Round-trip through PKCS#8 so the key is in the form a signer loads.
        let der = key.as_der().expect("PKCS#8 encoding");
        let key = KeyPair::from_pkcs8(der.as_ref()).expect("PKCS#8 decoding");
        LocalIssuer {
            key: Arc::new(key),
            kid: format!("local-{}", uuid::Uuid::new_v4().simple()),
            issuer: LOCAL_ISSUER.to_string(),
            audience: LOCAL_AUDIENCE.to_string(),
        }
    }

    /// The public key set, as the API's `JWT_JWKS` expects it.
    pub fn jwks(&self) -> String {
        let parts: PublicKeyComponents<Vec<u8>> = self.key.public_key().into();
        json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": B64.encode(&parts.n),
            "e": B64.encode(&parts.e),
        }]})
        .to_string()
    }

    /// A token for `shops` (and the admin scope if `admin`), valid for `ttl_secs` from now.
    pub fn token(&self, subject: &str, shops: &[&str], admin: bool, ttl_secs: i64) -> String {
        let now = shopsync_domain::time::now_secs();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + ttl_secs,
            "shops": shops,
        });
        if admin {
            claims["scope"] = Value::from(crate::auth::ADMIN_SCOPE);
        }
        self.sign(&claims)
    }

    /// Sign arbitrary claims (tests use it for expired, foreign or malformed tokens).
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{signing_input}.{}", B64.encode(signature))
    }
}
