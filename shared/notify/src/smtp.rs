//! Email through an SMTP server (`[alerts.email.smtp]`), for `vitals serve`: the same RFC 5322
//! text the outbox writes, sent with lettre over rustls (STARTTLS, certificate verified). A
//! 4xx answer or a network failure is retryable; a 5xx answer (unknown recipient, refused
//! sender) is permanent.

use std::time::Duration;

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use vitals_core::alerts::rules::SmtpConfig;
use vitals_core::notify::{Delivered, NotifyError, Secret};

use crate::email::{Email, EmailTransport};
use crate::SetupError;

/// How long one SMTP command may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends emails through one SMTP server.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    envelope_from: Option<String>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("envelope_from", &self.envelope_from)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// A transport for `config`; `password` is the resolved secret (inline, env, ...).
    pub fn new(config: &SmtpConfig, password: Option<Secret>) -> Result<Self, SetupError> {
        let mut builder = if config.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| SetupError::Smtp(format!("{}: {e}", config.host)))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        };
        builder = builder.port(config.port).timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (&config.username, password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Smtp {
            transport: builder.build(),
            host: config.host.clone(),
            envelope_from: config.from.clone(),
        })
    }
}

fn address(what: &str, value: &str) -> Result<Address, NotifyError> {
    value.trim().parse::<Address>().map_err(|e| {
        NotifyError::Permanent(format!("smtp: {what} {value:?} is not an address: {e}"))
    })
}

#[async_trait]
impl EmailTransport for Smtp {
    async fn send(&self, email: &Email) -> Result<Delivered, NotifyError> {
        let from = address(
            "sender",
            self.envelope_from.as_deref().unwrap_or(&email.from),
        )?;
        let to = email
            .to
            .iter()
            .map(|t| address("recipient", t))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(from), to)
            .map_err(|e| NotifyError::Permanent(format!("smtp envelope: {e}")))?;
        let text = email.to_rfc5322(chrono::Utc::now());
        match self.transport.send_raw(&envelope, text.as_bytes()).await {
            Ok(response) => Ok(Delivered {
                detail: format!("{} accepted it ({})", self.host, response.code()),
            }),
            Err(e) if e.is_permanent() => {
                Err(NotifyError::Permanent(format!("smtp {}: {e}", self.host)))
            }
            Err(e) => Err(NotifyError::Retryable(format!("smtp {}: {e}", self.host))),
        }
    }
}
