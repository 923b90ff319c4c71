//! Write keys: the Segment way of authenticating a source. Compared in constant time.

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::webhooks::WebhookSecrets;

/// The accepted write keys, one per source, and the shared secrets of the destinations that
/// push to Vitals (Segment and PostHog webhooks), which authenticate sources the same way.
#[derive(Debug, Clone, Default)]
pub struct WriteKeys(Vec<String>, WebhookSecrets);

impl WriteKeys {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        WriteKeys(
            keys.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
            WebhookSecrets::default(),
        )
    }

    /// These keys, and the webhook destinations' secrets.
    pub fn with_webhook_secrets(mut self, secrets: WebhookSecrets) -> Self {
        self.1 = secrets;
        self
    }

    pub(crate) fn webhook_secrets(&self) -> &WebhookSecrets {
        &self.1
    }

    /// Parses `VITALS_WRITE_KEYS`-style text: comma-separated keys.
    pub fn from_csv(csv: &str) -> Self {
        WriteKeys::new(csv.split(',').map(str::to_string))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `candidate` is one of the keys. Every key is compared, in constant time each, so
    /// timing does not tell which key or how much of it matched.
    pub fn accepts(&self, candidate: &str) -> bool {
        let mut found = subtle::Choice::from(0u8);
        for key in &self.0 {
            found |= key.as_bytes().ct_eq(candidate.as_bytes());
        }
        bool::from(found)
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
    fn basic_header_username_is_the_key() {
        // base64("web-key:")
        assert_eq!(
            basic_username("Basic d2ViLWtleTo=").as_deref(),
            Some("web-key")
        );
        assert_eq!(basic_username("Bearer x"), None);
    }
}
