//! Verifies the identity provider's ID tokens (Cognito: RS256, keys published as a JWKS at
//! `{issuer}/.well-known/jwks.json`) for the routes API Gateway does not authorise: the
//! browser dashboard, whose session cookie holds the ID token the hosted sign-in returned.
//! Checks the signature, `iss`, `aud` (the app client), `token_use` = `id` and `exp`.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use serde::Deserialize;
use vitals_http::authn::AuthError;

/// The issuer's signing keys by key id (`kid`).
#[derive(Debug, Clone, Default)]
pub struct SigningKeys {
    keys: HashMap<String, RsaPublicKeyComponents<Vec<u8>>>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("the JWKS is not a JSON key set: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the JWKS holds no RSA key with a key id")]
    NoKeys,
}

impl SigningKeys {
    /// The RSA keys of a JWKS document (other key types are skipped).
    pub fn from_jwks(json: &[u8]) -> Result<Self, KeysError> {
        let jwks: Jwks = serde_json::from_slice(json)?;
        let keys: HashMap<_, _> = jwks
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                let n = URL_SAFE_NO_PAD.decode(k.n?).ok()?;
                let e = URL_SAFE_NO_PAD.decode(k.e?).ok()?;
                Some((k.kid?, RsaPublicKeyComponents { n, e }))
            })
            .collect();
        if keys.is_empty() {
            return Err(KeysError::NoKeys);
        }
        Ok(SigningKeys { keys })
    }
}

/// Whom ID tokens must come from and be for.
#[derive(Debug, Clone)]
pub struct IdTokenRules {
    pub issuer: String,
    pub client_id: String,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

impl IdTokenRules {
    /// The token's claims as API Gateway's authorizer hands them over (strings; lists as JSON),
    /// if `keys` signed it and it is a current ID token of this issuer for this client.
    pub fn verify(
        &self,
        keys: &SigningKeys,
        token: &str,
        now_epoch: i64,
    ) -> Result<HashMap<String, String>, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Invalid);
        };
        let header: Header = decode_json(header)?;
        if header.alg != "RS256" {
            return Err(AuthError::Invalid);
        }
        let key = header
            .kid
            .and_then(|kid| keys.keys.get(&kid))
            .ok_or(AuthError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Invalid)?;
        // What was signed: the header and payload as sent, up to the last dot.
        let signed = token.rsplit_once('.').map_or("", |(signed, _)| signed);
        key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
            .map_err(|_| AuthError::Invalid)?;
        let claims: serde_json::Map<String, serde_json::Value> = decode_json(payload)?;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => *aud == self.client_id,
            Some(serde_json::Value::Array(list)) => {
                list.iter().any(|a| a.as_str() == Some(&self.client_id))
            }
            _ => false,
        };
        if text("iss") != Some(self.issuer.as_str())
            || !audience_ok
            || text("token_use") != Some("id")
        {
            return Err(AuthError::Invalid);
        }
        let exp = claims
            .get("exp")
            .and_then(|v| v.as_i64())
            .ok_or(AuthError::Invalid)?;
        if exp <= now_epoch {
            return Err(AuthError::Expired);
        }
        Ok(claims
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(s) => (name, s),
                other => (name, other.to_string()),
            })
            .collect())
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(AuthError::Invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use ring::rand::SystemRandom;
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    use serde_json::{json, Value};
    use vitals_core::config::AuthConfig;
    use vitals_http::authn::principal_from_claims;
    use vitals_http::Role;

    // The test identity provider's keys (tests/src/oidc/): test-only, they protect nothing.
    const ISSUER_KEY: &str = include_str!("../../../tests/src/oidc/issuer-test-key.pem");
    const FORGER_KEY: &str = include_str!("../../../tests/src/oidc/forger-test-key.pem");
    const NOW: i64 = 1_795_253_411;

    fn pair(pem: &str) -> RsaKeyPair {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap()
    }

    fn keys() -> SigningKeys {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair(ISSUER_KEY).public());
        let jwks = json!({"keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "k1", "alg": "RS256",
             "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)},
        ]});
        SigningKeys::from_jwks(jwks.to_string().as_bytes()).unwrap()
    }

    fn rules() -> IdTokenRules {
        IdTokenRules {
            issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool".into(),
            client_id: "client-1".into(),
        }
    }

    fn claims() -> Value {
        json!({"iss": rules().issuer, "aud": "client-1", "token_use": "id",
               "email": "ana@example.com", "cognito:groups": ["csm"], "exp": NOW + 3600})
    }

    fn sign(pem: &str, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = pair(pem);
        let mut signature = vec![0u8; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn token(claims: &Value) -> String {
        sign(ISSUER_KEY, json!({"alg": "RS256", "kid": "k1"}), claims)
    }

    #[test]
    fn a_cognito_id_token_gives_its_user_and_group_role() {
        let got = rules().verify(&keys(), &token(&claims()), NOW).unwrap();
        let who = principal_from_claims(&got, &AuthConfig::default()).unwrap();
        assert_eq!(
            (who.user.as_str(), who.role),
            ("ana@example.com", Role::Csm)
        );
    }

    #[test]
    fn forged_tampered_expired_and_foreign_tokens_are_refused() {
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            c
        };
        let good = token(&claims());
        let mut tampered: Vec<&str> = good.split('.').collect();
        let admin = URL_SAFE_NO_PAD.encode(with("cognito:groups", json!(["admin"])).to_string());
        tampered[1] = &admin;
        let refused = [
            (
                "forged",
                sign(FORGER_KEY, json!({"alg": "RS256", "kid": "k1"}), &claims()),
            ),
            ("tampered", tampered.join(".")),
            ("other audience", token(&with("aud", json!("client-2")))),
            (
                "other issuer",
                token(&with("iss", json!("https://evil.example"))),
            ),
            ("access token", token(&with("token_use", json!("access")))),
            ("no expiry", token(&with("exp", Value::Null))),
            (
                "unknown key",
                sign(ISSUER_KEY, json!({"alg": "RS256", "kid": "k9"}), &claims()),
            ),
            (
                "HS256",
                sign(ISSUER_KEY, json!({"alg": "HS256", "kid": "k1"}), &claims()),
            ),
            ("not a JWT", "a.b".to_string()),
        ];
        for (what, bad) in refused {
            assert_eq!(
                rules().verify(&keys(), &bad, NOW),
                Err(AuthError::Invalid),
                "{what}"
            );
        }
        assert_eq!(
            rules().verify(&keys(), &token(&with("exp", json!(NOW))), NOW),
            Err(AuthError::Expired)
        );
        let listed = with("aud", json!(["other", "client-1"]));
        assert!(rules().verify(&keys(), &token(&listed), NOW).is_ok());
    }

    #[test]
    fn a_key_set_without_rsa_keys_is_refused() {
        assert!(matches!(
            SigningKeys::from_jwks(br#"{"keys": []}"#),
            Err(KeysError::NoKeys)
        ));
        assert!(SigningKeys::from_jwks(b"<html>").is_err());
    }
}
