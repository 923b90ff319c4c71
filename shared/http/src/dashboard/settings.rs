//! The settings page (`/dashboard/settings`, admins): the configuration in force as TOML, its
//! versions, the difference between two of them, and a draft to validate or save. Saving goes
//! through the same path as `PUT /v1/config` (validated, versioned, audited).
//!
//! Reads: the version list (1), and up to two versions for a diff older than the list.

use std::collections::HashMap;

use vitals_core::config::{check_draft, ConfigIssue, VitalsConfig};
use vitals_core::model::ConfigVersion;

use super::forms::CSRF_FIELD;
use super::html::escape;
use crate::authn::Principal;
use crate::query::config::{apply_update, config_refused, ConfigUpdate};
use crate::{ApiError, AppState};

/// Versions listed.
const VERSIONS: usize = 20;

/// What a draft came to, shown back on the page.
pub struct Checked {
    pub draft: String,
    /// Empty: valid.
    pub problems: Vec<ConfigIssue>,
    /// Said above the problems ("valid", "not saved: ...").
    pub headline: String,
}

pub enum Posted {
    Saved(u64),
    Checked(Checked),
}

/// Validates (`op=validate`) or saves (`op=save`) the posted draft.
pub async fn post(
    state: &AppState,
    who: &Principal,
    form: &HashMap<String, String>,
) -> Result<Posted, ApiError> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let draft = form.get("body").cloned().unwrap_or_default();
    let problems_of = |e: ApiError| match e {
        ApiError::InvalidConfig(issues) => Ok(issues),
        other => Err(other),
    };
    if form.get("op").map(String::as_str) == Some("save") {
        let update = ConfigUpdate {
            body: draft.clone(),
            base_version: form.get("base_version").and_then(|v| v.parse().ok()),
        };
        return match apply_update(state, who, &update).await {
            Ok(version) => Ok(Posted::Saved(version.version)),
            Err(ApiError::Conflict(why)) => Ok(Posted::Checked(Checked {
                draft,
                problems: vec![],
                headline: format!("Not saved: {why}"),
            })),
            Err(e) => Ok(Posted::Checked(Checked {
                draft,
                problems: problems_of(e)?,
                headline: "Not saved: the draft has problems".into(),
            })),
        };
    }
    let problems = match check_draft(&draft) {
        Ok(_) => vec![],
        Err(e) => problems_of(config_refused(e))?,
    };
    let headline = if problems.is_empty() {
        "valid".to_string()
    } else {
        format!("{} problem(s)", problems.len())
    };
    Ok(Posted::Checked(Checked {
        draft,
        problems,
        headline,
    }))
}

pub async fn settings(
    state: &AppState,
    who: &Principal,
    csrf: &str,
    params: &HashMap<String, String>,
    checked: Option<&Checked>,
) -> Result<String, ApiError> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let versions = state.storage.list_config_versions(VERSIONS).await?;
    let current = versions.first();
    let current_body = current.map_or_else(VitalsConfig::default_toml, |v| v.body.clone());
    let mut s = String::from("<h1>Settings</h1>");

    put!(
        s,
        r#"<div class="card" id="draft"><h2>Validate or save a draft</h2>"#
    );
    if let Some(c) = checked {
        let class = if c.problems.is_empty() && c.headline == "valid" {
            "band-healthy"
        } else {
            "band-at_risk"
        };
        put!(
            s,
            r#"<p id="draft-result" class="{class}">{}</p>"#,
            escape(&c.headline)
        );
        if !c.problems.is_empty() {
            s.push_str(r#"<ul id="draft-problems">"#);
            for p in &c.problems {
                put!(
                    s,
                    "<li><code>{}</code>: {}</li>",
                    escape(&p.key),
                    escape(&p.problem)
                );
            }
            s.push_str("</ul>");
        }
    }
    put!(
        s,
        r#"<form method="post" action="/dashboard/settings"><input type="hidden" name="{CSRF_FIELD}" value="{}"><input type="hidden" name="base_version" value="{}"><textarea name="body" rows="18" cols="110" aria-label="configuration draft" spellcheck="false">{}</textarea><br><button name="op" value="validate">Validate</button> <button name="op" value="save">Save as a new version</button></form></div>"#,
        escape(csrf),
        current.map_or(0, |v| v.version),
        escape(checked.map_or(current_body.as_str(), |c| c.draft.as_str()))
    );

    s.push_str(r#"<div class="card" id="versions"><h2>Versions</h2><form method="get" action="/dashboard/settings"><table><tr><th>From</th><th>To</th><th>Version</th><th>By</th><th>When</th><th>What changed</th></tr>"#);
    for (i, v) in versions.iter().enumerate() {
        put!(
            s,
            r#"<tr><td><input type="radio" name="from" value="{n}"{}></td><td><input type="radio" name="to" value="{n}"{}></td><td>{n}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            if i == 1 { " checked" } else { "" },
            if i == 0 { " checked" } else { "" },
            escape(&v.author),
            v.created_at.format("%Y-%m-%d %H:%M"),
            escape(&v.summary),
            n = v.version,
        );
    }
    if versions.is_empty() {
        s.push_str(r#"<tr><td colspan="6" class="muted">No version stored: the built-in defaults are in force.</td></tr>"#);
    }
    s.push_str(r#"</table><button>Compare</button></form></div>"#);

    if let (Some(from), Some(to)) = (version_param(params, "from")?, version_param(params, "to")?) {
        let (a, b) = futures::join!(
            version(state, &versions, from),
            version(state, &versions, to)
        );
        let (a, b) = (a?, b?);
        put!(
            s,
            r#"<div class="card" id="diff"><h2>Version {from} → {to}</h2><pre>{}</pre></div>"#,
            line_diff(&a.body, &b.body)
        );
    }

    put!(
        s,
        r#"<div class="card" id="current"><h2>In force{}</h2><pre>{}</pre></div>"#,
        current
            .map_or(" (built-in defaults)".to_string(), |v| format!(
                ": version {} by {}",
                v.version, v.author
            ))
            .as_str(),
        escape(&current_body)
    );
    Ok(s)
}

fn version_param(params: &HashMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(key)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::BadRequest(format!("{key}: a version number")))
        })
        .transpose()
}

async fn version(
    state: &AppState,
    listed: &[ConfigVersion],
    n: u64,
) -> Result<ConfigVersion, ApiError> {
    if let Some(v) = listed.iter().find(|v| v.version == n) {
        return Ok(v.clone());
    }
    state
        .storage
        .get_config_version(n)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Lines removed (`-`) and added (`+`) from `a` to `b`, with unchanged lines as context
/// (longest common subsequence), escaped for a `<pre>`.
fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            put!(out, "  {}\n", escape(a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            put!(
                out,
                r#"<span class="band-healthy">+ {}</span>"#,
                escape(b[j])
            );
            out.push('\n');
            j += 1;
        } else {
            put!(
                out,
                r#"<span class="band-at_risk">- {}</span>"#,
                escape(a[i])
            );
            out.push('\n');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn a_diff_marks_removed_and_added_lines() {
        let d = line_diff("a\nb\nc", "a\nc\nd");
        assert_eq!(
            d,
            "  a\n<span class=\"band-at_risk\">- b</span>\n  c\n<span class=\"band-healthy\">+ d</span>\n"
        );
    }
}
