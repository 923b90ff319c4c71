//! Zendesk Support, Tickets API: `POST /api/v2/tickets.json` with API-token basic auth
//! (`{email}/token:{token}`). The delivery key is the ticket's `external_id`, and tickets with
//! it are listed (`GET /api/v2/tickets.json?external_id=`) before filing, so a redelivery after a
//! crash finds the ticket instead of filing a second.

use base64::Engine;
use serde_json::{json, Value};
use vitals_core::notify::Secret;

use crate::ticket::{Ticket, TicketPriority, TicketRef};
use crate::{http_client, status_error, transport_error, IntegrationError};

const VENDOR: &str = "zendesk";

#[derive(Clone)]
pub struct Zendesk {
    /// `https://{subdomain}.zendesk.com`.
    base_url: String,
    auth: Secret,
    http: reqwest::Client,
}

impl std::fmt::Debug for Zendesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zendesk")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Zendesk {
    pub fn new(base_url: &str, email: &str, token: &Secret) -> Result<Self, IntegrationError> {
        let credentials = format!("{email}/token:{}", token.expose());
        Ok(Zendesk {
            base_url: base_url.trim_end_matches('/').to_string(),
            auth: Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )),
            http: http_client(VENDOR)?,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Files the ticket unless one with its delivery key exists.
    pub async fn file(&self, ticket: &Ticket) -> Result<TicketRef, IntegrationError> {
        if let Some(found) = self.find(&ticket.key).await? {
            return Ok(found);
        }
        let body = json!({"ticket": {
            "subject": ticket.title,
            "comment": {"body": ticket.body},
            "priority": priority(ticket.priority),
            "type": "problem",
            "external_id": ticket.key,
            "tags": ["vitals", "customer_health"],
        }});
        let response = self
            .http
            .post(format!("{}/api/v2/tickets.json", self.base_url))
            .header(reqwest::header::AUTHORIZATION, self.auth.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        if !response.status().is_success() {
            return Err(status_error(VENDOR, "creating a ticket", &response));
        }
        let created: Value = response.json().await.map_err(|e| unreadable(&e))?;
        ticket_ref(&created["ticket"], true).ok_or_else(|| IntegrationError::Permanent {
            vendor: VENDOR,
            detail: "the created ticket has no id".into(),
        })
    }

    async fn find(&self, key: &str) -> Result<Option<TicketRef>, IntegrationError> {
        let response = self
            .http
            .get(format!("{}/api/v2/tickets.json", self.base_url))
            .query(&[("external_id", key)])
            .header(reqwest::header::AUTHORIZATION, self.auth.expose())
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        if !response.status().is_success() {
            return Err(status_error(
                VENDOR,
                "listing tickets by external_id",
                &response,
            ));
        }
        let listed: Value = response.json().await.map_err(|e| unreadable(&e))?;
        Ok(listed["tickets"]
            .as_array()
            .and_then(|t| t.first())
            .and_then(|t| ticket_ref(t, false)))
    }
}

fn ticket_ref(ticket: &Value, created: bool) -> Option<TicketRef> {
    let id = match &ticket["id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Some(TicketRef {
        id,
        url: ticket["url"].as_str().map(str::to_string),
        created,
    })
}

fn priority(p: TicketPriority) -> &'static str {
    match p {
        TicketPriority::Low => "low",
        TicketPriority::Normal => "normal",
        TicketPriority::High => "high",
        TicketPriority::Urgent => "urgent",
    }
}

fn unreadable(e: &reqwest::Error) -> IntegrationError {
    IntegrationError::Retryable {
        vendor: VENDOR,
        detail: if e.is_decode() {
            "answer is not the expected JSON".into()
        } else {
            "answer could not be read".into()
        },
        retry_after: None,
    }
}
