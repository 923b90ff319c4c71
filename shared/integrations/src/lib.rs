//! Clients of the tools a CS team already works in, so Vitals' results land there: help desk
//! tickets in Zendesk and Linear, health figures on HubSpot companies and Salesforce Accounts.
//! Each client speaks the vendor's documented API, never logs its credentials, and says
//! whether a failure is worth retrying.

pub mod crm;
pub mod hubspot;
pub mod linear;
pub mod retry;
pub mod salesforce;
pub mod ticket;
pub mod zendesk;

pub use hubspot::HubSpot;
pub use linear::Linear;
pub use retry::RetryPolicy;
pub use salesforce::Salesforce;
pub use ticket::{Ticket, TicketPriority, TicketRef};
pub use zendesk::Zendesk;

use std::time::Duration;

/// How long one vendor call may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// A vendor call that failed, split by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// Timeouts, connection failures, 5xx and rate limits (`retry_after`: what the vendor
    /// asked for, in seconds).
    #[error("{vendor}: {detail} (will retry)")]
    Retryable {
        vendor: &'static str,
        detail: String,
        retry_after: Option<u64>,
    },
    /// Bad credentials, a refused payload, a missing team: retrying the same call cannot help.
    #[error("{vendor}: {detail}")]
    Permanent {
        vendor: &'static str,
        detail: String,
    },
}

impl IntegrationError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, IntegrationError::Retryable { .. })
    }
}

/// A client with the shared settings: timeout, no redirects (credentials stay with the host
/// they were meant for), a user agent naming Vitals.
pub(crate) fn http_client(vendor: &'static str) -> Result<reqwest::Client, IntegrationError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .user_agent(concat!("vitals/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| IntegrationError::Permanent {
            vendor,
            detail: format!("http client: {e}"),
        })
}

/// What kind of transport failure this was, in words, without the URL reqwest may include.
pub fn failure_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

/// A transport failure, without the URL reqwest may include.
pub(crate) fn transport_error(vendor: &'static str, e: &reqwest::Error) -> IntegrationError {
    IntegrationError::Retryable {
        vendor,
        detail: failure_kind(e).into(),
        retry_after: None,
    }
}

/// The error a non-success status means: 408, 429 and 5xx are retryable (429 with the
/// vendor's `Retry-After` in seconds), anything else permanent.
pub(crate) fn status_error(
    vendor: &'static str,
    what: &str,
    response: &reqwest::Response,
) -> IntegrationError {
    let status = response.status();
    let detail = format!("{what} answered {}", status.as_u16());
    if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        IntegrationError::Retryable {
            vendor,
            detail,
            retry_after,
        }
    } else {
        IntegrationError::Permanent { vendor, detail }
    }
}
