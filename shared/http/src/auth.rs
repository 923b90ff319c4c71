//! Write keys: the Segment way of authenticating a source, each with a trust level (a client
//! key may be public, so it may not set protected traits), plus which browser origins may send
//! events with them. Keys are compared in constant time.

use base64::Engine;
use subtle::ConstantTimeEq;
use vitals_core::config::IngestConfig;
use vitals_core::ingest::{KeyTrust, ProtectedTraits};

use crate::webhooks::WebhookSecrets;

/// Who may send events: the accepted write keys with their trust, the traits only server keys
/// may set, the browser origins allowed on the ingest routes, and the shared secrets of the
/// destinations that push to Vitals (Segment and PostHog webhooks).
#[derive(Debug, Clone)]
pub struct WriteKeys {
    keys: Vec<(String, KeyTrust)>,
    protected: ProtectedTraits,
    origins: AllowedOrigins,
    webhooks: WebhookSecrets,
}

/// Browser origins allowed to call the ingest routes (CORS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    Only(Vec<String>),
}

impl AllowedOrigins {
    /// `*` in the list allows any origin.
    pub fn new(list: &[String]) -> Self {
        if list.iter().any(|o| o.trim() == "*") {
            AllowedOrigins::Any
        } else {
            AllowedOrigins::Only(
                list.iter()
                    .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                    .collect(),
            )
        }
    }

    pub fn allows(&self, origin: &str) -> bool {
        match self {
            AllowedOrigins::Any => true,
            AllowedOrigins::Only(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

impl Default for WriteKeys {
    fn default() -> Self {
        WriteKeys {
            keys: Vec::new(),
            protected: ProtectedTraits::default(),
            origins: AllowedOrigins::Any,
            webhooks: WebhookSecrets::default(),
        }
    }
}

impl WriteKeys {
    /// Server (fully trusted) keys: what tests and back-end sources use.
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        WriteKeys::default().with_keys(KeyTrust::Server, keys)
    }

    /// Client keys (may be public): protected traits are ignored from them.
    pub fn client(keys: impl IntoIterator<Item = String>) -> Self {
        WriteKeys::default().with_keys(KeyTrust::Client, keys)
    }

    /// The `[ingest]` section: client and server keys, protected traits, allowed origins.
    pub fn from_config(ingest: &IngestConfig) -> Self {
        WriteKeys {
            keys: Vec::new(),
            protected: ProtectedTraits::new(&ingest.protected_traits),
            origins: AllowedOrigins::new(&ingest.allowed_origins),
            webhooks: WebhookSecrets::default(),
        }
        .with_keys(KeyTrust::Client, ingest.write_keys.iter().cloned())
        .with_keys(KeyTrust::Server, ingest.server_write_keys.iter().cloned())
    }

    /// What `vitals serve` and the ingest Lambda accept: the `[ingest]` section plus the keys
    /// of the environment, `VITALS_WRITE_KEYS` (client) and `VITALS_SERVER_WRITE_KEYS` (server).
    pub fn configured(ingest: &IngestConfig, client_csv: &str, server_csv: &str) -> Self {
        WriteKeys::from_config(ingest)
            .with_csv(KeyTrust::Client, client_csv)
            .with_csv(KeyTrust::Server, server_csv)
    }

    /// Adds keys of one trust level (empty and blank ones are skipped).
    pub fn with_keys(mut self, trust: KeyTrust, keys: impl IntoIterator<Item = String>) -> Self {
        self.keys.extend(
            keys.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .map(|k| (k, trust)),
        );
        self
    }

    /// Adds comma-separated keys (`VITALS_WRITE_KEYS`, `VITALS_SERVER_WRITE_KEYS`).
    pub fn with_csv(self, trust: KeyTrust, csv: &str) -> Self {
        self.with_keys(trust, csv.split(',').map(str::to_string))
    }

    /// These keys, and the webhook destinations' secrets.
    pub fn with_webhook_secrets(mut self, secrets: WebhookSecrets) -> Self {
        self.webhooks = secrets;
        self
    }

    pub(crate) fn webhook_secrets(&self) -> &WebhookSecrets {
        &self.webhooks
    }

    /// Server keys from comma-separated text.
    pub fn from_csv(csv: &str) -> Self {
        WriteKeys::default().with_csv(KeyTrust::Server, csv)
    }

    pub fn with_allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.origins = origins;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trust of `candidate` if it is one of the keys. Every key is compared, in constant
    /// time each, so timing does not tell which key or how much of it matched. A key listed at
    /// both levels counts as a client key.
    pub fn trust_of(&self, candidate: &str) -> Option<KeyTrust> {
        let mut client = subtle::Choice::from(0u8);
        let mut server = subtle::Choice::from(0u8);
        for (key, trust) in &self.keys {
            let hit = key.as_bytes().ct_eq(candidate.as_bytes());
            match trust {
                KeyTrust::Client => client |= hit,
                KeyTrust::Server => server |= hit,
            }
        }
        if bool::from(client) {
            Some(KeyTrust::Client)
        } else if bool::from(server) {
            Some(KeyTrust::Server)
        } else {
            None
        }
    }

    /// True if `candidate` is one of the keys, whatever its trust.
    pub fn accepts(&self, candidate: &str) -> bool {
        self.trust_of(candidate).is_some()
    }

    pub fn protected_traits(&self) -> &ProtectedTraits {
        &self.protected
    }

    pub fn allowed_origins(&self) -> &AllowedOrigins {
        &self.origins
    }
}

/// The username of an HTTP Basic `Authorization` header, which Segment libraries use for the key.
pub fn basic_username(header: &str) -> Option<String> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_configured_key_and_nothing_else() {
        let keys = WriteKeys::from_csv("web-key, ios-key,,");
        assert!(keys.accepts("web-key"));
        assert!(keys.accepts("ios-key"));
        assert!(!keys.accepts("web-ke"));
        assert!(!keys.accepts(""));
    }

    #[test]
    fn each_key_has_its_trust_level() {
        let keys = WriteKeys::client(["browser-key".to_string()])
            .with_csv(KeyTrust::Server, "backend-key");
        assert_eq!(keys.trust_of("browser-key"), Some(KeyTrust::Client));
        assert_eq!(keys.trust_of("backend-key"), Some(KeyTrust::Server));
        assert_eq!(keys.trust_of("other-key"), None);
    }

    #[test]
    fn configured_keys_are_client_keys_unless_listed_as_server_keys() {
        let config = IngestConfig {
            write_keys: vec!["browser-key".into()],
            server_write_keys: vec!["backend-key".into()],
            allowed_origins: vec!["https://app.example.com".into()],
            ..IngestConfig::default()
        };
        let keys = WriteKeys::from_config(&config);
        assert_eq!(keys.trust_of("browser-key"), Some(KeyTrust::Client));
        assert_eq!(keys.trust_of("backend-key"), Some(KeyTrust::Server));
        assert!(keys.allowed_origins().allows("https://app.example.com"));
        assert!(!keys.allowed_origins().allows("https://evil.example"));
        assert!(keys.protected_traits().is_protected("owner"));
    }

    #[test]
    fn basic_header_username_is_the_key() {
        // base64("web-key:")
        assert_eq!(
            basic_username("Basic d2ViLWtleTo=").as_deref(),
            Some("web-key")
        );
        assert_eq!(basic_username("Bearer x"), None);
    }
}
