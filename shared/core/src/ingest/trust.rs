//! Trust levels of write keys. A browser's write key is public (it sits in the page), so the
//! traits that decide who sees an account or what it is worth are taken only from secret
//! (server) keys, CRM imports and admins; from a client key they are dropped and counted.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::traits::trait_meaning;

/// How far a write key is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyTrust {
    /// May be public (browser and mobile apps): protected traits are ignored.
    Client,
    /// Secret (back-end libraries, ETL): every trait is taken.
    Server,
}

/// The traits a client key may not set, by default (`[ingest] protected_traits`): ownership
/// (CSM, its manager, the account executive) and commercial terms.
pub const DEFAULT_PROTECTED_TRAITS: &[&str] = &[
    "owner",
    "owner_manager",
    "ae",
    "ae_email",
    "account_executive",
    "mrr",
    "arr",
    "plan",
    "tier",
    "seats",
    "renewal_date",
    "region",
    "product_line",
];

/// The traits only trusted senders may set, matched by meaning: listing `owner` also protects
/// `csm_email`, `accountOwner` and the other spellings of the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedTraits(BTreeSet<String>);

impl ProtectedTraits {
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ProtectedTraits(
            names
                .into_iter()
                .map(|n| trait_meaning(n.as_ref()))
                .filter(|m| !m.is_empty())
                .collect(),
        )
    }

    pub fn is_protected(&self, trait_name: &str) -> bool {
        self.0.contains(&trait_meaning(trait_name))
    }

    /// `traits` without the protected ones, and how many were dropped.
    pub fn strip(&self, traits: &Map<String, Value>) -> (Map<String, Value>, usize) {
        let mut dropped = 0;
        let kept = traits
            .iter()
            .filter(|(k, _)| {
                let protected = self.is_protected(k);
                dropped += usize::from(protected);
                !protected
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (kept, dropped)
    }
}

impl Default for ProtectedTraits {
    fn default() -> Self {
        ProtectedTraits::new(DEFAULT_PROTECTED_TRAITS)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spelling_of_a_protected_trait_is_protected() {
        let protected = ProtectedTraits::default();
        for name in [
            "owner",
            "csm_email",
            "accountOwner",
            "MRR",
            "annualRevenue",
            "Plan",
            "edition",
            "renewalDate",
            "ae_email",
        ] {
            assert!(protected.is_protected(name), "{name}");
        }
        for name in ["name", "industry", "employees"] {
            assert!(!protected.is_protected(name), "{name}");
        }
    }

    #[test]
    fn strip_keeps_harmless_traits_and_counts_the_rest() {
        let protected = ProtectedTraits::new(["csm", "mrr"]);
        let traits =
            json!({"name": "Acme", "owner": "mallory@evil.example", "mrr": 1, "plan": "Free"});
        let (kept, dropped) = protected.strip(traits.as_object().unwrap());
        assert_eq!(dropped, 2);
        assert_eq!(
            kept,
            *json!({"name": "Acme", "plan": "Free"}).as_object().unwrap()
        );
    }
}
