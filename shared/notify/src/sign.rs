//! Webhook signatures. Every webhook request carries:
//!
//! - `X-Vitals-Timestamp`: Unix seconds when the request was signed;
//! - `X-Vitals-Signature`: `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`;
//! - `X-Vitals-Delivery`: the idempotent delivery key (the same for every retry).
//!
//! A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a
//! timestamp more than [`REPLAY_WINDOW_SECS`] (5 minutes) away from its clock, so a captured
//! request cannot be replayed later. [`verify`] does all three.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const TIMESTAMP_HEADER: &str = "X-Vitals-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Vitals-Signature";
pub const DELIVERY_HEADER: &str = "X-Vitals-Delivery";
/// Receivers refuse signatures older or newer than this.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// `v1=<hex>` for a body signed at `timestamp` (Unix seconds).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this arm is unreachable in practice.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing or malformed timestamp")]
    BadTimestamp,
    #[error("timestamp outside the replay window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Verifies a request as a receiver should: timestamp within the window of `now`, signature
/// (any of several comma-separated `v1=` values, for key rotation) matching in constant time.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale);
    }
    let expected = signature(secret, ts, body);
    let ok = signature_header
        .split(',')
        .map(str::trim)
        .any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let sig = signature(b"secret", 1_700_000_000, br#"{"a":1}"#);
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        assert_eq!(
            verify(b"secret", "1700000000", &sig, br#"{"a":1}"#, 1_700_000_100),
            Ok(())
        );
    }

    #[test]
    fn tampered_bodies_wrong_keys_and_old_timestamps_are_refused() {
        let sig = signature(b"secret", 1_700_000_000, b"body");
        let refused = |key: &[u8], timestamp: &str, body: &[u8], now: i64| {
            verify(key, timestamp, &sig, body, now)
        };
        let mismatch = Err(VerifyError::Mismatch);
        assert_eq!(
            refused(b"secret", "1700000000", b"bodY", 1_700_000_000),
            mismatch
        );
        assert_eq!(
            refused(b"other", "1700000000", b"body", 1_700_000_000),
            mismatch
        );
        let stale = refused(b"secret", "1700000000", b"body", 1_700_000_301);
        assert_eq!(stale, Err(VerifyError::Stale));
        let unreadable = refused(b"secret", "soon", b"body", 1_700_000_000);
        assert_eq!(unreadable, Err(VerifyError::BadTimestamp));
    }
}
