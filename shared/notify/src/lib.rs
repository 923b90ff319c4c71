//! Delivery adapters of `vitals_core::notify::Notifier`: Slack incoming webhooks (Block Kit),
//! email (outbox directory, SMTP or SES), generic webhooks signed with HMAC-SHA256, and
//! CRM/helpdesk tasks through webhook templates. Every HTTP destination passes the SSRF check of
//! [`ssrf`].
//!
//! Secrets (Slack URLs, signing keys, the SMTP password) are given inline or named by `*_env`;
//! a named secret is looked up through the function the caller passes (the environment in
//! `vitals serve`; the environment, then Secrets Manager, in the dispatch Lambda). They are held
//! as [`Secret`], whose `Debug` and `Display` print `***`.
//!
//! Failures keep the retryable/permanent split of [`NotifyError`]: timeouts, connection errors,
//! 429 and 5xx are retryable; 3xx (redirects are never followed), other 4xx, template errors
//! and refused destinations are permanent.

pub mod email;
pub mod sign;
pub mod slack;
pub mod smtp;
pub mod ssrf;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use vitals_core::alerts::rules::ChannelConfig;
use vitals_core::config::alerts::EmailConfig;
use vitals_core::config::AlertsConfig;
use vitals_core::notify::{Delivered, Notification, Notifier, NotifyError, Secret};

pub use email::{Email, EmailTransport, Outbox};
pub use smtp::Smtp;
pub use ssrf::AllowList;

/// How long one HTTP delivery may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notifier could not be built from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("alerts.channels.{channel}: secret {var} is not set (environment variable, or Secrets Manager in Lambda)")]
    MissingEnv { channel: String, var: String },
    #[error("alerts.channels.{0}: no URL")]
    MissingUrl(String),
    #[error("alerts.channels.{0}: no `token`/`api_key` or `*_env` naming it")]
    MissingCredential(String),
    #[error("alerts.channels.{channel}: {problem}")]
    Client { channel: String, problem: String },
    #[error("alerts.email.smtp.password_env: secret {0} is not set")]
    MissingSmtpPassword(String),
    #[error("alerts.email.smtp: {0}")]
    Smtp(String),
}

/// The secret names `[alerts]` refers to (`url_env`, `secret_env`, `password_env`): what the
/// dispatch Lambda fetches from Secrets Manager at cold start.
pub fn secret_names(config: &AlertsConfig) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for channel in config.all_channels().values() {
        match channel {
            ChannelConfig::Slack {
                url: None,
                url_env: Some(var),
            }
            | ChannelConfig::Webhook {
                secret: None,
                secret_env: Some(var),
                ..
            }
            | ChannelConfig::Zendesk {
                token: None,
                token_env: Some(var),
                ..
            }
            | ChannelConfig::Linear {
                api_key: None,
                api_key_env: Some(var),
                ..
            } => {
                names.insert(var.clone());
            }
            _ => {}
        }
    }
    if let Some(var) = config
        .email
        .smtp
        .as_ref()
        .filter(|s| s.password.is_none())
        .and_then(|s| s.password_env.clone())
    {
        names.insert(var);
    }
    names
}

/// The email transport of `vitals serve`: SMTP when `[alerts.email.smtp]` is set, else the
/// outbox directory (`alerts.email.outbox`, else `default_outbox`).
pub fn email_transport(
    config: &EmailConfig,
    default_outbox: &Path,
    secret: impl Fn(&str) -> Option<String>,
) -> Result<Arc<dyn EmailTransport>, SetupError> {
    let Some(smtp) = &config.smtp else {
        let dir = config
            .outbox
            .clone()
            .unwrap_or_else(|| default_outbox.to_path_buf());
        return Ok(Arc::new(Outbox::new(dir)));
    };
    let password = match (&smtp.password, &smtp.password_env) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(var)) => Some(
            secret(var)
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| SetupError::MissingSmtpPassword(var.clone()))?,
        ),
        (None, None) => None,
    };
    Ok(Arc::new(Smtp::new(smtp, password)?))
}

/// A channel with its secrets resolved.
#[derive(Clone)]
enum Channel {
    Slack {
        url: Secret,
    },
    Email {
        to: Vec<String>,
    },
    Webhook {
        url: String,
        secret: Option<Secret>,
        template: Option<String>,
        headers: BTreeMap<String, String>,
    },
    Log,
    Zendesk(vitals_integrations::Zendesk),
    Linear(vitals_integrations::Linear),
}

/// The production notifier: HTTP channels through reqwest, email through a transport.
#[derive(Clone)]
pub struct HttpNotifier {
    channels: BTreeMap<String, Channel>,
    allow: AllowList,
    email: Arc<dyn EmailTransport>,
    default_from: String,
}

impl std::fmt::Debug for HttpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNotifier")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl HttpNotifier {
    /// Builds the notifier from `[alerts]`, reading `*_env` secrets with `env` (e.g.
    /// `|k| std::env::var(k).ok()`, or that and then the values fetched from Secrets Manager).
    pub fn from_config(
        config: &AlertsConfig,
        email: Arc<dyn EmailTransport>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SetupError> {
        let from_env = |channel: &str, var: &str| {
            env(var)
                .filter(|v| !v.trim().is_empty())
                .map(Secret::new)
                .ok_or_else(|| SetupError::MissingEnv {
                    channel: channel.to_string(),
                    var: var.to_string(),
                })
        };
        let mut channels = BTreeMap::new();
        for (name, c) in &config.all_channels() {
            let channel = match c {
                ChannelConfig::Slack { url, url_env } => Channel::Slack {
                    url: match (url, url_env) {
                        (Some(u), _) => u.clone(),
                        (None, Some(var)) => from_env(name, var)?,
                        (None, None) => return Err(SetupError::MissingUrl(name.clone())),
                    },
                },
                ChannelConfig::Email { to } => Channel::Email { to: to.clone() },
                ChannelConfig::Webhook {
                    url,
                    secret,
                    secret_env,
                    template,
                    headers,
                } => Channel::Webhook {
                    url: url.clone(),
                    secret: match (secret, secret_env) {
                        (Some(s), _) => Some(s.clone()),
                        (None, Some(var)) => Some(from_env(name, var)?),
                        (None, None) => None,
                    },
                    template: template.clone(),
                    headers: headers.clone(),
                },
                ChannelConfig::Log => Channel::Log,
                ChannelConfig::Zendesk {
                    base_url,
                    email,
                    token,
                    token_env,
                } => {
                    let token = credential(name, token, token_env, &from_env)?;
                    Channel::Zendesk(
                        vitals_integrations::Zendesk::new(base_url, email, &token)
                            .map_err(|e| client_error(name, e))?,
                    )
                }
                ChannelConfig::Linear {
                    team_id,
                    api_key,
                    api_key_env,
                    api_url,
                } => {
                    let key = credential(name, api_key, api_key_env, &from_env)?;
                    let url = api_url
                        .as_deref()
                        .unwrap_or(vitals_integrations::linear::DEFAULT_API_URL);
                    Channel::Linear(
                        vitals_integrations::Linear::new(url, team_id, &key)
                            .map_err(|e| client_error(name, e))?,
                    )
                }
            };
            channels.insert(name.clone(), channel);
        }
        Ok(HttpNotifier {
            channels,
            allow: AllowList::new(&config.allow_private_destinations),
            email,
            default_from: config.email.default_from.clone(),
        })
    }

    /// POSTs `body` to a checked destination, pinned to the addresses that were checked, with
    /// redirects disabled.
    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: &[(String, String)],
    ) -> Result<Delivered, NotifyError> {
        let dest = ssrf::check(url, &self.allow).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .resolve_to_addrs(&dest.host, &dest.addrs)
            .user_agent(concat!("vitals/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Permanent(format!("http client: {e}")))?;
        let mut request = client
            .post(dest.url)
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.send().await.map_err(|e| {
            // reqwest errors may include the URL; keep only the kind.
            let kind = vitals_integrations::failure_kind(&e);
            NotifyError::Retryable(format!("{} {kind}", dest.host))
        })?;
        let status = response.status();
        let detail = format!("{} answered {}", dest.host, status.as_u16());
        if status.is_success() {
            Ok(Delivered { detail })
        } else if status.is_redirection() {
            Err(NotifyError::Refused(format!(
                "{detail}: redirects are not followed"
            )))
        } else if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            Err(NotifyError::Retryable(detail))
        } else {
            Err(NotifyError::Permanent(detail))
        }
    }
}

/// A help desk credential given inline or named by `*_env`.
fn credential(
    channel: &str,
    inline: &Option<Secret>,
    var: &Option<String>,
    from_env: &impl Fn(&str, &str) -> Result<Secret, SetupError>,
) -> Result<Secret, SetupError> {
    match (inline, var) {
        (Some(s), _) => Ok(s.clone()),
        (None, Some(var)) => from_env(channel, var),
        (None, None) => Err(SetupError::MissingCredential(channel.to_string())),
    }
}

fn client_error(channel: &str, e: vitals_integrations::IntegrationError) -> SetupError {
    SetupError::Client {
        channel: channel.to_string(),
        problem: e.to_string(),
    }
}

/// Files a ticket in a help desk after checking its host like any webhook destination's;
/// the desk's own lookup by delivery key makes a redelivery find the ticket already filed.
async fn file_ticket<F, Fut>(
    url: &str,
    allow: &AllowList,
    n: &Notification,
    file: F,
) -> Result<Delivered, NotifyError>
where
    F: FnOnce(vitals_integrations::Ticket) -> Fut,
    Fut: std::future::Future<
        Output = Result<vitals_integrations::TicketRef, vitals_integrations::IntegrationError>,
    >,
{
    ssrf::check(url, allow).await?;
    match file(vitals_integrations::Ticket::of(n)).await {
        Ok(t) => Ok(Delivered {
            detail: format!(
                "ticket {} {}{}",
                t.id,
                if t.created { "filed" } else { "already filed" },
                t.url.map(|u| format!(": {u}")).unwrap_or_default()
            ),
        }),
        Err(e) if e.is_retryable() => Err(NotifyError::Retryable(e.to_string())),
        Err(e) => Err(NotifyError::Permanent(e.to_string())),
    }
}

/// The JSON body of a generic webhook (no template).
pub fn webhook_body(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "type": n.kind.as_str(),
        "delivery": n.key,
        "workflow": n.workflow,
        "account": {"id": n.account_id, "name": n.account_name},
        "title": n.title,
        "summary": n.summary,
        "severity": n.severity,
        "score": n.score,
        "previous_score": n.previous_score,
        "band": n.band,
        "drivers": n.drivers,
        "recipients": n.recipients,
        "draft": n.draft,
        "link": n.link,
        "data": n.data,
    })
}

/// Renders a CRM/helpdesk template over the webhook body; the result must be JSON.
pub fn render_template(template: &str, n: &Notification) -> Result<Vec<u8>, NotifyError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Json);
    let ctx = minijinja::value::Serde(webhook_body(n));
    let text = env
        .render_str(template, ctx)
        .map_err(|e| NotifyError::Permanent(format!("webhook template: {e}")))?;
    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
        NotifyError::Permanent(format!("webhook template did not render JSON: {e}"))
    })?;
    Ok(text.into_bytes())
}

#[async_trait]
impl Notifier for HttpNotifier {
    async fn deliver(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let channel = self
            .channels
            .get(&n.channel)
            .ok_or_else(|| NotifyError::UnknownChannel(n.channel.clone()))?;
        match channel {
            Channel::Log => Ok(Delivered {
                detail: "recorded on the account".into(),
            }),
            Channel::Email { to } => {
                let email = Email::of(n, &self.default_from, to)?;
                self.email.send(&email).await
            }
            Channel::Slack { url } => {
                let body = serde_json::to_vec(&slack::payload(n))
                    .map_err(|e| NotifyError::Permanent(format!("slack payload: {e}")))?;
                self.post(url.expose(), body, &[]).await
            }
            Channel::Webhook {
                url,
                secret,
                template,
                headers,
            } => {
                let body = match template {
                    Some(t) => render_template(t, n)?,
                    None => serde_json::to_vec(&webhook_body(n))
                        .map_err(|e| NotifyError::Permanent(format!("webhook body: {e}")))?,
                };
                let ts = chrono::Utc::now().timestamp();
                let mut h: Vec<(String, String)> = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                h.push((sign::TIMESTAMP_HEADER.into(), ts.to_string()));
                h.push((sign::DELIVERY_HEADER.into(), n.key.clone()));
                if let Some(secret) = secret {
                    h.push((
                        sign::SIGNATURE_HEADER.into(),
                        sign::signature(secret.expose().as_bytes(), ts, &body),
                    ));
                }
                self.post(url, body, &h).await
            }
            Channel::Zendesk(desk) => {
                file_ticket(desk.base_url(), &self.allow, n, |t| async move {
                    desk.file(&t).await
                })
                .await
            }
            Channel::Linear(desk) => {
                file_ticket(desk.api_url(), &self.allow, n, |t| async move {
                    desk.file(&t).await
                })
                .await
            }
        }
    }
}

/// Exponential backoff with full jitter for the `attempt`-th retry (1-based): a random delay in
/// `[base * 2^(attempt-1) / 2, base * 2^(attempt-1)]`, capped at `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    use rand::Rng;
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
    let ceiling = exp.min(max);
    let half = ceiling / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis().min(u128::from(u64::MAX)) as u64);
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(300);
        for attempt in 1..=12u32 {
            let d = backoff(attempt, base, max);
            let ceiling = (base * 2u32.pow(attempt - 1)).min(max);
            assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn a_missing_secret_env_names_the_channel_and_variable() {
        let mut config = AlertsConfig::default();
        config.channels.insert(
            "hook".into(),
            ChannelConfig::Webhook {
                url: "https://example.com".into(),
                secret: None,
                secret_env: Some("HOOK_SECRET".into()),
                template: None,
                headers: BTreeMap::new(),
            },
        );
        let err = HttpNotifier::from_config(&config, Arc::new(Outbox::new("/tmp/x")), |_| None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "alerts.channels.hook: secret HOOK_SECRET is not set (environment variable, or Secrets Manager in Lambda)"
        );
    }

    #[test]
    fn the_notifier_debug_output_shows_no_secrets() {
        let mut config = AlertsConfig::default();
        config.channels.insert(
            "slack".into(),
            ChannelConfig::Slack {
                url: Some(Secret::new("https://hooks.slack.com/services/T/B/TOKEN123")),
                url_env: None,
            },
        );
        let n =
            HttpNotifier::from_config(&config, Arc::new(Outbox::new("/tmp/x")), |_| None).unwrap();
        assert!(!format!("{n:?}").contains("TOKEN123"));
    }
}
