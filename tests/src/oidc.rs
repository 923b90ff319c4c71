//! A loopback identity provider shaped like Cognito's for the browser sign-in tests: it
//! publishes its signing key as a JWKS at `/.well-known/jwks.json` (so its URL is also the
//! issuer), exchanges authorization codes at `/oauth2/token` (checking the PKCE verifier), and
//! signs RS256 ID tokens with a test key (`oidc/issuer-test-key.pem`). A second key
//! (`oidc/forger-test-key.pem`) signs forgeries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ISSUER_KEY: &str = include_str!("oidc/issuer-test-key.pem");
const FORGER_KEY: &str = include_str!("oidc/forger-test-key.pem");
const KEY_ID: &str = "test-key-1";

/// The provider: its base URL (= issuer), the app client it serves, and its codes.
#[derive(Clone)]
pub struct TestIdp {
    pub url: String,
    pub client_id: String,
    issuer_key: Arc<RsaKeyPair>,
    forger_key: Arc<RsaKeyPair>,
    /// code → (PKCE challenge, ID token to hand out)
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
    jwks_fetches: Arc<AtomicUsize>,
}

fn key(pem: &str) -> RsaKeyPair {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD
        .decode(body)
        .unwrap_or_else(|e| panic!("test key: {e}"));
    RsaKeyPair::from_pkcs8(&der).unwrap_or_else(|e| panic!("test key: {e}"))
}

impl TestIdp {
    /// Starts on a free loopback port.
    pub async fn start(client_id: &str) -> TestIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind the identity provider: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("identity provider address: {e}"));
        let idp = TestIdp {
            url: format!("http://{addr}"),
            client_id: client_id.to_string(),
            issuer_key: Arc::new(key(ISSUER_KEY)),
            forger_key: Arc::new(key(FORGER_KEY)),
            codes: Arc::default(),
            jwks_fetches: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/oauth2/token", post(token))
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        idp
    }

    /// The claims of a Cognito ID token for `email` in `groups`, valid for `ttl_secs` from now
    /// (negative: already expired).
    pub fn claims(&self, email: &str, groups: &[&str], ttl_secs: i64) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "sub": format!("sub-{email}"),
            "email": email,
            "email_verified": true,
            "cognito:groups": groups,
            "cognito:username": format!("sub-{email}"),
            "iss": self.url,
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + ttl_secs,
        })
    }

    /// `claims` signed with the provider's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign_with(&self.issuer_key, claims)
    }

    /// `claims` signed with a key the provider never published.
    pub fn forge(&self, claims: &Value) -> String {
        sign_with(&self.forger_key, claims)
    }

    /// Registers an authorization code for the sign-in started with `challenge` (PKCE S256),
    /// which the token endpoint exchanges for `id_token`.
    pub fn issue_code(&self, challenge: &str, id_token: String) -> String {
        let code = format!("code-{}", uuid_like());
        self.codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(code.clone(), (challenge.to_string(), id_token));
        code
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

fn uuid_like() -> String {
    format!("{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes)
        .unwrap_or_else(|e| panic!("randomness: {e}"));
    u128::from_le_bytes(bytes)
}

fn sign_with(key: &RsaKeyPair, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": KEY_ID}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .unwrap_or_else(|e| panic!("sign: {e}"));
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn jwks(State(idp): State<TestIdp>) -> Json<Value> {
    idp.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(idp.issuer_key.public());
    Json(json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID,
        "n": URL_SAFE_NO_PAD.encode(&public.n),
        "e": URL_SAFE_NO_PAD.encode(&public.e),
    }]}))
}

/// The authorization code grant as Cognito's `/oauth2/token` answers it.
async fn token(State(idp): State<TestIdp>, body: String) -> (StatusCode, Json<Value>) {
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let refused = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": error})));
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("client_id") != Some(&idp.client_id)
    {
        return refused("invalid_client");
    }
    let issued = form.get("code").and_then(|code| {
        idp.codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(code)
    });
    let Some((challenge, id_token)) = issued else {
        return refused("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refused("invalid_grant");
    }
    (
        StatusCode::OK,
        Json(json!({
            "id_token": id_token,
            "access_token": "not-used",
            "token_type": "Bearer",
            "expires_in": 3600,
        })),
    )
}
