//! API tokens and roles for the query API and dashboard (`[auth]`).
//!
//! `vitals serve` accepts HS256 tokens minted by `vitals token` with the data directory's
//! secret; in AWS, API Gateway validates JWTs and the query function reads the role from the
//! claim named here (or `VITALS_JWT_ROLES_CLAIM`).

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of tokens minted by `vitals token` when `--ttl` is not given, in days.
    pub token_ttl_days: u32,
    /// JWT claim holding the caller's role(s), e.g. Cognito's groups claim, whose value arrives
    /// as one string like `"[admin csm]"`.
    pub roles_claim: String,
    /// JWT claim holding the caller's user (matched against account owners).
    pub user_claim: String,
    /// Users (emails) who are admins whatever their token's role says.
    pub admin_emails: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl_days: 30,
            roles_claim: "cognito:groups".into(),
            user_claim: "email".into(),
            admin_emails: Vec::new(),
        }
    }
}

impl AuthConfig {
    /// Longest token lifetime `vitals token` will mint: a year.
    pub const MAX_TOKEN_TTL_DAYS: u32 = 365;

    /// Adds this section's problems, each naming its key (`auth.…`).
    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let mut issue = |key: String, problem: &str| {
            issues.push(ConfigIssue {
                key,
                problem: problem.into(),
            })
        };
        if self.token_ttl_days == 0 || self.token_ttl_days > Self::MAX_TOKEN_TTL_DAYS {
            issue(
                "auth.token_ttl_days".into(),
                "must be between 1 and 365 days",
            );
        }
        if self.roles_claim.trim().is_empty() {
            issue("auth.roles_claim".into(), "must not be empty");
        }
        if self.user_claim.trim().is_empty() {
            issue("auth.user_claim".into(), "must not be empty");
        }
        for (i, email) in self.admin_emails.iter().enumerate() {
            let email = email.trim();
            if email.len() < 3 || !email.contains('@') {
                issue(
                    format!("auth.admin_emails[{i}]"),
                    "must be an email address",
                );
            }
        }
    }

    /// Whether `user` is listed in `admin_emails` (case-insensitive).
    pub fn is_admin_email(&self, user: &str) -> bool {
        self.admin_emails
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(user.trim()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::VitalsConfig;

    #[test]
    fn auth_section_problems_name_their_keys() {
        let err = VitalsConfig::parse(
            "[auth]\ntoken_ttl_days = 0\nroles_claim = \"\"\nadmin_emails = [\"nobody\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("auth.token_ttl_days"), "{err}");
        assert!(err.contains("auth.roles_claim"), "{err}");
        assert!(err.contains("auth.admin_emails[0]"), "{err}");
    }

    #[test]
    fn admin_emails_match_case_insensitively() {
        let auth = AuthConfig {
            admin_emails: vec!["Boss@Example.com".into()],
            ..Default::default()
        };
        assert!(auth.is_admin_email("boss@example.com"));
        assert!(!auth.is_admin_email("ana@example.com"));
    }
}
