//! Personalised outreach drafts: the contact to write to, their most recently used feature,
//! when they were last active and a tip for their use case, rendered through a minijinja
//! template from `[alerts.templates]`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use super::rules::TemplateConfig;
use crate::config::AlertsConfig;
use crate::model::{AccountId, AccountProfile, UsageWindow, UserProfile};

/// The personalisation of one draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Personalisation {
    pub contact: Option<UserProfile>,
    pub feature: Option<String>,
    pub last_active: Option<NaiveDate>,
    pub tip: String,
}

/// The contact to write to: a champion with an email, most recently active first; else the
/// most recently active user with an email; else any user with an email.
pub fn choose_contact<'u>(
    users: &'u [UserProfile],
    profile: &AccountProfile,
    window: &UsageWindow,
) -> Option<&'u UserProfile> {
    let last = |u: &UserProfile| window.users_last_active.get(&u.user_id);
    let reachable = users.iter().filter(|u| u.email.is_some());
    let is_champion = |u: &UserProfile| u.champion || profile.champions.contains(&u.user_id);
    reachable.max_by(|a, b| {
        (is_champion(a), last(a), std::cmp::Reverse(&a.user_id)).cmp(&(
            is_champion(b),
            last(b),
            std::cmp::Reverse(&b.user_id),
        ))
    })
}

/// The feature used most recently on the account (ties: alphabetical first).
pub fn most_recent_feature(window: &UsageWindow) -> Option<String> {
    window
        .features_last_used
        .iter()
        .max_by(|(fa, da), (fb, db)| da.cmp(db).then(fb.cmp(fa)))
        .map(|(f, _)| f.to_string())
}

/// A tip for the use case: by feature, else product line, else tier, else `default`.
pub fn tip_for(
    tips: &BTreeMap<String, String>,
    feature: Option<&str>,
    profile: &AccountProfile,
) -> String {
    [
        feature,
        profile.product_line.as_deref(),
        profile.tier.as_deref(),
        Some("default"),
    ]
    .into_iter()
    .flatten()
    .find_map(|k| tips.get(k).or_else(|| tips.get(&k.to_ascii_lowercase())))
    .cloned()
    .unwrap_or_else(|| "our help centre has short guides for every feature.".to_string())
}

pub fn personalise(
    users: &[UserProfile],
    profile: &AccountProfile,
    window: &UsageWindow,
    config: &AlertsConfig,
) -> Personalisation {
    let contact = choose_contact(users, profile, window).cloned();
    let feature = most_recent_feature(window);
    let last_active = contact
        .as_ref()
        .and_then(|c| window.users_last_active.get(&c.user_id))
        .or_else(|| window.users_last_active.latest());
    let tip = tip_for(&config.tips, feature.as_deref(), profile);
    Personalisation {
        contact,
        feature,
        last_active,
        tip,
    }
}

/// "maria.lopez@vendor.com" → "Maria Lopez".
pub fn name_from_address(address: &str) -> String {
    let local = address.split('@').next().unwrap_or(address);
    local
        .split(['.', '_', '-', '+'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The template context: everything a template may use.
pub fn context(
    account_id: &AccountId,
    profile: &AccountProfile,
    p: &Personalisation,
    sender: Option<&str>,
    score: Option<f64>,
    follow_up_days: u32,
) -> serde_json::Value {
    let contact_name = p.contact.as_ref().and_then(|c| c.name.clone());
    let first_name = contact_name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map(str::to_string)
        .unwrap_or_else(|| "there".to_string());
    json!({
        "account": {
            "id": account_id.as_str(),
            "name": profile.name.clone().unwrap_or_else(|| account_id.to_string()),
            "tier": profile.tier,
            "region": profile.region,
            "product_line": profile.product_line,
            "owner": profile.owner,
        },
        "contact": {
            "name": contact_name,
            "first_name": first_name,
            "email": p.contact.as_ref().and_then(|c| c.email.clone()),
            "role": p.contact.as_ref().and_then(|c| c.role.clone()),
        },
        "feature": p.feature,
        "last_active": p.last_active.map(|d| d.to_string()),
        "tip": p.tip,
        "product": profile.product_line.clone().unwrap_or_else(|| "the product".to_string()),
        "sender": {
            "email": sender,
            "name": sender.map(name_from_address).unwrap_or_else(|| "Your Customer Success team".to_string()),
        },
        "score": score.map(|s| (s * 10.0).round() / 10.0),
        "follow_up_days": follow_up_days,
    })
}

/// Renders a template string; the error says what is wrong with it.
pub fn render_str(template: &str, context: &serde_json::Value) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    env.render_str(template, minijinja::value::Serde(context))
        .map_err(|e| e.to_string())
}

/// Renders a template's subject and body.
pub fn render(
    template: &TemplateConfig,
    context: &serde_json::Value,
) -> Result<(String, String), String> {
    Ok((
        render_str(&template.subject, context)?,
        render_str(&template.body, context)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn user(id: &str, name: &str, champion: bool) -> UserProfile {
        UserProfile {
            user_id: id.into(),
            name: Some(name.into()),
            email: Some(format!("{id}@acme.com")),
            champion,
            ..UserProfile::default()
        }
    }

    #[test]
    fn a_draft_names_the_contact_feature_last_active_day_and_a_tip() {
        let users = vec![user("u1", "Ana Diaz", false), user("u2", "Ben Ode", true)];
        let mut window = UsageWindow::default();
        window.users_last_active.insert("u1".into(), day(10));
        window.users_last_active.insert("u2".into(), day(4));
        window.features_last_used.insert("Reports".into(), day(4));
        window
            .features_last_used
            .insert("Dashboards".into(), day(9));
        let mut config = AlertsConfig::default();
        config.tips.insert(
            "Dashboards".into(),
            "pin a dashboard to your team's home page.".into(),
        );
        let profile = AccountProfile {
            name: Some("Acme".into()),
            owner: Some("maria.lopez@vendor.com".into()),
            ..AccountProfile::default()
        };
        let p = personalise(&users, &profile, &window, &config);
        assert_eq!(p.contact.as_ref().unwrap().user_id, "u2", "champions first");
        assert_eq!(p.feature.as_deref(), Some("Dashboards"));
        assert_eq!(p.last_active, Some(day(4)));
        let id = AccountId::new("acme").unwrap();
        let ctx = context(&id, &profile, &p, profile.owner.as_deref(), Some(41.0), 7);
        let (subject, body) = render(&config.templates["check_in"], &ctx).unwrap();
        assert_eq!(subject, "Checking in on Acme");
        assert!(body.starts_with("Hi Ben,"), "{body}");
        assert!(body.contains("2026-03-04"), "{body}");
        assert!(body.contains("working with Dashboards"), "{body}");
        assert!(body.contains("pin a dashboard"), "{body}");
        assert!(body.ends_with("Maria Lopez"), "{body}");
    }

    #[test]
    fn without_a_champion_the_most_recently_active_user_is_the_contact() {
        let users = vec![user("u1", "Ana", false), user("u2", "Ben", false)];
        let mut window = UsageWindow::default();
        window.users_last_active.insert("u1".into(), day(10));
        window.users_last_active.insert("u2".into(), day(4));
        let c = choose_contact(&users, &AccountProfile::default(), &window).unwrap();
        assert_eq!(c.user_id, "u1");
    }

    #[test]
    fn tips_fall_back_from_feature_to_product_line_to_default() {
        let tips: BTreeMap<String, String> = [
            ("analytics".to_string(), "A".to_string()),
            ("default".to_string(), "D".to_string()),
        ]
        .into();
        let mut profile = AccountProfile {
            product_line: Some("Analytics".into()),
            ..AccountProfile::default()
        };
        assert_eq!(tip_for(&tips, Some("Export"), &profile), "A");
        profile.product_line = None;
        assert_eq!(tip_for(&tips, Some("Export"), &profile), "D");
    }
}
