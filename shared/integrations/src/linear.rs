//! Linear, GraphQL API (`https://api.linear.app/graphql`, personal API key in `Authorization`):
//! `issueCreate` in the configured team. Linear has no external id, so the issue's description
//! carries the delivery marker and issues are searched for it (`issues(filter: {description:
//! {contains}})`) before filing: a redelivery finds the issue instead of filing a second.

use serde_json::{json, Value};
use vitals_core::notify::Secret;

use crate::ticket::{delivery_marker, Ticket, TicketPriority, TicketRef};
use crate::{http_client, status_error, transport_error, IntegrationError};

const VENDOR: &str = "linear";
pub const DEFAULT_API_URL: &str = "https://api.linear.app/graphql";

const FIND: &str = "query VitalsFind($filter: IssueFilter) { issues(filter: $filter, first: 1) { nodes { id identifier url } } }";
const CREATE: &str = "mutation VitalsCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier url } } }";

#[derive(Clone)]
pub struct Linear {
    api_url: String,
    team_id: String,
    api_key: Secret,
    http: reqwest::Client,
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linear")
            .field("api_url", &self.api_url)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

impl Linear {
    pub fn new(api_url: &str, team_id: &str, api_key: &Secret) -> Result<Self, IntegrationError> {
        Ok(Linear {
            api_url: api_url.to_string(),
            team_id: team_id.to_string(),
            api_key: api_key.clone(),
            http: http_client(VENDOR)?,
        })
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Files the issue unless one carrying its delivery marker exists.
    pub async fn file(&self, ticket: &Ticket) -> Result<TicketRef, IntegrationError> {
        let filter = json!({"description": {"contains": delivery_marker(&ticket.key)}});
        let found = self.call(FIND, json!({"filter": filter})).await?;
        if let Some(issue) = found["issues"]["nodes"].as_array().and_then(|n| n.first()) {
            return issue_ref(issue, false);
        }
        let input = json!({
            "teamId": self.team_id,
            "title": ticket.title,
            "description": ticket.body,
            "priority": priority(ticket.priority),
        });
        let created = self.call(CREATE, json!({"input": input})).await?;
        if created["issueCreate"]["success"] != json!(true) {
            return Err(permanent("issueCreate did not succeed".into()));
        }
        issue_ref(&created["issueCreate"]["issue"], true)
    }

    /// One GraphQL request; its `data`, or the error it answered.
    async fn call(&self, query: &str, variables: Value) -> Result<Value, IntegrationError> {
        let response = self
            .http
            .post(&self.api_url)
            .header(reqwest::header::AUTHORIZATION, self.api_key.expose())
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(status_error(VENDOR, "the GraphQL API", &response));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|_| IntegrationError::Retryable {
                vendor: VENDOR,
                detail: format!("answered {} without JSON", status.as_u16()),
                retry_after: None,
            })?;
        // Linear answers a rate limit as a GraphQL error with code RATELIMITED (HTTP 400).
        if let Some(first) = body["errors"].as_array().and_then(|e| e.first()) {
            let code = first["extensions"]["code"].as_str().unwrap_or_default();
            let message = first["message"].as_str().unwrap_or("error");
            if code == "RATELIMITED" {
                return Err(IntegrationError::Retryable {
                    vendor: VENDOR,
                    detail: "rate limited".into(),
                    retry_after: None,
                });
            }
            return Err(permanent(format!(
                "answered {}: {message}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(permanent(format!("answered {}", status.as_u16())));
        }
        Ok(body["data"].clone())
    }
}

fn issue_ref(issue: &Value, created: bool) -> Result<TicketRef, IntegrationError> {
    let id = issue["identifier"]
        .as_str()
        .or_else(|| issue["id"].as_str())
        .ok_or_else(|| permanent("the issue has no id".into()))?;
    Ok(TicketRef {
        id: id.to_string(),
        url: issue["url"].as_str().map(str::to_string),
        created,
    })
}

/// Linear's priorities: 1 urgent, 2 high, 3 medium, 4 low (0: none).
fn priority(p: TicketPriority) -> u8 {
    match p {
        TicketPriority::Urgent => 1,
        TicketPriority::High => 2,
        TicketPriority::Normal => 3,
        TicketPriority::Low => 4,
    }
}

fn permanent(detail: String) -> IntegrationError {
    IntegrationError::Permanent {
        vendor: VENDOR,
        detail,
    }
}
