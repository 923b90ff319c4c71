//! Rule evaluation: which workflows a trigger starts for an account. Pure functions over the
//! configuration, the trigger and the account's facts, so every rule is unit-testable.

use serde_json::Value;

use super::rules::{Condition, DeclineLevel, Trigger, Workflow};
use crate::model::{AccountId, AccountProfile, Alert, Band};
use crate::score_event::{ScoreEvent, ScoreEventKind};

/// What started a workflow run.
#[derive(Debug, Clone, Copy)]
pub enum TriggerEvent<'a> {
    /// A score event from the daily run.
    Score(&'a ScoreEvent),
    /// An alert another workflow opened for this score event.
    AlertFired {
        alert: &'a Alert,
        event: &'a ScoreEvent,
    },
    /// An outreach got no response in time.
    NoResponse(&'a ScoreEvent),
}

impl<'a> TriggerEvent<'a> {
    /// The score event behind the trigger.
    pub fn score_event(&self) -> &'a ScoreEvent {
        match self {
            TriggerEvent::Score(e)
            | TriggerEvent::AlertFired { event: e, .. }
            | TriggerEvent::NoResponse(e) => e,
        }
    }

    /// `band_changed`, `decline_moderate`, ..., `alert_fired`, `no_response`.
    pub fn name(&self) -> &'static str {
        match self {
            TriggerEvent::Score(e) => e.kind.as_str(),
            TriggerEvent::AlertFired { .. } => "alert_fired",
            TriggerEvent::NoResponse(_) => "no_response",
        }
    }
}

/// Whether `trigger` fires on `event`.
pub fn trigger_matches(trigger: &Trigger, event: &TriggerEvent<'_>) -> bool {
    match (trigger, event) {
        (Trigger::AlertFired { kind, severity }, TriggerEvent::AlertFired { alert, .. }) => {
            kind.as_ref().is_none_or(|k| *k == alert.kind)
                && severity.is_none_or(|s| alert.severity >= s)
        }
        (Trigger::NoResponse, TriggerEvent::NoResponse(_)) => true,
        (_, TriggerEvent::Score(e)) => score_trigger_matches(trigger, e),
        _ => false,
    }
}

fn score_trigger_matches(trigger: &Trigger, e: &ScoreEvent) -> bool {
    match trigger {
        Trigger::ScoreChanged { min_drop } => {
            matches!(
                e.kind,
                ScoreEventKind::ScoreDropped | ScoreEventKind::BandChanged
            ) && match (min_drop, e.previous_score) {
                (None, _) => true,
                (Some(min), Some(prev)) => prev - e.score >= *min,
                (Some(_), None) => false,
            }
        }
        Trigger::BandChanged { to, from } => {
            e.kind == ScoreEventKind::BandChanged
                && to.is_none_or(|b| e.band == b)
                && from.is_none_or(|b| e.previous_band == Some(b))
        }
        Trigger::Decline { severity } => match e.kind {
            ScoreEventKind::DeclineModerate => severity.is_none_or(|s| s == DeclineLevel::Moderate),
            ScoreEventKind::DeclineSevere => severity.is_none_or(|s| s == DeclineLevel::Severe),
            _ => false,
        },
        Trigger::UsageMilestone { milestone } => {
            e.kind == ScoreEventKind::UsageMilestone
                && milestone.as_ref().is_none_or(|m| {
                    let name = e.detail.get("milestone").and_then(Value::as_str);
                    let value = e.detail.get("value").map(Value::to_string);
                    name == Some(m.as_str())
                        || value.is_some_and(|v| format!("{}_{v}", name.unwrap_or("")) == *m)
                })
        }
        Trigger::RenewalWithin { days } => {
            e.kind == ScoreEventKind::RenewalApproaching
                && e.detail
                    .get("days_to_renewal")
                    .and_then(Value::as_i64)
                    .is_some_and(|d| d <= *days)
        }
        Trigger::ExpansionSignal => e.kind == ScoreEventKind::ExpansionSignal,
        Trigger::AlertFired { .. } | Trigger::NoResponse => false,
    }
}

/// What conditions can test: the account's profile and the triggering event.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub account_id: &'a AccountId,
    pub profile: &'a AccountProfile,
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub decline: Option<DeclineLevel>,
    pub high_value: bool,
}

impl<'a> Facts<'a> {
    pub fn new(
        account_id: &'a AccountId,
        profile: &'a AccountProfile,
        event: &ScoreEvent,
        high_value_mrr: f64,
    ) -> Self {
        let decline = match event.kind {
            ScoreEventKind::DeclineModerate => Some(DeclineLevel::Moderate),
            ScoreEventKind::DeclineSevere => Some(DeclineLevel::Severe),
            _ => None,
        };
        Facts {
            account_id,
            profile,
            score: Some(event.score),
            band: Some(event.band),
            decline,
            high_value: is_high_value(profile, high_value_mrr),
        }
    }

    /// The value of a condition field, `None` when the account has no value for it.
    pub fn field(&self, name: &str) -> Option<Value> {
        let p = self.profile;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let num = |v: Option<f64>| v.and_then(serde_json::Number::from_f64).map(Value::Number);
        match name {
            "account_id" => Some(Value::String(self.account_id.to_string())),
            "tier" => text(&p.tier),
            "plan" => text(&p.plan),
            "region" => text(&p.region),
            "product_line" => text(&p.product_line),
            "owner" => text(&p.owner),
            "owner_manager" => text(&p.owner_manager),
            "name" => text(&p.name),
            "mrr" => num(p.mrr),
            "arr" => num(p.arr.or(p.mrr.map(|m| m * 12.0))),
            "seats" => p.seats.map(Value::from),
            "score" => num(self.score),
            "band" => self.band.map(|b| Value::String(b.as_str().into())),
            "high_value" => Some(Value::Bool(self.high_value)),
            "decline" => self.decline.map(|d| {
                Value::String(
                    match d {
                        DeclineLevel::Moderate => "moderate",
                        DeclineLevel::Severe => "severe",
                    }
                    .into(),
                )
            }),
            other => other
                .strip_prefix("custom.")
                .and_then(|k| p.custom.get(k).cloned())
                .filter(|v| !v.is_null()),
        }
    }
}

/// High-value: MRR (or ARR / 12) at or above the threshold.
pub fn is_high_value(profile: &AccountProfile, high_value_mrr: f64) -> bool {
    profile
        .mrr
        .or(profile.arr.map(|a| a / 12.0))
        .is_some_and(|m| m >= high_value_mrr)
}

/// Whether a condition holds for these facts. A missing value satisfies only `present = false`
/// (and the `not` of anything).
pub fn condition_holds(c: &Condition, facts: &Facts<'_>) -> bool {
    if !c.all.is_empty() {
        return c.all.iter().all(|sub| condition_holds(sub, facts));
    }
    if !c.any.is_empty() {
        return c.any.iter().any(|sub| condition_holds(sub, facts));
    }
    if let Some(sub) = &c.not {
        return !condition_holds(sub, facts);
    }
    let Some(field) = &c.field else {
        return true;
    };
    let value = facts.field(field);
    if let Some(present) = c.present {
        return value.is_some() == present;
    }
    let Some(value) = value else {
        return false;
    };
    if let Some(expected) = &c.equals {
        return equals(&value, expected);
    }
    if !c.one_of.is_empty() {
        return c.one_of.iter().any(|expected| equals(&value, expected));
    }
    let number = value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
    if let Some(min) = c.at_least {
        return number.is_some_and(|n| n >= min);
    }
    if let Some(max) = c.below {
        return number.is_some_and(|n| n < max);
    }
    true
}

/// Strings compare case-insensitively (tiers are written `Enterprise` and `enterprise`),
/// numbers numerically, booleans exactly.
fn equals(value: &Value, expected: &toml::Value) -> bool {
    match (value, expected) {
        (Value::String(a), toml::Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Bool(a), toml::Value::Boolean(b)) => a == b,
        (Value::Number(a), toml::Value::Integer(b)) => a.as_f64() == Some(*b as f64),
        (Value::Number(a), toml::Value::Float(b)) => a.as_f64() == Some(*b),
        (Value::String(a), toml::Value::Integer(b)) => a.trim() == b.to_string(),
        (Value::Bool(a), toml::Value::String(b)) => b.eq_ignore_ascii_case(&a.to_string()),
        _ => false,
    }
}

/// The enabled workflows that `event` starts for an account with these facts, in config order.
pub fn matching<'w>(
    workflows: &'w [Workflow],
    event: &TriggerEvent<'_>,
    facts: &Facts<'_>,
) -> Vec<&'w Workflow> {
    workflows
        .iter()
        .filter(|w| w.enabled && trigger_matches(&w.trigger, event))
        .filter(|w| w.when.as_ref().is_none_or(|c| condition_holds(c, facts)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::Action;
    use crate::config::AlertsConfig;
    use crate::model::{AlertStatus, Severity};
    use chrono::{NaiveDate, TimeZone, Utc};
    use serde_json::json;

    fn acct() -> AccountId {
        AccountId::new("acme").unwrap()
    }

    fn event(kind: ScoreEventKind, score: f64, band: Band) -> ScoreEvent {
        ScoreEvent {
            id: format!("2026-03-01:{}:acme", kind.as_str()),
            account_id: acct(),
            as_of: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            kind,
            score,
            band,
            previous_score: Some(70.0),
            previous_band: Some(Band::Monitor),
            summary: "something happened".into(),
            detail: json!({}),
            scored_at: None,
        }
    }

    fn profile(tier: &str, mrr: f64) -> AccountProfile {
        AccountProfile {
            name: Some("Acme".into()),
            tier: Some(tier.into()),
            mrr: Some(mrr),
            region: Some("EMEA".into()),
            product_line: Some("analytics".into()),
            owner: Some("csm@vendor.com".into()),
            custom: [("industry".to_string(), json!("fintech"))].into(),
            ..AccountProfile::default()
        }
    }

    fn names<'w>(ws: &[&'w Workflow]) -> Vec<&'w str> {
        ws.iter().map(|w| w.name.as_str()).collect()
    }

    fn run_defaults(e: &ScoreEvent, p: &AccountProfile) -> Vec<String> {
        let config = AlertsConfig::default();
        let id = acct();
        let facts = Facts::new(&id, p, e, config.high_value_mrr);
        names(&matching(
            &config.workflows,
            &TriggerEvent::Score(e),
            &facts,
        ))
        .into_iter()
        .map(str::to_string)
        .collect()
    }

    #[test]
    fn band_changed_trigger_filters_by_target_and_origin_band() {
        let e = event(ScoreEventKind::BandChanged, 35.0, Band::AtRisk);
        let t = |to, from| Trigger::BandChanged { to, from };
        assert!(trigger_matches(
            &t(Some(Band::AtRisk), None),
            &TriggerEvent::Score(&e)
        ));
        assert!(trigger_matches(
            &t(None, Some(Band::Monitor)),
            &TriggerEvent::Score(&e)
        ));
        assert!(!trigger_matches(
            &t(Some(Band::Healthy), None),
            &TriggerEvent::Score(&e)
        ));
        assert!(!trigger_matches(
            &t(None, Some(Band::Healthy)),
            &TriggerEvent::Score(&e)
        ));
    }

    #[test]
    fn score_changed_trigger_needs_the_minimum_drop() {
        let e = event(ScoreEventKind::ScoreDropped, 55.0, Band::Monitor);
        let s = TriggerEvent::Score(&e);
        assert!(trigger_matches(
            &Trigger::ScoreChanged {
                min_drop: Some(15.0)
            },
            &s
        ));
        assert!(!trigger_matches(
            &Trigger::ScoreChanged {
                min_drop: Some(20.0)
            },
            &s
        ));
        assert!(trigger_matches(
            &Trigger::ScoreChanged { min_drop: None },
            &s
        ));
    }

    #[test]
    fn decline_trigger_filters_by_severity() {
        let moderate = event(ScoreEventKind::DeclineModerate, 50.0, Band::Monitor);
        let severe = event(ScoreEventKind::DeclineSevere, 50.0, Band::Monitor);
        let only_severe = Trigger::Decline {
            severity: Some(DeclineLevel::Severe),
        };
        assert!(!trigger_matches(
            &only_severe,
            &TriggerEvent::Score(&moderate)
        ));
        assert!(trigger_matches(&only_severe, &TriggerEvent::Score(&severe)));
        let any = Trigger::Decline { severity: None };
        assert!(trigger_matches(&any, &TriggerEvent::Score(&moderate)));
    }

    #[test]
    fn usage_milestone_trigger_matches_by_name_and_value() {
        let mut e = event(ScoreEventKind::UsageMilestone, 70.0, Band::Monitor);
        e.detail = json!({"milestone": "active_users", "value": 10});
        let s = TriggerEvent::Score(&e);
        assert!(trigger_matches(
            &Trigger::UsageMilestone { milestone: None },
            &s
        ));
        assert!(trigger_matches(
            &Trigger::UsageMilestone {
                milestone: Some("active_users_10".into())
            },
            &s
        ));
        assert!(!trigger_matches(
            &Trigger::UsageMilestone {
                milestone: Some("active_users_25".into())
            },
            &s
        ));
    }

    #[test]
    fn renewal_trigger_fires_within_the_window_only() {
        let mut e = event(ScoreEventKind::RenewalApproaching, 70.0, Band::Monitor);
        e.detail = json!({"days_to_renewal": 60});
        let s = TriggerEvent::Score(&e);
        assert!(trigger_matches(&Trigger::RenewalWithin { days: 60 }, &s));
        assert!(!trigger_matches(&Trigger::RenewalWithin { days: 30 }, &s));
    }

    #[test]
    fn expansion_alert_fired_and_no_response_triggers() {
        let e = event(ScoreEventKind::ExpansionSignal, 88.0, Band::Healthy);
        assert!(trigger_matches(
            &Trigger::ExpansionSignal,
            &TriggerEvent::Score(&e)
        ));
        assert!(!trigger_matches(
            &Trigger::NoResponse,
            &TriggerEvent::Score(&e)
        ));
        assert!(trigger_matches(
            &Trigger::NoResponse,
            &TriggerEvent::NoResponse(&e)
        ));
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap();
        let alert = Alert {
            id: "a".into(),
            account_id: acct(),
            dedupe_key: "k".into(),
            kind: "usage_decline".into(),
            cause: "severe".into(),
            severity: Severity::Critical,
            status: AlertStatus::Open,
            about_day: None,
            owner: None,
            opened_at: at,
            updated_at: at,
            snoozed_until: None,
            snooze_reason: None,
            transitions: vec![],
            details: json!({}),
            version: 1,
        };
        let fired = TriggerEvent::AlertFired {
            alert: &alert,
            event: &e,
        };
        assert!(trigger_matches(
            &Trigger::AlertFired {
                kind: Some("usage_decline".into()),
                severity: Some(Severity::Warning)
            },
            &fired
        ));
        assert!(!trigger_matches(
            &Trigger::AlertFired {
                kind: Some("at_risk".into()),
                severity: None
            },
            &fired
        ));
        assert!(!trigger_matches(&Trigger::ExpansionSignal, &fired));
    }

    #[test]
    fn conditions_test_tier_region_product_line_owner_mrr_and_custom_attributes() {
        let p = profile("Enterprise", 8000.0);
        let e = event(ScoreEventKind::DeclineSevere, 40.0, Band::Monitor);
        let id = acct();
        let f = Facts::new(&id, &p, &e, 5000.0);
        let eq = |field: &str, v: toml::Value| Condition::field_equals(field, v);
        assert!(condition_holds(&eq("tier", "enterprise".into()), &f));
        assert!(condition_holds(&eq("region", "emea".into()), &f));
        assert!(condition_holds(&eq("product_line", "analytics".into()), &f));
        assert!(condition_holds(&eq("owner", "csm@vendor.com".into()), &f));
        assert!(condition_holds(
            &eq("custom.industry", "fintech".into()),
            &f
        ));
        assert!(condition_holds(&eq("high_value", true.into()), &f));
        assert!(condition_holds(&eq("decline", "severe".into()), &f));
        assert!(!condition_holds(&eq("tier", "starter".into()), &f));
        let mrr = |at_least, below| Condition {
            field: Some("mrr".into()),
            at_least,
            below,
            ..Condition::default()
        };
        assert!(condition_holds(&mrr(Some(8000.0), None), &f));
        assert!(!condition_holds(&mrr(None, Some(8000.0)), &f));
        let one_of = Condition {
            field: Some("region".into()),
            one_of: vec!["na".into(), "emea".into()],
            ..Condition::default()
        };
        assert!(condition_holds(&one_of, &f));
        let present = |field: &str, present| Condition {
            field: Some(field.into()),
            present: Some(present),
            ..Condition::default()
        };
        assert!(condition_holds(&present("owner_manager", false), &f));
        assert!(!condition_holds(&eq("owner_manager", "x".into()), &f));
    }

    #[test]
    fn all_any_and_not_combine_conditions() {
        let p = profile("starter", 100.0);
        let e = event(ScoreEventKind::DeclineModerate, 50.0, Band::Monitor);
        let id = acct();
        let f = Facts::new(&id, &p, &e, 5000.0);
        let tier = Condition::field_equals("tier", "starter");
        let hv = Condition::field_equals("high_value", true);
        assert!(!condition_holds(
            &Condition::all(vec![tier.clone(), hv.clone()]),
            &f
        ));
        assert!(condition_holds(
            &Condition::any(vec![tier.clone(), hv.clone()]),
            &f
        ));
        let not_hv = Condition {
            not: Some(Box::new(hv)),
            ..Condition::default()
        };
        assert!(condition_holds(&not_hv, &f));
    }

    #[test]
    fn defaults_route_seed_002_declines_by_account_value() {
        let moderate = event(ScoreEventKind::DeclineModerate, 50.0, Band::Monitor);
        let severe = event(ScoreEventKind::DeclineSevere, 30.0, Band::AtRisk);
        assert_eq!(
            run_defaults(&moderate, &profile("standard", 500.0)),
            ["decline-check-in"]
        );
        assert_eq!(
            run_defaults(&moderate, &profile("enterprise", 9000.0)),
            ["decline-csm-alert"]
        );
        assert_eq!(
            run_defaults(&severe, &profile("standard", 500.0)),
            ["decline-csm-alert"]
        );
    }

    #[test]
    fn defaults_route_seed_000_bands_and_expansion() {
        let at_risk = event(ScoreEventKind::BandChanged, 35.0, Band::AtRisk);
        assert_eq!(
            run_defaults(&at_risk, &profile("standard", 500.0)),
            ["churn-prevention"]
        );
        let expansion = event(ScoreEventKind::ExpansionSignal, 88.0, Band::Healthy);
        assert_eq!(
            run_defaults(&expansion, &profile("standard", 500.0)),
            ["expansion"]
        );
        let config = AlertsConfig::default();
        let churn = config
            .workflows
            .iter()
            .find(|w| w.name == "churn-prevention")
            .unwrap();
        assert!(matches!(
            churn.actions[0],
            Action::Alert { severity: None, .. }
        ));
        assert!(matches!(churn.actions[1], Action::Ticket { .. }));
    }

    #[test]
    fn disabled_workflows_never_match() {
        let mut config = AlertsConfig::default();
        for w in &mut config.workflows {
            w.enabled = false;
        }
        let e = event(ScoreEventKind::ExpansionSignal, 88.0, Band::Healthy);
        let p = profile("standard", 1.0);
        let id = acct();
        let f = Facts::new(&id, &p, &e, 5000.0);
        assert!(matching(&config.workflows, &TriggerEvent::Score(&e), &f).is_empty());
    }
}
