//! Channel secrets from AWS Secrets Manager, fetched once at cold start. `[alerts]` names a
//! secret with `url_env` / `secret_env` / `password_env`; the dispatch function takes its value
//! from the environment variable of that name when set, else from the secret
//! `{VITALS_SECRETS_PREFIX}{name}` (its role may read only secrets under that prefix). Values
//! are held as [`Secret`] and never logged: `Debug` lists the names only.

use std::collections::BTreeMap;

pub use aws_sdk_secretsmanager as sdk;
use vitals_core::config::AlertsConfig;
use vitals_core::notify::Secret;

/// Why the secrets could not be read: start-up fails (Lambda retries the cold start).
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {id}: {problem}")]
    Unreadable { id: String, problem: String },
}

/// The secrets fetched from Secrets Manager, by the name the configuration uses.
#[derive(Clone, Default)]
pub struct SecretValues {
    values: BTreeMap<String, Secret>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValues")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretValues {
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A lookup for `HttpNotifier::from_config`: the environment first, then these values.
    pub fn lookup<'a>(
        &'a self,
        env: impl Fn(&str) -> Option<String> + 'a,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| self.get(name).map(|s| s.expose().to_string()))
        }
    }
}

/// Fetches the secrets `config` names that `env` does not provide, from `{prefix}{name}`. A
/// secret that does not exist is left out (the notifier's set-up then names it as missing);
/// any other failure (access denied, throttling) is an error.
pub async fn fetch(
    client: &sdk::Client,
    prefix: &str,
    config: &AlertsConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SecretValues, SecretsError> {
    let mut values = BTreeMap::new();
    for name in vitals_notify::secret_names(config) {
        if env(&name).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let id = format!("{prefix}{name}");
        let out = client.get_secret_value().secret_id(&id).send().await;
        let out = match out {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                continue
            }
            Err(e) => {
                use sdk::error::ProvideErrorMetadata;
                // The code only: messages can echo request details.
                let problem = e.code().unwrap_or("request failed").to_string();
                return Err(SecretsError::Unreadable { id, problem });
            }
        };
        let value = match (out.secret_string(), out.secret_binary()) {
            (Some(s), _) => s.to_string(),
            (None, Some(b)) => {
                String::from_utf8(b.as_ref().to_vec()).map_err(|_| SecretsError::Unreadable {
                    id: id.clone(),
                    problem: "binary value is not UTF-8".into(),
                })?
            }
            (None, None) => continue,
        };
        values.insert(name, Secret::new(value.trim_end_matches(['\r', '\n'])));
    }
    Ok(SecretValues { values })
}
