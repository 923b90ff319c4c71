//! Maps `group` and `identify` traits onto account and user profiles. Known trait names (and
//! their common spellings in CRM exports) fill typed fields; everything else is kept as custom.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::model::{AccountProfile, UserProfile};

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace([',', '$'], "").parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite() && *f >= 0.0)
}

fn date(v: &Value) -> Option<NaiveDate> {
    let s = v.as_str()?.trim();
    s.parse::<NaiveDate>()
        .ok()
        .or_else(|| super::message::parse_time(s).map(|t| t.date_naive()))
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" | "" => Some(false),
            _ => None,
        },
        Value::Number(n) => Some(n.as_f64() != Some(0.0)),
        _ => None,
    }
}

/// Lower-cases and drops separators so `renewalDate`, `renewal_date` and `Renewal Date` match.
fn normalise_key(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A typed field of the account profile that a `group` trait (or CRM column) can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountField {
    Name,
    Plan,
    Tier,
    Seats,
    Mrr,
    Arr,
    RenewalDate,
    Owner,
    OwnerManager,
    Region,
    ProductLine,
    StartedOn,
}

impl AccountField {
    /// The field a trait name fills, whatever its spelling (`csm_email`, `Owner`...).
    fn of(normalised: &str) -> Option<AccountField> {
        Some(match normalised {
            "name" | "accountname" | "companyname" => AccountField::Name,
            "plan" | "planname" => AccountField::Plan,
            "tier" | "edition" | "segment" => AccountField::Tier,
            "seats" | "licensedseats" | "seatlimit" | "licenses" => AccountField::Seats,
            "mrr" | "monthlyrevenue" => AccountField::Mrr,
            "arr" | "annualrevenue" => AccountField::Arr,
            "renewaldate" | "renewalon" | "contractend" | "contractenddate" => {
                AccountField::RenewalDate
            }
            "owner" | "owneremail" | "csm" | "csmemail" | "accountowner" => AccountField::Owner,
            "ownermanager" | "csmmanager" | "manager" | "manageremail" => {
                AccountField::OwnerManager
            }
            "region" => AccountField::Region,
            "productline" | "product" => AccountField::ProductLine,
            "contractstart" | "startdate" | "startedon" | "createdat" | "customersince" => {
                AccountField::StartedOn
            }
            _ => return None,
        })
    }

    /// The field's name as configuration lists it (`[ingest] protected_traits`).
    fn name(self) -> &'static str {
        match self {
            AccountField::Name => "name",
            AccountField::Plan => "plan",
            AccountField::Tier => "tier",
            AccountField::Seats => "seats",
            AccountField::Mrr => "mrr",
            AccountField::Arr => "arr",
            AccountField::RenewalDate => "renewal_date",
            AccountField::Owner => "owner",
            AccountField::OwnerManager => "owner_manager",
            AccountField::Region => "region",
            AccountField::ProductLine => "product_line",
            AccountField::StartedOn => "started_on",
        }
    }

    /// Writes `value` into the field; false if the value is unusable for it.
    fn set(self, profile: &mut AccountProfile, value: &Value) -> bool {
        match self {
            AccountField::Name => set(&mut profile.name, text(value)),
            AccountField::Plan => set(&mut profile.plan, text(value)),
            AccountField::Tier => set(&mut profile.tier, text(value)),
            AccountField::Seats => set(&mut profile.seats, number(value).map(|f| f.round() as u32)),
            AccountField::Mrr => set(&mut profile.mrr, number(value)),
            AccountField::Arr => set(&mut profile.arr, number(value)),
            AccountField::RenewalDate => set(&mut profile.renewal_date, date(value)),
            AccountField::Owner => set(&mut profile.owner, text(value)),
            AccountField::OwnerManager => set(&mut profile.owner_manager, text(value)),
            AccountField::Region => set(&mut profile.region, text(value)),
            AccountField::ProductLine => set(&mut profile.product_line, text(value)),
            AccountField::StartedOn => set(&mut profile.started_on, date(value)),
        }
    }
}

/// What a trait name means, whatever its spelling: the profile field it fills (`csm_email` and
/// `Owner` are both `owner`), else the name lower-cased without separators. Two names with the
/// same meaning are protected together.
pub fn trait_meaning(key: &str) -> String {
    let normalised = normalise_key(key);
    match AccountField::of(&normalised) {
        Some(field) => field.name().to_string(),
        None => normalised,
    }
}

/// Applies traits onto a profile: a trait present overrides, a trait absent keeps the old value.
/// Returns the names of traits that had a known meaning but an unusable value.
pub fn apply_account_traits(
    profile: &mut AccountProfile,
    traits: &Map<String, Value>,
) -> Vec<String> {
    let mut unusable = Vec::new();
    for (key, value) in traits {
        if value.is_null() {
            continue;
        }
        let ok = match AccountField::of(&normalise_key(key)) {
            Some(field) => field.set(profile, value),
            None => {
                profile.custom.insert(key.clone(), value.clone());
                true
            }
        };
        if !ok {
            unusable.push(key.clone());
        }
    }
    if profile.mrr.is_none() {
        profile.mrr = profile.arr.map(|a| a / 12.0);
    }
    unusable
}

/// Applies `identify` traits onto a user profile, like [`apply_account_traits`].
pub fn apply_user_traits(user: &mut UserProfile, traits: &Map<String, Value>) -> Vec<String> {
    let mut unusable = Vec::new();
    for (key, value) in traits {
        if value.is_null() {
            continue;
        }
        let ok = match normalise_key(key).as_str() {
            "name" | "fullname" => set(&mut user.name, text(value)),
            "email" => set(&mut user.email, text(value)),
            "role" | "title" | "jobtitle" => set(&mut user.role, text(value)),
            "champion" | "ischampion" => match boolean(value) {
                Some(b) => {
                    user.champion = b;
                    true
                }
                None => false,
            },
            _ => {
                user.traits.insert(key.clone(), value.clone());
                true
            }
        };
        if !ok {
            unusable.push(key.clone());
        }
    }
    if user.name.is_none() {
        let first = traits.get("firstName").and_then(text);
        let last = traits.get("lastName").and_then(text);
        user.name = match (first, last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.or(l),
        };
    }
    unusable
}

fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    match value {
        Some(v) => {
            *slot = Some(v);
            true
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crm_style_group_traits_fill_the_profile() {
        let mut p = AccountProfile::default();
        let traits = json!({"name": "Acme", "plan": "Enterprise", "Seats": "50", "ARR": "120,000",
            "renewalDate": "2026-09-30", "csm_email": "dana@vendor.io", "region": "EMEA",
            "industry": "Retail"});
        let bad = apply_account_traits(&mut p, traits.as_object().unwrap());
        assert!(bad.is_empty());
        assert_eq!(p.name.as_deref(), Some("Acme"));
        assert_eq!(p.seats, Some(50));
        assert_eq!(p.arr, Some(120_000.0));
        assert_eq!(p.mrr, Some(10_000.0));
        assert_eq!(p.renewal_date, Some("2026-09-30".parse().unwrap()));
        assert_eq!(p.owner.as_deref(), Some("dana@vendor.io"));
        assert_eq!(p.custom["industry"], "Retail");
    }

    #[test]
    fn absent_traits_keep_earlier_values_and_bad_values_are_reported() {
        let mut p = AccountProfile {
            name: Some("Acme".into()),
            ..Default::default()
        };
        let bad = apply_account_traits(&mut p, json!({"seats": "many"}).as_object().unwrap());
        assert_eq!(bad, vec!["seats".to_string()]);
        assert_eq!(p.name.as_deref(), Some("Acme"));
    }

    #[test]
    fn identify_traits_fill_the_user() {
        let mut u = UserProfile::default();
        apply_user_traits(
            &mut u,
            json!({"firstName": "Ann", "lastName": "Lee", "email": "ann@acme.com", "title": "VP Ops", "champion": "yes"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(u.name.as_deref(), Some("Ann Lee"));
        assert_eq!(u.role.as_deref(), Some("VP Ops"));
        assert!(u.champion);
    }
}
