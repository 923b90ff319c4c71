//! Creates the table `docs/architecture.md` describes (keys, sparse GSI, TTL, on-demand
//! billing, point-in-time recovery) for tests, emulators and `vitals --backend dynamodb`
//! admin commands. Production tables come from the SAM template with the same schema.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use std::time::{Duration, Instant};
use vitals_core::StoreError;

use super::schema::{EXPIRES_AT, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use crate::error::store_error;

/// How long to wait for a new table to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Rejected(format!("create table: {e}")))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    built(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    built(
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn all_attributes() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

fn index(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    built(
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(all_attributes())
            .build(),
    )
}

/// Creates the table and waits until it is ACTIVE with TTL on. Idempotent: an existing table
/// with the expected keys is accepted (its TTL switched on and, for a table made before the
/// account activity index existed, that index added); one with other keys is `Rejected`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .attribute_definitions(string_attribute(PK)?)
        .attribute_definitions(string_attribute(SK)?)
        .attribute_definitions(string_attribute(GSI1_PK)?)
        .attribute_definitions(string_attribute(GSI1_SK)?)
        .attribute_definitions(string_attribute(GSI2_PK)?)
        .attribute_definitions(string_attribute(GSI2_SK)?)
        .global_secondary_indexes(index(GSI1, GSI1_PK, GSI1_SK)?)
        .global_secondary_indexes(index(GSI2, GSI2_PK, GSI2_SK)?)
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "table created"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            tracing::info!(table, "table exists");
        }
        Err(e) => return Err(store_error("CreateTable", e)),
    }
    if !wait_until_active(client, table).await? {
        add_activity_index(client, table).await?;
        wait_until_active(client, table).await?;
    }
    enable_ttl(client, table).await?;
    enable_point_in_time_recovery(client, table).await;
    Ok(())
}

/// Adds `gsi2` to a table made before it existed (DynamoDB builds it in the background; its
/// older items get their keys from `DynamoStore::index_activity`).
async fn add_activity_index(client: &Client, table: &str) -> Result<(), StoreError> {
    let create = built(
        CreateGlobalSecondaryIndexAction::builder()
            .index_name(GSI2)
            .key_schema(key(GSI2_PK, KeyType::Hash)?)
            .key_schema(key(GSI2_SK, KeyType::Range)?)
            .projection(all_attributes())
            .build(),
    )?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(string_attribute(GSI2_PK)?)
        .attribute_definitions(string_attribute(GSI2_SK)?)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await
        .map_err(|e| store_error("UpdateTable", e))?;
    tracing::info!(table, index = GSI2, "account activity index added");
    Ok(())
}

/// Waits until the table and its indexes are ACTIVE; `false` when the table lacks the account
/// activity index.
async fn wait_until_active(client: &Client, table: &str) -> Result<bool, StoreError> {
    let started = Instant::now();
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error("DescribeTable", e))?;
        let Some(t) = described.table else {
            return Err(StoreError::Unavailable(
                "describe table: no description".into(),
            ));
        };
        let has_activity_index = check_keys(table, t.key_schema(), t.global_secondary_indexes())?;
        let indexes_active = t
            .global_secondary_indexes()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
        if t.table_status() == Some(&TableStatus::Active) && indexes_active {
            return Ok(has_activity_index);
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable(format!(
                "table {table} not active after {}s",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether the table has the expected keys and `gsi1` (else `Rejected`), and whether it has
/// `gsi2` too.
fn check_keys(
    table: &str,
    keys: &[KeySchemaElement],
    indexes: &[aws_sdk_dynamodb::types::GlobalSecondaryIndexDescription],
) -> Result<bool, StoreError> {
    let has = |schema: &[KeySchemaElement], name: &str, kind: KeyType| {
        schema
            .iter()
            .any(|k| k.attribute_name() == name && *k.key_type() == kind)
    };
    let table_ok = keys.len() == 2 && has(keys, PK, KeyType::Hash) && has(keys, SK, KeyType::Range);
    let has_index = |name: &str, pk: &str, sk: &str| {
        indexes.iter().any(|i| {
            i.index_name() == Some(name)
                && has(i.key_schema(), pk, KeyType::Hash)
                && has(i.key_schema(), sk, KeyType::Range)
        })
    };
    if table_ok && has_index(GSI1, GSI1_PK, GSI1_SK) {
        Ok(has_index(GSI2, GSI2_PK, GSI2_SK))
    } else {
        Err(StoreError::Rejected(format!(
            "table {table} exists with a different key schema"
        )))
    }
}

async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| store_error("DescribeTimeToLive", e))?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = built(
        TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(EXPIRES_AT)
            .build(),
    )?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| store_error("UpdateTimeToLive", e))?;
    Ok(())
}

/// Best effort: emulators do not all support continuous backups, and a table without them
/// still works; production tables get it from the SAM template.
async fn enable_point_in_time_recovery(client: &Client, table: &str) {
    let spec = match PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
    {
        Ok(spec) => spec,
        Err(e) => {
            tracing::warn!(table, error = %e, "point-in-time recovery not requested");
            return;
        }
    };
    let result = client
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(spec)
        .send()
        .await;
    if let Err(e) = result {
        let err = store_error("UpdateContinuousBackups", e);
        tracing::warn!(table, error = %err, "point-in-time recovery not enabled");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::GlobalSecondaryIndexDescription;

    fn described(name: &str, pk: &str, sk: &str) -> GlobalSecondaryIndexDescription {
        GlobalSecondaryIndexDescription::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash).unwrap())
            .key_schema(key(sk, KeyType::Range).unwrap())
            .build()
    }

    #[test]
    fn a_table_without_the_activity_index_is_accepted_and_told_apart() {
        let keys = [
            key(PK, KeyType::Hash).unwrap(),
            key(SK, KeyType::Range).unwrap(),
        ];
        let old = [described(GSI1, GSI1_PK, GSI1_SK)];
        assert!(
            !check_keys("t", &keys, &old).unwrap(),
            "gets the index added"
        );
        let current = [old[0].clone(), described(GSI2, GSI2_PK, GSI2_SK)];
        assert!(check_keys("t", &keys, &current).unwrap());
        assert!(
            check_keys("t", &keys[..1], &current).is_err(),
            "other keys are refused"
        );
        assert!(
            check_keys("t", &keys, &current[1..]).is_err(),
            "gsi1 is required"
        );
    }
}
