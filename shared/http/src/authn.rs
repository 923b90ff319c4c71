//! Who is calling the query API: an [`Authenticator`] turns a request's credentials into a
//! [`Principal`] (user + role). Two implementations sit behind the trait: [`LocalTokens`]
//! verifies HS256 JWTs signed with the data directory's secret (`vitals serve`, minted by
//! `vitals token`), and the query Lambda's adapter (in `functions/query`) reads the claims API
//! Gateway's JWT authorizer already validated, through [`principal_from_claims`]. This crate
//! stays Lambda-agnostic: the trait sees only `http` request parts.
//!
//! Credentials come from `Authorization: Bearer <token>` or, for the browser dashboard, the
//! `vitals_token` cookie set by `/dashboard?token=…`.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use vitals_core::config::AuthConfig;
pub use vitals_core::query::{Principal, Role};

/// Name of the dashboard's session cookie.
pub const TOKEN_COOKIE: &str = "vitals_token";

/// How long the browser keeps the session cookie; the token's own expiry still applies.
pub const COOKIE_MAX_AGE_SECS: u32 = 30 * 24 * 3600;

/// The `Set-Cookie` value that signs a browser in with `token` (`HttpOnly`, `SameSite=Lax`,
/// scoped to `/`; `Secure` when served over HTTPS). `None` if the token cannot be a cookie.
/// Used by the dashboard's `?token=` sign-in and the query Lambda's hosted sign-in callback.
pub fn session_cookie(token: &str, secure: bool) -> Option<http::HeaderValue> {
    let cookie = format!(
        "{TOKEN_COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    http::HeaderValue::from_str(&cookie).ok()
}

/// Why a request carries no usable identity. Messages are safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: send Authorization: Bearer <token>")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token carries no known role (csm, ae, lead, admin, read-only)")]
    NoRole,
}

/// Turns a request into the calling principal.
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Principal, AuthError>;
}

/// Refuses everyone: for routers that serve no query routes (the ingest Lambda), and when the
/// token secret could not be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl Authenticator for DenyAll {
    fn authenticate(&self, _parts: &http::request::Parts) -> Result<Principal, AuthError> {
        Err(AuthError::Invalid)
    }
}

/// The bearer token of a request: the `Authorization` header, else (for GET and HEAD only, so a
/// cookie can never authorise a change from another site) the dashboard cookie.
pub fn bearer_token(parts: &http::request::Parts) -> Option<&str> {
    if let Some(value) = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
            .filter(|t| !t.is_empty());
    }
    if parts.method != http::Method::GET && parts.method != http::Method::HEAD {
        return None;
    }
    cookie_token(parts)
}

/// The dashboard cookie's token, whatever the method: a dashboard form post uses it only
/// together with the session's CSRF token.
pub fn cookie_token(parts: &http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|t| !t.is_empty())
}

/// The claims of a local token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The user (email).
    pub sub: String,
    pub role: Role,
    /// Issued at, epoch seconds.
    pub iat: i64,
    /// Expires at, epoch seconds.
    pub exp: i64,
    pub iss: String,
}

/// Issuer of local tokens.
pub const LOCAL_ISSUER: &str = "vitals-local";

type HmacSha256 = Hmac<Sha256>;

/// HS256 JWTs signed with a local secret (`DATA/token-secret`).
pub struct LocalTokens {
    /// HMAC keyed with the secret, cloned per token.
    mac: HmacSha256,
    admin_emails: AuthConfig,
}

impl std::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTokens").finish_non_exhaustive()
    }
}

/// Secrets shorter than this are refused (HS256 wants at least 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

impl LocalTokens {
    /// `None` if the secret is too short to be safe.
    pub fn new(secret: impl Into<Vec<u8>>, auth: &AuthConfig) -> Option<Self> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_BYTES {
            return None;
        }
        Some(LocalTokens {
            mac: HmacSha256::new_from_slice(&secret).ok()?,
            admin_emails: auth.clone(),
        })
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// Mints a token for `user` with `role`, valid from `now` for `ttl`.
    pub fn mint(
        &self,
        user: &str,
        role: Role,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = TokenClaims {
            sub: user.to_string(),
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            iss: LOCAL_ISSUER.to_string(),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Verifies signature (constant time), algorithm, issuer and expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Invalid);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Invalid)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| AuthError::Invalid)?;
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(AuthError::Invalid)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(AuthError::Invalid);
        }
        let claims: TokenClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(AuthError::Invalid)?;
        if claims.iss != LOCAL_ISSUER || claims.sub.trim().is_empty() {
            return Err(AuthError::Invalid);
        }
        if claims.exp <= now.timestamp() {
            return Err(AuthError::Expired);
        }
        let role = if self.admin_emails.is_admin_email(&claims.sub) {
            Role::Admin
        } else {
            claims.role
        };
        Ok(Principal::new(claims.sub, role))
    }
}

impl Authenticator for LocalTokens {
    fn authenticate(&self, parts: &http::request::Parts) -> Result<Principal, AuthError> {
        let token = bearer_token(parts).ok_or(AuthError::Missing)?;
        self.verify(token, Utc::now())
    }
}

/// Reads a principal from JWT claims API Gateway already validated. The roles claim may hold
/// one role, a JSON array, or API Gateway's flattening of a list claim (`"[admin csm]"`); the
/// strongest known role wins. The user is `user_claim` (default `email`), else `sub`.
pub fn principal_from_claims(
    claims: &HashMap<String, String>,
    auth: &AuthConfig,
) -> Result<Principal, AuthError> {
    let user = claims
        .get(&auth.user_claim)
        .or_else(|| claims.get("email"))
        .or_else(|| claims.get("sub"))
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or(AuthError::Invalid)?;
    if auth.is_admin_email(&user) {
        return Ok(Principal::new(user, Role::Admin));
    }
    let raw = claims.get(&auth.roles_claim).ok_or(AuthError::NoRole)?;
    let names: Vec<String> = match serde_json::from_str::<Vec<String>>(raw) {
        Ok(list) => list,
        Err(_) => raw
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split([' ', ','])
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    let role =
        Role::strongest(names.iter().filter_map(|n| role_of_group(n))).ok_or(AuthError::NoRole)?;
    Ok(Principal::new(user, role))
}

/// A role name, or the name of a Cognito group `template.yaml` creates (`account_executive`).
fn role_of_group(name: &str) -> Option<Role> {
    if name.trim().eq_ignore_ascii_case("account_executive") {
        return Some(Role::Ae);
    }
    Role::parse(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tokens() -> LocalTokens {
        LocalTokens::new(vec![7u8; 32], &AuthConfig::default()).unwrap()
    }

    fn parts(header: (&str, &str)) -> http::request::Parts {
        let (parts, ()) = http::Request::builder()
            .header(header.0, header.1)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn a_minted_token_verifies_to_its_user_and_role() {
        let now = Utc::now();
        let t = tokens().mint("ana@example.com", Role::Csm, now, chrono::Duration::days(1));
        let p = tokens().verify(&t, now).unwrap();
        assert_eq!(p, Principal::new("ana@example.com", Role::Csm));
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let now = Utc::now();
        let t = tokens().mint("ana@example.com", Role::Csm, now, chrono::Duration::days(1));
        let other = LocalTokens::new(vec![8u8; 32], &AuthConfig::default()).unwrap();
        assert_eq!(other.verify(&t, now), Err(AuthError::Invalid));
        let mut forged: Vec<&str> = t.split('.').collect();
        let admin = URL_SAFE_NO_PAD.encode(
            br#"{"sub":"ana@example.com","role":"admin","iat":0,"exp":99999999999,"iss":"vitals-local"}"#,
        );
        forged[1] = &admin;
        assert_eq!(
            tokens().verify(&forged.join("."), now),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            tokens().verify(&t, now + chrono::Duration::days(2)),
            Err(AuthError::Expired)
        );
        assert_eq!(tokens().verify("a.b", now), Err(AuthError::Invalid));
        assert!(LocalTokens::new(vec![1u8; 8], &AuthConfig::default()).is_none());
    }

    #[test]
    fn bearer_header_or_dashboard_cookie_carries_the_token() {
        assert_eq!(
            bearer_token(&parts(("authorization", "Bearer abc"))),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&parts(("cookie", "x=1; vitals_token=abc"))),
            Some("abc")
        );
        assert_eq!(bearer_token(&parts(("authorization", "Basic abc"))), None);
        let (mut patch, ()) = http::Request::builder()
            .method("PATCH")
            .header("cookie", "vitals_token=abc")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(
            bearer_token(&patch),
            None,
            "a cookie must not authorise a change"
        );
        patch.method = http::Method::GET;
        assert_eq!(bearer_token(&patch), Some("abc"));
    }

    #[test]
    fn api_gateway_list_claims_give_the_strongest_role() {
        let auth = AuthConfig::default();
        let claims = |groups: &str| {
            HashMap::from([
                ("email".to_string(), "ana@example.com".to_string()),
                ("cognito:groups".to_string(), groups.to_string()),
            ])
        };
        assert_eq!(
            principal_from_claims(&claims("[ae csm]"), &auth)
                .unwrap()
                .role,
            Role::Csm
        );
        assert_eq!(
            principal_from_claims(&claims("[\"admin\"]"), &auth)
                .unwrap()
                .role,
            Role::Admin
        );
        assert_eq!(
            principal_from_claims(&claims("read-only"), &auth)
                .unwrap()
                .role,
            Role::ReadOnly
        );
        assert_eq!(
            principal_from_claims(&claims("[staff]"), &auth),
            Err(AuthError::NoRole)
        );
        // The groups template.yaml creates, as a Cognito ID token lists them.
        assert_eq!(
            principal_from_claims(&claims("[\"account_executive\"]"), &auth)
                .unwrap()
                .role,
            Role::Ae
        );
    }
}
