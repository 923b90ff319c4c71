//! A help desk ticket as Vitals files it, whatever the desk: built from a notification of the
//! `ticket` action, carrying the account context, a link back to the dashboard and the delivery
//! key that makes filing it idempotent.

use vitals_core::notify::Notification;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TicketPriority {
    /// The workflow's `priority` (`low`, `normal`, `high`, `urgent`); anything else is normal.
    pub fn from_name(name: Option<&str>) -> Self {
        match name.map(str::to_ascii_lowercase).as_deref() {
            Some("low") => TicketPriority::Low,
            Some("high") => TicketPriority::High,
            Some("urgent") | Some("critical") => TicketPriority::Urgent,
            _ => TicketPriority::Normal,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// The delivery key: the same key files one ticket, however often it is delivered.
    pub key: String,
    pub title: String,
    /// Plain text: what happened, the score, its drivers and the link back.
    pub body: String,
    pub priority: TicketPriority,
    pub account_id: String,
}

impl Ticket {
    pub fn of(n: &Notification) -> Self {
        let mut body = String::new();
        let account = n.account_name.as_deref().unwrap_or(n.account_id.as_str());
        body.push_str(&format!("Account: {account} ({})\n", n.account_id.as_str()));
        if !n.summary.is_empty() {
            body.push_str(&format!("\n{}\n", n.summary));
        }
        if let Some(score) = n.score {
            let band = n
                .band
                .map(|b| format!(" ({})", b.as_str()))
                .unwrap_or_default();
            match n.previous_score {
                Some(prev) => {
                    body.push_str(&format!("\nHealth score: {prev:.0} → {score:.0}{band}\n"))
                }
                None => body.push_str(&format!("\nHealth score: {score:.0}{band}\n")),
            }
        }
        if !n.drivers.is_empty() {
            body.push_str("\nWhat moved it:\n");
            for d in &n.drivers {
                body.push_str(&format!("- {d}\n"));
            }
        }
        if let Some(link) = &n.link {
            body.push_str(&format!("\nOpen in Vitals: {link}\n"));
        }
        body.push_str(&format!("\n{}\n", delivery_marker(&n.key)));
        Ticket {
            key: n.key.clone(),
            title: n.title.clone(),
            body,
            priority: TicketPriority::from_name(n.data.get("priority").and_then(|p| p.as_str())),
            account_id: n.account_id.as_str().to_string(),
        }
    }
}

/// The line a ticket's text carries so the desk can be searched for it before filing again.
pub fn delivery_marker(key: &str) -> String {
    format!("vitals-delivery: {key}")
}

/// A filed ticket: its id in the desk, its URL when the desk gives one, and whether this call
/// created it or found it already filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub id: String,
    pub url: Option<String>,
    pub created: bool,
}
