//! Typed configuration of the Lambda functions, read once from the environment that
//! `template.yaml` sets. A missing variable fails start-up with its name.

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// What every function reads.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// `VITALS_TABLE`: the DynamoDB table.
    pub table: String,
    /// `VITALS_ALERT_QUEUE_URL` / `VITALS_ALERT_DLQ_URL`: the alert queue and its dead letters.
    pub alert_queue_url: Option<String>,
    pub alert_dlq_url: Option<String>,
    /// `VITALS_SCORE_SEGMENT_QUEUE_URL` / `VITALS_SCORE_SEGMENT_DLQ_URL`: where the score
    /// function fans segments out (both or neither).
    pub score_segments: Option<(String, String)>,
    /// `VITALS_WRITE_KEYS`: comma-separated client write keys (may be public: protected
    /// traits such as the owner or MRR are ignored from them).
    pub write_keys: String,
    /// `VITALS_SERVER_WRITE_KEYS`: comma-separated server write keys (secret; every trait is
    /// taken from them).
    pub server_write_keys: String,
    /// `VITALS_RETENTION_DAYS`, default 730.
    pub retention_days: u32,
    /// `VITALS_PUBLIC_URL`: where the dashboard is served, for links in notifications
    /// (overrides `[server] public_url`).
    pub public_url: Option<String>,
    /// `VITALS_SECRETS_PREFIX`: the dispatch function reads a secret the configuration names
    /// (`secret_env = "X"`) from Secrets Manager as `{prefix}X` when no variable `X` is set.
    pub secrets_prefix: Option<String>,
}

impl FunctionEnv {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let retention_days = match non_empty("VITALS_RETENTION_DAYS") {
            None => 730,
            Some(v) => v.parse().map_err(|_| EnvError::Invalid {
                name: "VITALS_RETENTION_DAYS",
                problem: format!("{v:?} is not a whole number of days"),
            })?,
        };
        let score_segments = match (
            non_empty("VITALS_SCORE_SEGMENT_QUEUE_URL"),
            non_empty("VITALS_SCORE_SEGMENT_DLQ_URL"),
        ) {
            (Some(queue), Some(dlq)) => Some((queue, dlq)),
            (None, None) => None,
            (Some(_), None) => return Err(EnvError::Missing("VITALS_SCORE_SEGMENT_DLQ_URL")),
            (None, Some(_)) => return Err(EnvError::Missing("VITALS_SCORE_SEGMENT_QUEUE_URL")),
        };
        let public_url = non_empty("VITALS_PUBLIC_URL");
        if let Some(url) = &public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(EnvError::Invalid {
                    name: "VITALS_PUBLIC_URL",
                    problem: format!("{url:?} is not an http(s) URL"),
                });
            }
        }
        Ok(FunctionEnv {
            table: non_empty("VITALS_TABLE").ok_or(EnvError::Missing("VITALS_TABLE"))?,
            alert_queue_url: non_empty("VITALS_ALERT_QUEUE_URL"),
            alert_dlq_url: non_empty("VITALS_ALERT_DLQ_URL"),
            score_segments,
            write_keys: non_empty("VITALS_WRITE_KEYS").unwrap_or_default(),
            server_write_keys: non_empty("VITALS_SERVER_WRITE_KEYS").unwrap_or_default(),
            retention_days,
            public_url,
            secrets_prefix: non_empty("VITALS_SECRETS_PREFIX"),
        })
    }

    /// Both queue URLs, or which one is missing.
    pub fn alert_queue(&self) -> Result<(String, String), EnvError> {
        Ok((
            self.alert_queue_url
                .clone()
                .ok_or(EnvError::Missing("VITALS_ALERT_QUEUE_URL"))?,
            self.alert_dlq_url
                .clone()
                .ok_or(EnvError::Missing("VITALS_ALERT_DLQ_URL"))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn missing_table_is_named() {
        let err = FunctionEnv::from_lookup(|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable VITALS_TABLE is required"
        );
    }

    #[test]
    fn reads_all_variables() {
        let vars: HashMap<&str, &str> = [
            ("VITALS_TABLE", "t"),
            ("VITALS_RETENTION_DAYS", "365"),
            ("VITALS_WRITE_KEYS", "a,b"),
            ("VITALS_SECRETS_PREFIX", "vitals/"),
        ]
        .into();
        let env = FunctionEnv::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(
            (
                env.table.as_str(),
                env.retention_days,
                env.write_keys.as_str()
            ),
            ("t", 365, "a,b")
        );
        assert_eq!(env.secrets_prefix.as_deref(), Some("vitals/"));
        assert!(env.alert_queue().is_err());
    }

    #[test]
    fn a_segment_queue_without_its_dead_letter_queue_is_named() {
        let vars: HashMap<&str, &str> = [
            ("VITALS_TABLE", "t"),
            ("VITALS_SCORE_SEGMENT_QUEUE_URL", "http://q"),
        ]
        .into();
        let err = FunctionEnv::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable VITALS_SCORE_SEGMENT_DLQ_URL is required"
        );
    }
}
