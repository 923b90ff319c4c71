//! Large, rarely-queried values (a usage window, a score with its explanation) stored as one
//! deflated JSON binary attribute instead of a DynamoDB map: maps repeat every attribute name
//! and DynamoDB bills writes per KB, so packing keeps the daily run within its write budget.
//! [`Bytes`] stores bytes already compact (a score history entry) as they are.

use std::io::{Read, Write};

use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `T` stored as a `B` attribute holding deflated JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packed<T>(pub T);

impl<T: Serialize> Serialize for Packed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_vec(&self.0).map_err(S::Error::custom)?;
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&json).map_err(S::Error::custom)?;
        let bytes = encoder.finish().map_err(S::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Packed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = Bytes::deserialize(deserializer)?.0;
        let mut json = Vec::new();
        flate2::read::DeflateDecoder::new(bytes.as_slice())
            .read_to_end(&mut json)
            .map_err(D::Error::custom)?;
        serde_json::from_slice(&json)
            .map(Packed)
            .map_err(D::Error::custom)
    }
}

/// Bytes stored as a `B` attribute as they are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a binary attribute")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_bytes(BytesVisitor).map(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn packed_values_are_binary_attributes_that_round_trip() {
        let value = serde_json::json!({"days": [1, 2, 3], "users": {"ann": "2026-01-01"}});
        let attribute: AttributeValue = serde_dynamo::to_attribute_value(Packed(&value)).unwrap();
        assert!(attribute.is_b(), "{attribute:?}");
        let back: Packed<serde_json::Value> =
            serde_dynamo::from_attribute_value(attribute).unwrap();
        assert_eq!(back.0, value);
    }
}
