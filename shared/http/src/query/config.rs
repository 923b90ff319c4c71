//! `GET /v1/config` and `PUT /v1/config` (admins only): the configuration in force and a new
//! validated version. A refused configuration answers 400 listing every problem by key; a stale
//! `base_version`, a racing admin or an unchanged configuration answers 409.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use vitals_core::config::{apply_config, ApplyError, ConfigError, ConfigIssue, VitalsConfig};
use vitals_core::model::{AuditEntry, ConfigVersion};
use vitals_core::StoreError;

use super::Caller;
use crate::authn::Principal;
use crate::{ApiError, AppState};

/// The body of a JSON `PUT /v1/config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUpdate {
    /// The whole configuration as TOML text.
    pub body: String,
    /// The version the edit started from; a newer stored version answers 409.
    #[serde(default)]
    pub base_version: Option<u64>,
}

/// A configuration version as the API shows it (version 0: the built-in defaults).
#[derive(Debug, Serialize)]
pub struct ConfigView {
    pub version: u64,
    pub author: Option<String>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub summary: String,
    pub body: String,
}

impl From<ConfigVersion> for ConfigView {
    fn from(v: ConfigVersion) -> Self {
        ConfigView {
            version: v.version,
            author: Some(v.author),
            created_at: Some(v.created_at),
            summary: v.summary,
            body: v.body,
        }
    }
}

fn defaults() -> ConfigView {
    ConfigView {
        version: 0,
        author: None,
        created_at: None,
        summary: "built-in defaults".into(),
        body: VitalsConfig::default_toml(),
    }
}

pub async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConfigView>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .storage
            .latest_config()
            .await?
            .map_or_else(defaults, ConfigView::from),
    ))
}

fn parse_update(headers: &HeaderMap, body: &[u8]) -> Result<ConfigUpdate, ApiError> {
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if json {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "body: expected {{\"body\": \"<TOML>\", \"base_version\": n}} ({e})"
            ))
        })
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::BadRequest("body: must be UTF-8 TOML text".into()))?;
        Ok(ConfigUpdate {
            body: text.to_string(),
            base_version: None,
        })
    }
}

pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ConfigView>, ApiError> {
    let admin = caller.require_admin()?;
    let update = parse_update(&headers, &body)?;
    Ok(Json(apply_update(&state, admin, &update).await?.into()))
}

/// Stores a new configuration version and audits it: `PUT /v1/config` and the settings page.
pub(crate) async fn apply_update(
    state: &AppState,
    admin: &Principal,
    update: &ConfigUpdate,
) -> Result<ConfigVersion, ApiError> {
    if !admin.is_admin() {
        return Err(ApiError::Forbidden);
    }
    if let Some(base) = update.base_version {
        let stored = state
            .storage
            .latest_config()
            .await?
            .map_or(0, |v| v.version);
        if base != stored {
            return Err(ApiError::Conflict(format!(
                "base_version {base} is not the latest ({stored}): reload and reapply your edit"
            )));
        }
    }
    let version = apply_config(
        state.storage.as_ref(),
        state.clock.as_ref(),
        &update.body,
        &admin.user,
    )
    .await
    .map_err(|e| match e {
        ApplyError::Invalid(e) => config_refused(e),
        ApplyError::Unchanged(v) => {
            ApiError::Conflict(format!("identical to version {v}; nothing to apply"))
        }
        ApplyError::Storage(StoreError::Conflict(_)) => ApiError::Conflict(
            "another admin applied a configuration at the same time: reload and retry".into(),
        ),
        ApplyError::Storage(e) => e.into(),
    })?;
    state
        .storage
        .append_audit(&AuditEntry {
            id: format!("config-applied:{}", version.version),
            at: version.created_at,
            account_id: None,
            actor: version.author.clone(),
            action: "config.applied".into(),
            detail: serde_json::json!({"version": version.version, "summary": version.summary}),
        })
        .await?;
    Ok(version)
}

/// Every problem of a refused configuration, by key (a syntax error under `(syntax)`).
pub(crate) fn config_refused(e: ConfigError) -> ApiError {
    match e {
        ConfigError::Invalid(issues) => ApiError::InvalidConfig(issues),
        ConfigError::Syntax(problem) => ApiError::InvalidConfig(vec![ConfigIssue {
            key: "(syntax)".into(),
            problem,
        }]),
    }
}
