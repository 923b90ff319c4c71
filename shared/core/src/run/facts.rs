//! What the scorer needs from an account's profile, in the scoring crate's terms.

use std::collections::BTreeMap;

use vitals_scoring::AccountFacts;

use crate::model::AccountProfile;

pub fn account_facts(profile: &AccountProfile) -> AccountFacts {
    let mut attributes = BTreeMap::new();
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            attributes.insert(key.to_string(), v.clone());
        }
    };
    put("region", &profile.region);
    put("product_line", &profile.product_line);
    put("owner", &profile.owner);
    put("plan", &profile.plan);
    put("tier", &profile.tier);
    for (key, value) in &profile.custom {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        attributes.entry(key.clone()).or_insert(text);
    }
    AccountFacts {
        tier: profile.tier.clone(),
        plan: profile.plan.clone(),
        seats_licensed: profile.seats,
        mrr: profile.mrr,
        renewal_date: profile.renewal_date,
        contract_start: profile.started_on,
        champions: profile.champions.clone(),
        attributes,
        invoice_overdue: None,
    }
}
