//! The web dashboard: server-rendered HTML with inline SVG charts, served by the query Lambda
//! and by `vitals serve` (`/dashboard`, `/dashboard/accounts` with its CSV export
//! `/dashboard/accounts.csv`, `/dashboard/accounts/{id}`). It reads through the same
//! functions as the JSON API, so roles and scoping are the same.
//!
//! Signing in: open `/dashboard?token=<token>` once (`vitals token` prints this link). The page
//! checks the token, stores it in an `HttpOnly`, `SameSite=Lax` cookie scoped to `/` (30 days; the token's
//! own expiry still applies) and redirects to the same page without it, so the token leaves the
//! address bar and history (any dashboard page accepts `?token=`);
//! `/dashboard/logout` clears it. Without a valid token the page shows a form to paste one.

macro_rules! put {
    ($s:expr, $($arg:tt)*) => {
        $s.push_str(&format!($($arg)*))
    };
}

mod account;
mod accounts;
mod cells;
mod html;
mod portfolio;
mod svg;

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::authn::{Principal, TOKEN_COOKIE};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(portfolio))
        .route("/dashboard/", get(portfolio))
        .route("/dashboard/accounts", get(accounts))
        .route("/dashboard/accounts.csv", get(accounts_csv))
        .route("/dashboard/accounts/{id}", get(account))
        .route("/dashboard/logout", get(logout))
}

/// The principal of a browser request, or the sign-in page to answer instead.
fn signed_in(state: &AppState, parts: &http::request::Parts) -> Result<Principal, Box<Response>> {
    state
        .authenticator
        .authenticate(parts)
        .map_err(|e| Box::new(login_page(Some(&e.to_string()), StatusCode::UNAUTHORIZED)))
}

fn login_page(problem: Option<&str>, status: StatusCode) -> Response {
    let problem = problem.map_or(String::new(), |p| {
        format!(r#"<p class="band-at_risk">{}</p>"#, html::escape(p))
    });
    let body = format!(
        r#"<h1>Sign in</h1><div class="card">{problem}<p>Paste an API token. With <code>vitals serve</code>, mint one with <code>vitals token --role csm --user you@example.com</code> (it prints a sign-in link).</p><form method="get" action="/dashboard"><input name="token" size="60" autocomplete="off" aria-label="token"> <button>Sign in</button></form></div>"#
    );
    (status, Html(html::page("Sign in", None, &body))).into_response()
}

/// Renders an error as a page: 404 and 403 in words, others without internal detail.
fn error_page(e: ApiError, who: &Principal) -> Response {
    let status = e.status();
    let message = match &e {
        ApiError::NotFound => "No such account (or it is not one of yours).".to_string(),
        ApiError::Forbidden => "Your role does not show accounts.".to_string(),
        other => other.to_string(),
    };
    if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = &e {
        tracing::error!(%detail, "dashboard page failed");
    }
    let body = format!(
        r#"<h1>{}</h1><div class="card"><p>{}</p><p><a href="/dashboard">Back to the portfolio</a></p></div>"#,
        status.as_u16(),
        html::escape(&message)
    );
    (
        status,
        Html(html::page("Error", Some(&describe(who)), &body)),
    )
        .into_response()
}

fn describe(who: &Principal) -> String {
    format!("{} ({})", who.user, who.role)
}

async fn portfolio(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(token) = params.get("token").filter(|t| !t.is_empty()) {
        return sign_in(&state, &parts, token, "/dashboard");
    }
    let who = match signed_in(&state, &parts) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    match portfolio::portfolio(&state, &who).await {
        Ok(body) => Html(html::page("Portfolio", Some(&describe(&who)), &body)).into_response(),
        Err(e) => error_page(e, &who),
    }
}

async fn accounts(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(token) = params.get("token").filter(|t| !t.is_empty()) {
        let mut rest = params.clone();
        rest.remove("token");
        let query: Vec<String> = rest
            .iter()
            .map(|(k, v)| format!("{}={}", html::url_segment(k), html::url_segment(v)))
            .collect();
        let here = if query.is_empty() {
            "/dashboard/accounts".to_string()
        } else {
            format!("/dashboard/accounts?{}", query.join("&"))
        };
        return sign_in(&state, &parts, token, &here);
    }
    let who = match signed_in(&state, &parts) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    match accounts::accounts(&state, &who, &params).await {
        Ok(body) => Html(html::page("Accounts", Some(&describe(&who)), &body)).into_response(),
        Err(e) => error_page(e, &who),
    }
}

/// The accounts page's view as a CSV file (every matching row).
async fn accounts_csv(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let who = match signed_in(&state, &parts) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    match accounts::accounts_csv(&state, &who, &params).await {
        Ok((name, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => error_page(e, &who),
    }
}

async fn account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(token) = params.get("token").filter(|t| !t.is_empty()) {
        let here = format!("/dashboard/accounts/{}", html::url_segment(&id));
        return sign_in(&state, &parts, token, &here);
    }
    let who = match signed_in(&state, &parts) {
        Ok(who) => who,
        Err(page) => return *page,
    };
    match account::account(&state, &who, &id).await {
        Ok((title, body)) => Html(html::page(&title, Some(&describe(&who)), &body)).into_response(),
        Err(e) => error_page(e, &who),
    }
}

/// How long the browser keeps the session cookie; the token's own expiry still applies.
const COOKIE_MAX_AGE_SECS: u32 = 30 * 24 * 3600;

/// Checks a token given as `?token=`, stores it in the session cookie and redirects to the
/// same page without it.
fn sign_in(state: &AppState, parts: &http::request::Parts, token: &str, then: &str) -> Response {
    let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return login_page(Some("invalid token"), StatusCode::UNAUTHORIZED);
    };
    let mut probe = http::Request::new(());
    *probe.headers_mut() = parts.headers.clone();
    probe.headers_mut().insert(header::AUTHORIZATION, bearer);
    *probe.extensions_mut() = parts.extensions.clone();
    let (probe, ()) = probe.into_parts();
    if let Err(e) = state.authenticator.authenticate(&probe) {
        return login_page(Some(&e.to_string()), StatusCode::UNAUTHORIZED);
    }
    let secure = parts
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{TOKEN_COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(then).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(_) => login_page(Some("invalid token"), StatusCode::UNAUTHORIZED),
    }
}

async fn logout() -> Response {
    let mut response = Redirect::to("/dashboard").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vitals_token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    response
}
