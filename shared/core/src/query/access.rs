//! Roles and scoping: a principal (a user and a role) and what each role may read or change.
//! A CSM or account executive sees only accounts whose `profile.owner` is them; asking for
//! another owner's account looks exactly like asking for one that does not exist.

use serde::{Deserialize, Serialize};

use crate::model::AccountProfile;

/// What a token holder may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Customer success manager: reads and acts on (alerts) their own accounts.
    #[serde(rename = "csm")]
    Csm,
    /// Account executive: reads their own accounts, including expansion signals.
    #[serde(rename = "ae")]
    Ae,
    /// Everything, including the configuration.
    #[serde(rename = "admin")]
    Admin,
    /// A CS leader: reads every account and alert and acts on any alert (reassigning too),
    /// like an admin, but neither reads nor changes the configuration.
    #[serde(rename = "lead")]
    Lead,
    /// Portfolio dashboard and metrics only.
    #[serde(rename = "read-only")]
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Lead, Role::Csm, Role::Ae, Role::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Csm => "csm",
            Role::Ae => "ae",
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::ReadOnly => "read-only",
        }
    }

    /// Parses a role name (`csm`, `ae`, `lead`, `admin`, `read-only`; `readonly` and
    /// `read_only` too).
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csm" => Some(Role::Csm),
            "ae" => Some(Role::Ae),
            "admin" => Some(Role::Admin),
            "lead" => Some(Role::Lead),
            "read-only" | "readonly" | "read_only" => Some(Role::ReadOnly),
            _ => None,
        }
    }

    /// When a user holds several roles (a groups claim), the one granting the most.
    fn rank(self) -> u8 {
        match self {
            Role::Admin => 4,
            Role::Lead => 3,
            Role::Csm => 2,
            Role::Ae => 1,
            Role::ReadOnly => 0,
        }
    }

    /// The most powerful of several roles.
    pub fn strongest(roles: impl IntoIterator<Item = Role>) -> Option<Role> {
        roles.into_iter().max_by_key(|r| r.rank())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user, usually an email address; matched against account owners.
    pub user: String,
    pub role: Role,
}

impl Principal {
    pub fn new(user: impl Into<String>, role: Role) -> Self {
        Principal {
            user: user.into(),
            role,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// May list and open accounts at all (read-only sees aggregates only).
    pub fn reads_accounts(&self) -> bool {
        self.role != Role::ReadOnly
    }

    /// Reads every account and alert, not only their own (admin, lead).
    pub fn reads_every_account(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Lead)
    }

    /// Whether the portfolio this principal reads is every account (admin, lead, read-only)
    /// rather than their own book.
    pub fn reads_whole_portfolio(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Lead | Role::ReadOnly)
    }

    /// May change alerts (acknowledge, resolve, snooze): CSMs their own, admins and leads any.
    pub fn writes_alerts(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Lead | Role::Csm)
    }

    /// May give an alert to another owner (admin, lead).
    pub fn reassigns_alerts(&self) -> bool {
        self.reads_every_account()
    }

    /// Whether the account is visible to this principal.
    pub fn sees(&self, profile: &AccountProfile) -> bool {
        self.sees_owned_by(profile.owner.as_deref())
    }

    /// Whether an account owned by `owner` is visible to this principal (list rows carry the
    /// owner, not the whole profile).
    pub fn sees_owned_by(&self, owner: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::Lead => true,
            Role::Csm | Role::Ae => self.owns(owner),
            Role::ReadOnly => false,
        }
    }

    /// Whether `owner` is this principal (case-insensitive, as emails are).
    pub fn owns(&self, owner: Option<&str>) -> bool {
        owner.is_some_and(|o| o.trim().eq_ignore_ascii_case(self.user.trim()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn owned_by(owner: &str) -> AccountProfile {
        AccountProfile {
            owner: Some(owner.into()),
            ..Default::default()
        }
    }

    #[test]
    fn csm_sees_only_accounts_they_own() {
        let csm = Principal::new("ana@example.com", Role::Csm);
        assert!(csm.sees(&owned_by("Ana@Example.com")));
        assert!(!csm.sees(&owned_by("bob@example.com")));
        assert!(!csm.sees(&AccountProfile::default()));
    }

    #[test]
    fn admin_sees_everything_and_read_only_no_account() {
        assert!(Principal::new("x", Role::Admin).sees(&owned_by("bob@example.com")));
        assert!(!Principal::new("x", Role::ReadOnly).sees(&owned_by("x")));
    }

    #[test]
    fn a_lead_sees_every_account_and_acts_on_alerts_but_is_no_admin() {
        let lead = Principal::new("lee@example.com", Role::Lead);
        assert!(lead.sees(&owned_by("bob@example.com")));
        assert!(lead.sees(&AccountProfile::default()));
        assert!(lead.reads_whole_portfolio());
        assert!(lead.writes_alerts() && lead.reassigns_alerts());
        assert!(!lead.is_admin());
        let csm = Principal::new("ana@example.com", Role::Csm);
        assert!(csm.writes_alerts() && !csm.reassigns_alerts());
    }

    #[test]
    fn role_names_round_trip_and_the_strongest_wins() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
        assert_eq!(
            Role::strongest([Role::ReadOnly, Role::Csm, Role::Ae]),
            Some(Role::Csm)
        );
        assert_eq!(Role::strongest([Role::Csm, Role::Lead]), Some(Role::Lead));
        assert_eq!(
            Role::strongest([Role::Lead, Role::Admin]),
            Some(Role::Admin)
        );
    }
}
