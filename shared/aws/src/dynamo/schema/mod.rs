//! The table layout of `docs/architecture.md`, in one module: key formats ([`keys`]), item
//! shapes ([`records`]; event chunk packs in [`chunks`]), attribute names, and which index and
//! key condition each listing uses ([`queries`]). Nothing outside this module spells a key or an
//! attribute name.

pub(crate) mod chunks;
pub(crate) mod keys;
pub(crate) mod packed;
pub(crate) mod queries;
pub(crate) mod records;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use std::collections::HashMap;
use vitals_core::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const GSI1: &str = "gsi1";
pub(crate) const GSI1_PK: &str = "gsi1pk";
pub(crate) const GSI1_SK: &str = "gsi1sk";
/// The index of each account's activity (alerts, interventions, audit entries): what the
/// account page reads in one Query.
pub(crate) const GSI2: &str = "gsi2";
pub(crate) const GSI2_PK: &str = "gsi2pk";
pub(crate) const GSI2_SK: &str = "gsi2sk";
pub(crate) const EXPIRES_AT: &str = "expires_at";
const ACCOUNT_ID: &str = "account_id";
const PROFILE: &str = "profile";
const WINDOW: &str = "window";
const SCORE: &str = "score";
const TRAIL: &str = "trail";
const PROVISIONAL: &str = "provisional";
const STATUS: &str = "status";
const VERSION: &str = "version";

/// Where a query runs: the table itself or one of the sparse GSIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    Table,
    Gsi1,
    /// Each account's activity.
    Gsi2,
}

impl Index {
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some(GSI1),
            Index::Gsi2 => Some(GSI2),
        }
    }

    pub(crate) fn partition_attribute(self) -> &'static str {
        match self {
            Index::Table => PK,
            Index::Gsi1 => GSI1_PK,
            Index::Gsi2 => GSI2_PK,
        }
    }

    pub(crate) fn sort_attribute(self) -> &'static str {
        match self {
            Index::Table => SK,
            Index::Gsi1 => GSI1_SK,
            Index::Gsi2 => GSI2_SK,
        }
    }

    /// The attributes of a position in this index (DynamoDB's `LastEvaluatedKey`).
    pub(crate) fn position_attributes(self) -> &'static [&'static str] {
        match self {
            Index::Table => &[PK, SK],
            Index::Gsi1 => &[PK, SK, GSI1_PK, GSI1_SK],
            Index::Gsi2 => &[PK, SK, GSI2_PK, GSI2_SK],
        }
    }
}

/// A DynamoDB expression with its name and value placeholders.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Expr {
    pub text: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, placeholder: &str, attribute: &str) -> &mut Self {
        self.names
            .insert(format!("#{placeholder}"), attribute.to_owned());
        self
    }

    fn value<T: Serialize>(
        &mut self,
        placeholder: &str,
        value: &T,
    ) -> Result<&mut Self, StoreError> {
        self.values
            .insert(format!(":{placeholder}"), attribute_value(value)?);
        Ok(self)
    }
}

pub(crate) fn attribute_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Rejected(format!("encode value: {e}")))
}

/// Condition of an insert: no item with this key exists yet.
pub(crate) fn not_exists() -> Expr {
    let mut e = Expr {
        text: "attribute_not_exists(#pk)".into(),
        ..Expr::default()
    };
    e.name("pk", PK);
    e
}

/// Condition of an update that must not create the item: it exists.
pub(crate) fn exists() -> Expr {
    let mut e = Expr {
        text: "attribute_exists(#pk)".into(),
        ..Expr::default()
    };
    e.name("pk", PK);
    e
}

/// Gives an item its place on the account activity index.
pub(crate) fn set_activity_keys(partition: &str, sort: &str) -> Result<Expr, StoreError> {
    let mut e = Expr {
        text: "SET #gsi2pk = :gsi2pk, #gsi2sk = :gsi2sk".into(),
        ..Expr::default()
    };
    e.name("gsi2pk", GSI2_PK)
        .name("gsi2sk", GSI2_SK)
        .value("gsi2pk", &partition)?
        .value("gsi2sk", &sort)?;
    Ok(e)
}

/// Condition of an optimistic update: the stored version is `previous`.
pub(crate) fn version_is(previous: u64) -> Result<Expr, StoreError> {
    let mut e = Expr {
        text: "#version = :previous".into(),
        ..Expr::default()
    };
    e.name("version", VERSION).value("previous", &previous)?;
    Ok(e)
}

/// Sets an account's profile only, creating the account item if needed.
pub(crate) fn set_profile(
    account: &vitals_core::model::AccountId,
    profile: &vitals_core::model::AccountProfile,
) -> Result<Expr, StoreError> {
    let mut e = Expr {
        text: "SET #account_id = :account_id, #profile = :profile".into(),
        ..Expr::default()
    };
    e.name("account_id", ACCOUNT_ID)
        .name("profile", PROFILE)
        .value("account_id", account)?
        .value("profile", profile)?;
    Ok(e)
}

/// Sets an account's window and current score only, creating the account item if needed.
pub(crate) fn set_scoring_state(
    record: &vitals_core::model::AccountRecord,
) -> Result<Expr, StoreError> {
    let mut e = Expr::default();
    e.name("account_id", ACCOUNT_ID)
        .name("window", WINDOW)
        .name("score", SCORE)
        .name("trail", TRAIL)
        .value("account_id", &record.account_id)?
        .value("window", &packed::Packed(&record.window))?;
    let mut set = vec!["#account_id = :account_id", "#window = :window"];
    let mut remove = Vec::new();
    match &record.score {
        Some(score) => {
            e.value("score", &packed::Packed(score))?;
            set.push("#score = :score");
        }
        None => remove.push("#score"),
    }
    if record.trail.is_empty() {
        remove.push("#trail");
    } else {
        e.value("trail", &packed::Packed(&record.trail))?;
        set.push("#trail = :trail");
    }
    e.text = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        e.text.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    Ok(e)
}

/// Sets an account's provisional score only, creating the account item if needed.
pub(crate) fn set_provisional(
    provisional: &vitals_core::model::ProvisionalScore,
) -> Result<Expr, StoreError> {
    let mut e = Expr {
        text: "SET #account_id = :account_id, #provisional = :provisional".into(),
        ..Expr::default()
    };
    e.name("account_id", ACCOUNT_ID)
        .name("provisional", PROVISIONAL)
        .value("account_id", &provisional.account_id)?
        .value("provisional", &packed::Packed(provisional))?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::model::{AccountId, AccountRecord};

    #[test]
    fn version_condition_compares_with_the_previous_version() {
        let e = version_is(4).unwrap();
        assert_eq!(e.text, "#version = :previous");
        assert_eq!(e.names["#version"], "version");
        assert_eq!(e.values[":previous"], AttributeValue::N("4".into()));
    }

    #[test]
    fn scoring_state_without_a_score_removes_the_stored_one() {
        let record = AccountRecord::new(AccountId::new("acme").unwrap());
        let e = set_scoring_state(&record).unwrap();
        assert!(e.text.ends_with("REMOVE #score, #trail"), "{}", e.text);
        assert!(!e.text.contains("#profile"));
        assert!(!e.values.contains_key(":score"));
    }

    #[test]
    fn gsi_positions_include_the_table_key() {
        assert_eq!(Index::Table.position_attributes(), ["pk", "sk"]);
        assert_eq!(
            Index::Gsi1.position_attributes(),
            ["pk", "sk", "gsi1pk", "gsi1sk"]
        );
    }
}
