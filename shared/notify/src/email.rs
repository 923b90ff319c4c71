//! Email: the message a notification becomes, and its transports. `vitals serve` writes `.eml`
//! files to an outbox directory by default (nothing leaves the machine; a mail relay or a human
//! can pick them up); the dispatch Lambda sends through Amazon SES (feature `ses`).

use std::path::PathBuf;

use async_trait::async_trait;
use vitals_core::notify::{Delivered, Notification, NotificationKind, NotifyError};

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    /// The delivery key, as a header, so a relay can drop duplicates.
    pub key: String,
}

impl Email {
    /// The email for a notification: outreach goes to the contact from the owner's address;
    /// everything else goes to the notification's recipients (the CSM, the manager).
    pub fn of(
        n: &Notification,
        default_from: &str,
        fixed_to: &[String],
    ) -> Result<Email, NotifyError> {
        let to: Vec<String> = if fixed_to.is_empty() {
            n.recipients.clone()
        } else {
            fixed_to.to_vec()
        };
        if to.is_empty() {
            return Err(NotifyError::Permanent("no recipient for the email".into()));
        }
        let (from, subject, text) = match (&n.kind, &n.draft) {
            (NotificationKind::Outreach, Some(d)) => (
                d.from.clone().unwrap_or_else(|| default_from.to_string()),
                d.subject.clone(),
                d.body.clone(),
            ),
            (_, draft) => {
                let mut text = format!("{}\n\n{}\n", n.title, n.summary);
                if let Some(s) = n.score {
                    text.push_str(&format!("\nScore: {s:.0}"));
                    if let Some(b) = n.band {
                        text.push_str(&format!(" ({})", b.as_str().replace('_', " ")));
                    }
                    text.push('\n');
                }
                if !n.drivers.is_empty() {
                    text.push_str("\nDrivers:\n");
                    for d in &n.drivers {
                        text.push_str(&format!("  - {d}\n"));
                    }
                }
                if let Some(d) = draft {
                    text.push_str(&format!(
                        "\n--- Outreach draft (edit and send) ---\nTo: {}\nSubject: {}\n\n{}\n---\n",
                        d.to.as_deref().unwrap_or("(no contact address)"),
                        d.subject,
                        d.body
                    ));
                }
                if let Some(link) = &n.link {
                    text.push_str(&format!("\nOpen the account: {link}\n"));
                }
                (default_from.to_string(), n.title.clone(), text)
            }
        };
        Ok(Email {
            from,
            to,
            reply_to: None,
            subject,
            text,
            key: n.key.clone(),
        })
    }

    /// RFC 5322 text (UTF-8 body).
    pub fn to_rfc5322(&self, date: chrono::DateTime<chrono::Utc>) -> String {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        let mut out = String::new();
        out.push_str(&format!("From: {}\r\n", clean(&self.from)));
        out.push_str(&format!("To: {}\r\n", clean(&self.to.join(", "))));
        if let Some(r) = &self.reply_to {
            out.push_str(&format!("Reply-To: {}\r\n", clean(r)));
        }
        out.push_str(&format!("Subject: {}\r\n", clean(&self.subject)));
        out.push_str(&format!("Date: {}\r\n", date.to_rfc2822()));
        out.push_str(&format!("X-Vitals-Delivery: {}\r\n", clean(&self.key)));
        out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        out.push_str(&self.text.replace("\r\n", "\n").replace('\n', "\r\n"));
        out.push_str("\r\n");
        out
    }
}

/// Sends emails.
#[async_trait]
pub trait EmailTransport: Send + Sync {
    async fn send(&self, email: &Email) -> Result<Delivered, NotifyError>;
}

/// Writes each email to `<dir>/<delivery key>.eml`. Writing the same key twice replaces the
/// file, so a retried delivery leaves one email.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Outbox { dir: dir.into() }
    }

    pub fn file_name(key: &str) -> String {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.eml")
    }
}

#[async_trait]
impl EmailTransport for Outbox {
    async fn send(&self, email: &Email) -> Result<Delivered, NotifyError> {
        let io = |e: std::io::Error| NotifyError::Retryable(format!("outbox: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let name = Outbox::file_name(&email.key);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, email.to_rfc5322(chrono::Utc::now()))
            .await
            .map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(&name))
            .await
            .map_err(io)?;
        Ok(Delivered {
            detail: format!("written to outbox as {name}"),
        })
    }
}

/// Amazon SES (v2 `SendEmail`, simple content).
#[cfg(feature = "ses")]
#[derive(Debug, Clone)]
pub struct Ses {
    client: aws_sdk_sesv2::Client,
}

#[cfg(feature = "ses")]
impl Ses {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Ses { client }
    }
}

#[cfg(feature = "ses")]
#[async_trait]
impl EmailTransport for Ses {
    async fn send(&self, email: &Email) -> Result<Delivered, NotifyError> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let content = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| NotifyError::Permanent(format!("ses: {e}")))
        };
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .set_reply_to_addresses(email.reply_to.clone().map(|r| vec![r]))
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match out {
            Ok(o) => Ok(Delivered {
                detail: format!("ses message {}", o.message_id().unwrap_or("?")),
            }),
            Err(e) => {
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                let retryable = match &e {
                    aws_sdk_sesv2::error::SdkError::ServiceError(s) => matches!(
                        s.err().code(),
                        Some(
                            "TooManyRequestsException"
                                | "LimitExceededException"
                                | "InternalFailure"
                                | "ServiceUnavailable"
                        )
                    ),
                    _ => true,
                };
                let msg = format!("ses: {}", e.code().unwrap_or("error"));
                Err(if retryable {
                    NotifyError::Retryable(msg)
                } else {
                    NotifyError::Permanent(msg)
                })
            }
        }
    }
}
