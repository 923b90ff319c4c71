//! The settings page (`/dashboard/settings`, admins): the configuration in force as TOML, its
//! versions, the difference between two of them, and a draft to validate or save. Saving goes
//! through the same path as `PUT /v1/config` (validated, versioned, audited).
//!
//! Reads: the version list (1), and up to two versions for a diff older than the list.

use std::collections::HashMap;

use vitals_core::config::{check_draft, ConfigIssue, VitalsConfig};
use vitals_core::model::ConfigVersion;

use serde::Serialize;

use super::pages::{self, Frame};
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
    frame: &Frame,
) -> Result<String, ApiError> {
    if !who.is_admin() {
        return Err(ApiError::Forbidden);
    }
    let versions = state.storage.list_config_versions(VERSIONS).await?;
    let current = versions.first();
    let current_body = current.map_or_else(VitalsConfig::default_toml, |v| v.body.clone());
    let diff = match (version_param(params, "from")?, version_param(params, "to")?) {
        (Some(from), Some(to)) => {
            let (a, b) = futures::join!(
                version(state, &versions, from),
                version(state, &versions, to)
            );
            let (a, b) = (a?, b?);
            Some(Diff {
                from,
                to,
                lines: line_diff(&a.body, &b.body),
            })
        }
        _ => None,
    };
    let page = SettingsPage {
        checked: checked.map(|c| CheckedView {
            valid: c.problems.is_empty() && c.headline == "valid",
            headline: &c.headline,
            problems: c
                .problems
                .iter()
                .map(|p| Problem {
                    key: &p.key,
                    problem: &p.problem,
                })
                .collect(),
        }),
        csrf,
        base_version: current.map_or(0, |v| v.version),
        draft: checked.map_or(current_body.as_str(), |c| c.draft.as_str()),
        versions: versions
            .iter()
            .map(|v| VersionLine {
                version: v.version,
                author: &v.author,
                when: v.created_at.format("%Y-%m-%d %H:%M").to_string(),
                summary: &v.summary,
            })
            .collect(),
        diff,
        in_force: current.map_or(" (built-in defaults)".to_string(), |v| {
            format!(": version {} by {}", v.version, v.author)
        }),
        current: &current_body,
    };
    pages::render("settings.html", frame, page)
}

/// The settings page's view: the draft and what it came to, the versions, a diff, the
/// configuration in force.
#[derive(Serialize)]
struct SettingsPage<'a> {
    checked: Option<CheckedView<'a>>,
    csrf: &'a str,
    base_version: u64,
    draft: &'a str,
    versions: Vec<VersionLine<'a>>,
    diff: Option<Diff>,
    in_force: String,
    current: &'a str,
}

#[derive(Serialize)]
struct CheckedView<'a> {
    valid: bool,
    headline: &'a str,
    problems: Vec<Problem<'a>>,
}

#[derive(Serialize)]
struct Problem<'a> {
    key: &'a str,
    problem: &'a str,
}

#[derive(Serialize)]
struct VersionLine<'a> {
    version: u64,
    author: &'a str,
    when: String,
    summary: &'a str,
}

#[derive(Serialize)]
struct Diff {
    from: u64,
    to: u64,
    lines: Vec<DiffLine>,
}

/// A line of a diff: `change` is "+" (added), "-" (removed) or " " (unchanged).
#[derive(Debug, PartialEq, Serialize)]
struct DiffLine {
    change: &'static str,
    text: String,
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
/// (longest common subsequence).
fn line_diff(a: &str, b: &str) -> Vec<DiffLine> {
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
    let line = |change, text: &str| DiffLine {
        change,
        text: text.to_string(),
    };
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(line(" ", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(line("+", b[j]));
            j += 1;
        } else {
            out.push(line("-", a[i]));
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
        let d: Vec<String> = line_diff("a\nb\nc", "a\nc\nd")
            .into_iter()
            .map(|l| format!("{}{}", l.change, l.text))
            .collect();
        assert_eq!(d, [" a", "-b", " c", "+d"]);
    }
}
