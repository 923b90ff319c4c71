//! Opaque page cursors: base64url of the JSON of a DynamoDB position (`LastEvaluatedKey`).
//! A cursor is checked on the way back in: it must name exactly the key attributes of the
//! listing's index and lie in the listing's partition, or it is refused as invalid.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::BTreeMap;
use vitals_core::StoreError;

use super::schema::{Index, Item};

fn invalid() -> StoreError {
    StoreError::Rejected("invalid cursor".into())
}

/// The position of `item` in `index`: the attributes DynamoDB would return as
/// `LastEvaluatedKey` had the page ended on it.
pub(crate) fn position_of(item: &Item, index: Index) -> Item {
    index
        .position_attributes()
        .iter()
        .filter_map(|name| item.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect()
}

pub(crate) fn encode(position: &Item) -> Result<String, StoreError> {
    let fields: BTreeMap<String, String> = serde_dynamo::from_item(position.clone())
        .map_err(|e| StoreError::Corrupt(format!("page position: {e}")))?;
    let json = serde_json::to_vec(&fields)
        .map_err(|e| StoreError::Corrupt(format!("page position: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The position a cursor names, if it is a position of `index` within `partition`.
pub(crate) fn decode(cursor: &str, index: Index, partition: &str) -> Result<Item, StoreError> {
    let json = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let fields: BTreeMap<String, String> = serde_json::from_slice(&json).map_err(|_| invalid())?;
    let expected = index.position_attributes();
    let names_match =
        fields.len() == expected.len() && expected.iter().all(|name| fields.contains_key(*name));
    if !names_match
        || fields.get(index.partition_attribute()).map(String::as_str) != Some(partition)
    {
        return Err(invalid());
    }
    serde_dynamo::to_item(fields).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), AttributeValue::S((*v).to_owned())))
            .collect()
    }

    #[test]
    fn a_cursor_round_trips_to_the_same_position() {
        let position = item(&[("pk", "ACCOUNTS#07"), ("sk", "ACCOUNT#acme")]);
        let cursor = encode(&position).unwrap();
        assert!(cursor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(
            decode(&cursor, Index::Table, "ACCOUNTS#07").unwrap(),
            position
        );
    }

    #[test]
    fn a_gsi_position_keeps_the_table_key_and_drops_other_attributes() {
        let stored = item(&[
            ("pk", "ALERT#a1"),
            ("sk", "ALERT"),
            ("gsi1pk", "ALERTS"),
            ("gsi1sk", "2026-01-01T00:00:00.000000Z#a1"),
            ("status", "open"),
        ]);
        let position = position_of(&stored, Index::Gsi1);
        assert_eq!(position.len(), 4);
        assert!(!position.contains_key("status"));
        let cursor = encode(&position).unwrap();
        assert_eq!(decode(&cursor, Index::Gsi1, "ALERTS").unwrap(), position);
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let rejected = StoreError::Rejected("invalid cursor".into());
        for bad in ["", "!!!", "bm90IGpzb24", &URL_SAFE_NO_PAD.encode(b"[1,2]")] {
            assert_eq!(
                decode(bad, Index::Table, "AUDIT").unwrap_err(),
                rejected,
                "{bad}"
            );
        }
        let numbers = URL_SAFE_NO_PAD.encode(br#"{"pk":1,"sk":2}"#);
        assert_eq!(
            decode(&numbers, Index::Table, "AUDIT").unwrap_err(),
            rejected
        );
    }

    #[test]
    fn a_cursor_from_another_listing_is_rejected() {
        let other = encode(&item(&[("pk", "ACCOUNTS#01"), ("sk", "ACCOUNT#a")])).unwrap();
        assert!(decode(&other, Index::Table, "ACCOUNTS#02").is_err());
        assert!(decode(&other, Index::Gsi1, "ACCOUNTS#01").is_err());
        let extra = encode(&item(&[("pk", "AUDIT"), ("sk", "x"), ("admin", "1")])).unwrap();
        assert!(decode(&extra, Index::Table, "AUDIT").is_err());
    }
}
