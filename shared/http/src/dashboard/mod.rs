//! The web dashboard: HTML rendered from templates ([`pages`]) with inline SVG charts, served
//! by the query Lambda and by `vitals serve` (`/dashboard`, `/dashboard/accounts` with its CSV export
//! `/dashboard/accounts.csv`, `/dashboard/accounts/{id}`, `/dashboard/alerts`, `/dashboard/audit`,
//! `/dashboard/settings`). It reads through the same functions as the JSON API, so roles and
//! scoping are the same; its forms (alert actions, config drafts) post to dashboard routes that
//! call the API's use cases, guarded by a CSRF token ([`forms`]).
//!
//! Signing in: open `/dashboard?token=<token>` once (`vitals token` prints this link). The page
//! checks the token, stores it in an `HttpOnly`, `SameSite=Lax` cookie scoped to `/` (30 days; the token's
//! own expiry still applies) and redirects to the same page without it, so the token leaves the
//! address bar and history (any dashboard page accepts `?token=`);
//! `/dashboard/logout` clears it. Without a valid token the page shows a form to paste one.

mod account;
mod account_work;
mod accounts;
mod alerts;
mod audit;
mod cells;
mod forms;
mod html;
mod pages;
mod portfolio;
mod settings;
mod svg;

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use futures::future::BoxFuture;

use self::pages::Frame;
use crate::authn::{bearer_token, cookie_token, session_cookie, AuthError, Principal};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    pages::load();
    let portfolio = page("/dashboard", "Portfolio", |st, s, _, frame| {
        Box::pin(portfolio::portfolio(st, &s.who, frame))
    });
    Router::new()
        .route("/dashboard", portfolio.clone())
        .route("/dashboard/", portfolio)
        .route("/dashboard/accounts", get(accounts))
        .route("/dashboard/accounts.csv", get(accounts_csv))
        .route("/dashboard/accounts/{id}", get(account))
        .route(
            "/dashboard/alerts",
            page("/dashboard/alerts", "Alerts", |st, s, ps, frame| {
                Box::pin(alerts::inbox(st, &s.who, &s.csrf, ps, frame))
            }),
        )
        .route("/dashboard/alerts/{id}", post(alert_action))
        .route(
            "/dashboard/audit",
            page("/dashboard/audit", "Audit", |st, s, ps, frame| {
                Box::pin(audit::audit(st, &s.who, ps, frame))
            }),
        )
        .route(
            "/dashboard/settings",
            page("/dashboard/settings", "Settings", |st, s, ps, frame| {
                Box::pin(settings::settings(st, &s.who, &s.csrf, ps, None, frame))
            })
            .post(settings_post),
        )
        .route("/dashboard/logout", get(logout))
}

/// A signed-in reader and the CSRF token their forms carry.
struct Session {
    who: Principal,
    csrf: String,
}

/// Signs in from `?token=` (redirecting to `here` without it), or finds the session.
fn session(
    state: &AppState,
    parts: &http::request::Parts,
    params: &HashMap<String, String>,
    here: &str,
) -> Result<Session, Box<Response>> {
    if let Some(token) = params.get("token").filter(|t| !t.is_empty()) {
        return Err(Box::new(sign_in(state, parts, token, here)));
    }
    let who = signed_in(state, parts)?;
    let csrf = bearer_token(parts)
        .map(forms::csrf_token)
        .unwrap_or_default();
    Ok(Session { who, csrf })
}

/// Largest form body read (a configuration draft included).
const FORM_LIMIT: usize = 256 * 1024;

/// The fields of a posted form and who posted it: the session cookie's principal, if the form
/// carries that session's CSRF token (else 403; no session, the sign-in page).
async fn posted_form(
    state: &AppState,
    request: Request,
) -> Result<(Principal, HashMap<String, String>), Box<Response>> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        Box::new(login_page(
            Some("the form is too large"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ))
    })?;
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let Some(token) = cookie_token(&parts) else {
        return Err(Box::new(login_page(
            Some(&AuthError::Missing.to_string()),
            StatusCode::UNAUTHORIZED,
        )));
    };
    if !forms::csrf_ok(token, &form) {
        let page = message_page(
            &Frame {
                title: "Refused".into(),
                ..Frame::default()
            },
            "403",
            "This form did not come from your dashboard session (missing or wrong CSRF token). Reload the page and try again.",
        );
        return Err(Box::new((StatusCode::FORBIDDEN, page).into_response()));
    }
    let who = authenticate_token(state, &parts, token)
        .map_err(|e| Box::new(login_page(Some(&e.to_string()), StatusCode::UNAUTHORIZED)))?;
    Ok((who, form))
}

/// The frame of a signed-in reader's page, with the notice passed after an action
/// (`?notice=`), if any.
fn frame(title: &str, who: &Principal, params: &HashMap<String, String>) -> Frame {
    Frame {
        title: title.to_string(),
        who: Some(describe(who)),
        audit: who.reads_every_account(),
        settings: who.is_admin(),
        notice: params
            .get("notice")
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(300).collect()),
    }
}

/// A page for a signed-in reader: signs in from `?token=` (back to `here`) or finds the
/// session, else answers the sign-in page; then the page `render` makes, or an error page.
async fn signed_in_page<F, Fut>(
    state: &AppState,
    parts: &http::request::Parts,
    params: &HashMap<String, String>,
    here: &str,
    title: &str,
    render: F,
) -> Response
where
    F: FnOnce(Session, Frame) -> Fut,
    Fut: std::future::Future<Output = Result<String, ApiError>>,
{
    let s = match session(state, parts, params, here) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    let who = s.who.clone();
    let frame = frame(title, &s.who, params);
    match render(s, frame).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(e, &who),
    }
}

/// What a page shows a signed-in reader, from the query string.
type Render = for<'a> fn(
    &'a AppState,
    &'a Session,
    &'a HashMap<String, String>,
    &'a Frame,
) -> BoxFuture<'a, Result<String, ApiError>>;

/// The route of a page at a fixed address: signed in (or the sign-in page), rendered by `render`.
fn page(here: &'static str, title: &'static str, render: Render) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              Query(params): Query<HashMap<String, String>>,
              request: Request| async move {
            let (parts, _) = request.into_parts();
            let (st, ps) = (&state, &params);
            signed_in_page(st, &parts, ps, here, title, |s, frame| async move {
                render(st, &s, ps, &frame).await
            })
            .await
        },
    )
}

/// `POST /dashboard/alerts/{id}`: an alert action from a page, through the API's use case;
/// back to the page (303) with a notice.
async fn alert_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request<Body>,
) -> Response {
    let (who, form) = match posted_form(&state, request).await {
        Ok(posted) => posted,
        Err(page) => return *page,
    };
    let back = forms::back_to(&form);
    let done = async {
        let action = forms::action_of(&form, state.clock.now())?;
        let alert = crate::query::alerts::act_on_alert(&state, &who, &id, action.clone()).await?;
        Ok::<_, ApiError>(forms::notice_of(&action, &alert))
    };
    match done.await {
        Ok(text) => Redirect::to(&forms::with_notice(&back, &text)).into_response(),
        Err(e) => error_page(e, &who),
    }
}

/// `POST /dashboard/settings`: validate a draft (shown back with its problems or "valid") or
/// save it as the next version.
async fn settings_post(State(state): State<AppState>, request: Request<Body>) -> Response {
    let (who, form) = match posted_form(&state, request).await {
        Ok(posted) => posted,
        Err(page) => return *page,
    };
    match settings::post(&state, &who, &form).await {
        Ok(settings::Posted::Saved(version)) => Redirect::to(&forms::with_notice(
            "/dashboard/settings",
            &format!("Saved as version {version}."),
        ))
        .into_response(),
        Ok(settings::Posted::Checked(result)) => {
            let csrf = form.get(forms::CSRF_FIELD).cloned().unwrap_or_default();
            let none = HashMap::new();
            let frame = frame("Settings", &who, &none);
            match settings::settings(&state, &who, &csrf, &none, Some(&result), &frame).await {
                Ok(html) => Html(html).into_response(),
                Err(e) => error_page(e, &who),
            }
        }
        Err(e) => error_page(e, &who),
    }
}

/// The principal of a browser request, or the sign-in page to answer instead.
fn signed_in(state: &AppState, parts: &http::request::Parts) -> Result<Principal, Box<Response>> {
    state
        .authenticator
        .authenticate(parts)
        .map_err(|e| Box::new(login_page(Some(&e.to_string()), StatusCode::UNAUTHORIZED)))
}

fn login_page(problem: Option<&str>, status: StatusCode) -> Response {
    let frame = Frame {
        title: "Sign in".into(),
        ..Frame::default()
    };
    let html = pages::render(
        "sign_in.html",
        &frame,
        minijinja::context! { problem => problem },
    );
    match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A page of one message under a heading (an error, a refused form).
fn message_page(frame: &Frame, heading: &str, message: &str) -> Response {
    let html = pages::render(
        "message.html",
        frame,
        minijinja::context! { heading => heading, message => message },
    );
    match html {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Renders an error as a page: 404 and 403 in words, others without internal detail.
fn error_page(e: ApiError, who: &Principal) -> Response {
    let status = e.status();
    let message = match &e {
        ApiError::NotFound => "Not found (or not one of yours).".to_string(),
        ApiError::Forbidden => "Your role may not see or do this.".to_string(),
        other => other.to_string(),
    };
    if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = &e {
        tracing::error!(%detail, "dashboard page failed");
    }
    let frame = frame("Error", who, &HashMap::new());
    let page = message_page(&frame, &status.as_u16().to_string(), &message);
    (status, page).into_response()
}

fn describe(who: &Principal) -> String {
    format!("{} ({})", who.user, who.role)
}

async fn accounts(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    // Signing in from a link keeps the view it asked for.
    let query: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "token")
        .map(|(k, v)| format!("{}={}", html::url_segment(k), html::url_segment(v)))
        .collect();
    let here = if query.is_empty() {
        "/dashboard/accounts".to_string()
    } else {
        format!("/dashboard/accounts?{}", query.join("&"))
    };
    let (st, ps) = (&state, &params);
    signed_in_page(st, &parts, ps, &here, "Accounts", |s, frame| async move {
        accounts::accounts(st, &s.who, ps, &frame).await
    })
    .await
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
    let here = format!("/dashboard/accounts/{}", html::url_segment(&id));
    let (st, id) = (&state, &id);
    signed_in_page(
        st,
        &parts,
        &params,
        &here,
        "Account",
        |s, frame| async move { account::account(st, &s.who, &s.csrf, id, frame).await },
    )
    .await
}

/// The principal a token stands for, checked as if it came as `Authorization: Bearer`.
fn authenticate_token(
    state: &AppState,
    parts: &http::request::Parts,
    token: &str,
) -> Result<Principal, AuthError> {
    let bearer =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| AuthError::Invalid)?;
    let mut probe = http::Request::new(());
    *probe.headers_mut() = parts.headers.clone();
    probe.headers_mut().insert(header::AUTHORIZATION, bearer);
    *probe.extensions_mut() = parts.extensions.clone();
    let (probe, ()) = probe.into_parts();
    state.authenticator.authenticate(&probe)
}

/// Checks a token given as `?token=`, stores it in the session cookie and redirects to the
/// same page without it.
fn sign_in(state: &AppState, parts: &http::request::Parts, token: &str, then: &str) -> Response {
    if let Err(e) = authenticate_token(state, parts, token) {
        return login_page(Some(&e.to_string()), StatusCode::UNAUTHORIZED);
    }
    let secure = parts
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut response = Redirect::to(then).into_response();
    match session_cookie(token, secure) {
        Some(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        None => login_page(Some("invalid token"), StatusCode::UNAUTHORIZED),
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
