//! Query Lambda: the dashboard JSON API and web dashboard behind API Gateway. API Gateway's JWT
//! authorizer validates the API's tokens; [`authn::GatewayClaims`] maps their claims to roles.
//! Browsers sign in to the dashboard through the hosted sign-in ([`signin`]).

mod authn;
mod id_token;
mod signin;

use std::sync::Arc;

use vitals_core::clock::SystemClock;
use vitals_core::config::AuthConfig;
use vitals_http::{query_router, AppState, WriteKeys};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = vitals_runtime::lambda::start().await?;
    let auth = auth_config(|name| std::env::var(name).ok());
    let sign_in =
        signin::SignIn::from_lookup(|name| std::env::var(name).ok(), auth.clone()).map(Arc::new);
    let state = AppState {
        storage: started.backend.storage,
        clock: Arc::new(SystemClock),
        write_keys: Arc::new(WriteKeys::from_csv(&started.env.write_keys)),
        retention_days: started.env.retention_days,
        alert_limits: Default::default(),
        signals: Default::default(),
        // The query function ingests nothing.
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(authn::GatewayClaims {
            auth,
            sign_in: sign_in.clone(),
        }),
    };
    let router = match sign_in {
        Some(sign_in) => query_router(state)
            .merge(signin::routes(sign_in.clone()))
            .layer(axum::middleware::from_fn_with_state(
                sign_in,
                signin::browser_sessions,
            )),
        None => query_router(state),
    };
    lambda_http::run(router).await
}

/// `[auth]` settings from the environment: `VITALS_JWT_ROLES_CLAIM` (default
/// `cognito:groups`), `VITALS_JWT_USER_CLAIM` (default `email`) and `VITALS_ADMIN_EMAILS`
/// (comma-separated).
fn auth_config(get: impl Fn(&str) -> Option<String>) -> AuthConfig {
    let mut auth = AuthConfig::default();
    if let Some(claim) = get("VITALS_JWT_ROLES_CLAIM").filter(|c| !c.trim().is_empty()) {
        auth.roles_claim = claim.trim().to_string();
    }
    if let Some(claim) = get("VITALS_JWT_USER_CLAIM").filter(|c| !c.trim().is_empty()) {
        auth.user_claim = claim.trim().to_string();
    }
    if let Some(emails) = get("VITALS_ADMIN_EMAILS") {
        auth.admin_emails = emails
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
    }
    auth
}
