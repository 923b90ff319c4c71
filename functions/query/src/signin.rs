//! Browser sign-in to the dashboard on AWS: the identity provider's hosted sign-in (Cognito's
//! hosted UI; OAuth 2.0 authorization code with PKCE) returns to `/dashboard/callback`, which
//! exchanges the code for an ID token, verifies it ([`crate::id_token`]) and stores it in the
//! session cookie `vitals serve` uses. A dashboard page opened without a valid session
//! redirects to the sign-in; `/dashboard/logout` also ends the provider's session.
//!
//! Configured by `VITALS_SIGN_IN_URL` (the hosted UI's base URL: `/oauth2/authorize`,
//! `/oauth2/token` and `/logout` below it), `VITALS_JWT_ISSUER` (keys at
//! `{issuer}/.well-known/jwks.json`, fetched once per instance), `VITALS_JWT_AUDIENCE` (the app
//! client id) and `VITALS_PUBLIC_URL` (the callback is `{public URL}/dashboard/callback`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use vitals_core::config::AuthConfig;
use vitals_http::authn::{principal_from_claims, session_cookie, AuthError, TOKEN_COOKIE};

use crate::id_token::{IdTokenRules, SigningKeys};

/// Cookie holding a started sign-in's state, PKCE verifier and page to return to.
const FLOW_COOKIE: &str = "vitals_signin";
/// A started sign-in must come back within this many seconds.
const FLOW_MAX_AGE_SECS: u32 = 600;

/// The hosted sign-in's settings and the issuer's keys, once fetched.
pub struct SignIn {
    rules: IdTokenRules,
    sign_in_url: String,
    jwks_url: String,
    public_url: Option<String>,
    auth: AuthConfig,
    keys: OnceCell<SigningKeys>,
    http: reqwest::Client,
}

/// Why the sign-in could not complete (shown on the page; no secrets in them).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("could not reach the identity provider: {0}")]
    Unreachable(String),
    #[error("the identity provider answered {0}")]
    Refused(String),
    #[error("the identity provider's keys are unusable: {0}")]
    Keys(#[from] crate::id_token::KeysError),
}

impl SignIn {
    /// `None` unless `VITALS_SIGN_IN_URL`, `VITALS_JWT_ISSUER` and `VITALS_JWT_AUDIENCE` are set.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, auth: AuthConfig) -> Option<Self> {
        let non_empty = |name: &str| {
            get(name)
                .map(|v| v.trim().trim_end_matches('/').to_string())
                .filter(|v| !v.is_empty())
        };
        let issuer = non_empty("VITALS_JWT_ISSUER")?;
        let client_id = non_empty("VITALS_JWT_AUDIENCE")?
            .split(',')
            .next()?
            .trim()
            .to_string();
        Some(SignIn {
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            rules: IdTokenRules { issuer, client_id },
            sign_in_url: non_empty("VITALS_SIGN_IN_URL")?,
            public_url: non_empty("VITALS_PUBLIC_URL"),
            auth,
            keys: OnceCell::new(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .ok()?,
        })
    }

    /// The claims of a valid ID token. Needs the keys loaded ([`SignIn::load_keys`]); before
    /// that every token is refused.
    pub fn verify(&self, token: &str) -> Result<HashMap<String, String>, AuthError> {
        let keys = self.keys.get().ok_or(AuthError::Invalid)?;
        self.rules
            .verify(keys, token, chrono::Utc::now().timestamp())
    }

    /// Fetches the issuer's JWKS the first time (one fetch per Lambda instance).
    pub async fn load_keys(&self) -> Result<&SigningKeys, SignInError> {
        self.keys
            .get_or_try_init(|| async {
                let response = self
                    .http
                    .get(&self.jwks_url)
                    .send()
                    .await
                    .map_err(|e| SignInError::Unreachable(e.to_string()))?;
                if !response.status().is_success() {
                    return Err(SignInError::Refused(format!(
                        "{} for its keys",
                        response.status()
                    )));
                }
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| SignInError::Unreachable(e.to_string()))?;
                Ok(SigningKeys::from_jwks(&body)?)
            })
            .await
    }

    /// Where the provider sends the browser back; the request's host when no public URL is set.
    fn callback_url(&self, headers: &HeaderMap) -> String {
        format!("{}/dashboard/callback", self.base_url(headers))
    }

    fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("https://{host}")
    }

    fn secure(&self, headers: &HeaderMap) -> bool {
        self.base_url(headers).starts_with("https://")
    }

    /// Exchanges an authorization code for the ID token.
    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        callback: &str,
    ) -> Result<String, SignInError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.rules.client_id.as_str()),
            ("code", code),
            ("redirect_uri", callback),
            ("code_verifier", verifier),
        ];
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.sign_in_url))
            .form(&form)
            .send()
            .await
            .map_err(|e| SignInError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        match body.get("id_token").and_then(|t| t.as_str()) {
            Some(token) if status.is_success() => Ok(token.to_string()),
            _ => Err(SignInError::Refused(format!(
                "{status} to the sign-in code ({})",
                body.get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("no ID token")
            ))),
        }
    }
}

/// `/dashboard/signin` and `/dashboard/callback`.
pub fn routes(sign_in: Arc<SignIn>) -> Router {
    Router::new()
        .route("/dashboard/signin", get(start))
        .route("/dashboard/callback", get(callback))
        .with_state(sign_in)
}

/// Sends the browser to the hosted sign-in, remembering the state, verifier and page.
async fn start(
    State(sign_in): State<Arc<SignIn>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let then = params
        .get("then")
        .map(String::as_str)
        .filter(|t| is_dashboard_path(t))
        .unwrap_or("/dashboard");
    let (Some(state), Some(verifier)) = (random_text(16), random_text(32)) else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "No randomness available; try again.",
        );
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", sign_in.rules.client_id.as_str()),
        ("redirect_uri", sign_in.callback_url(&headers).as_str()),
        ("scope", "openid email profile"),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let flow = format!(
        "{FLOW_COOKIE}={state}.{verifier}.{}; Path=/dashboard/callback; Max-Age={FLOW_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        URL_SAFE_NO_PAD.encode(then),
        if sign_in.secure(&headers) { "; Secure" } else { "" }
    );
    let mut response =
        Redirect::to(&format!("{}/oauth2/authorize?{query}", sign_in.sign_in_url)).into_response();
    if let Ok(value) = HeaderValue::from_str(&flow) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The provider's redirect back: checks the state, exchanges the code, verifies the ID token
/// and signs the browser in with it.
async fn callback(
    State(sign_in): State<Arc<SignIn>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(error) = params.get("error") {
        let detail = params.get("error_description").unwrap_or(error);
        return page(
            StatusCode::UNAUTHORIZED,
            &format!("The sign-in was not completed: {detail}"),
        );
    }
    let flow = cookie(&headers, FLOW_COOKIE).and_then(|v| {
        let mut parts = v.splitn(3, '.');
        Some((parts.next()?, parts.next()?, parts.next()?))
    });
    let (Some((state, verifier, then)), Some(code)) = (flow, params.get("code")) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in expired or was started in another browser.",
        );
    };
    if params.get("state").map(String::as_str) != Some(state) {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in expired or was started in another browser.",
        );
    }
    let then = URL_SAFE_NO_PAD
        .decode(then)
        .ok()
        .and_then(|t| String::from_utf8(t).ok())
        .filter(|t| is_dashboard_path(t))
        .unwrap_or_else(|| "/dashboard".into());
    let callback_url = sign_in.callback_url(&headers);
    let token = match sign_in.exchange(code, verifier, &callback_url).await {
        Ok(token) => token,
        Err(e) => return failure(e),
    };
    if let Err(e) = sign_in.load_keys().await {
        return failure(e);
    }
    let principal = sign_in
        .verify(&token)
        .and_then(|claims| principal_from_claims(&claims, &sign_in.auth));
    if let Err(e) = principal {
        return match e {
            AuthError::NoRole => page(
                StatusCode::FORBIDDEN,
                "Your account has no Vitals role: ask an administrator to add you to one of the groups admin, csm, account_executive or readonly.",
            ),
            e => page(
                StatusCode::UNAUTHORIZED,
                &format!("The identity provider's token was refused: {e}."),
            ),
        };
    }
    let Some(session) = session_cookie(&token, sign_in.secure(&headers)) else {
        return page(StatusCode::UNAUTHORIZED, "The token cannot be stored.");
    };
    let mut response = Redirect::to(&then).into_response();
    let headers_out = response.headers_mut();
    headers_out.append(header::SET_COOKIE, session);
    headers_out.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "vitals_signin=; Path=/dashboard/callback; Max-Age=0; HttpOnly; SameSite=Lax",
        ),
    );
    response
}

/// Wraps the query router: fetches the issuer's keys before the first request that carries a
/// token without the authorizer's claims, sends a browser that opens a dashboard page without a
/// valid session to the sign-in, and ends the provider's session on `/dashboard/logout`.
pub async fn browser_sessions(
    State(sign_in): State<Arc<SignIn>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let is_get = request.method() == http::Method::GET;
    if is_get && path == "/dashboard/logout" {
        return logout(&sign_in, request.headers());
    }
    let (parts, body) = request.into_parts();
    let carries_token = parts.headers.contains_key(header::AUTHORIZATION)
        || cookie(&parts.headers, TOKEN_COOKIE).is_some();
    if carries_token && crate::authn::authorizer_claims(&parts).is_none() {
        if let Err(e) = sign_in.load_keys().await {
            tracing::error!(error = %e, "could not load the identity provider's keys");
        }
    }
    let page_url = parts.uri.path_and_query().map(|p| p.to_string());
    let response = next.run(Request::from_parts(parts, body)).await;
    let is_page = is_dashboard_path(&path)
        && !matches!(path.as_str(), "/dashboard/signin" | "/dashboard/callback");
    if is_get && is_page && response.status() == StatusCode::UNAUTHORIZED {
        let then = page_url.unwrap_or_else(|| "/dashboard".into());
        let query = serde_urlencoded::to_string([("then", then)]).unwrap_or_default();
        return Redirect::to(&format!("/dashboard/signin?{query}")).into_response();
    }
    response
}

/// Clears the session and signs out of the provider, which returns to the dashboard.
fn logout(sign_in: &SignIn, headers: &HeaderMap) -> Response {
    let query = serde_urlencoded::to_string([
        ("client_id", sign_in.rules.client_id.clone()),
        (
            "logout_uri",
            format!("{}/dashboard", sign_in.base_url(headers)),
        ),
    ])
    .unwrap_or_default();
    let mut response =
        Redirect::to(&format!("{}/logout?{query}", sign_in.sign_in_url)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vitals_token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    response
}

fn failure(e: SignInError) -> Response {
    tracing::warn!(error = %e, "dashboard sign-in failed");
    let status = match e {
        SignInError::Refused(_) => StatusCode::UNAUTHORIZED,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    page(status, &format!("The sign-in failed: {e}."))
}

/// A path of the dashboard on this site (no other host: `//evil.example` is refused).
fn is_dashboard_path(path: &str) -> bool {
    (path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/dashboard?"))
        && !path.contains("//")
        && !path.contains('\\')
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn random_text(bytes: usize) -> Option<String> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buffer).ok()?;
    Some(URL_SAFE_NO_PAD.encode(buffer))
}

/// A plain page for the sign-in's outcomes, with a way to start again.
fn page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vitals sign-in</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto\">\
         <h1>Sign in</h1><p>{}</p><p><a href=\"/dashboard/signin\">Sign in again</a></p></body></html>",
        escape(message)
    );
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_returns_only_to_dashboard_pages_of_this_site() {
        for ok in [
            "/dashboard",
            "/dashboard/accounts?band=at_risk",
            "/dashboard?x=1",
        ] {
            assert!(is_dashboard_path(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/dashboard",
            "//evil.example/dashboard",
            "/dashboard//evil.example",
            "/dashboard\\@evil.example",
            "/dashboardx",
            "/v1/config",
        ] {
            assert!(!is_dashboard_path(bad), "{bad}");
        }
    }
}
