//! The storage contract against DynamoDB (DynamoDB Local in tests): one fresh table per test.
//! Needs `VITALS_TEST_DYNAMODB_ENDPOINT`; skipped without it, failing instead when `CI=true`.

use vitals_aws::DynamoStore;
use vitals_tests::support::{emulator_sdk_config, Must};
use vitals_tests::{emulator_endpoint, unique_name, Backend};

async fn open_table() -> Option<Backend<DynamoStore>> {
    let endpoint = emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT")?;
    let config = emulator_sdk_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique_name("vitals-contract");
    vitals_aws::create_table(&client, &table)
        .await
        .must("create_table");
    Some(Backend::new(DynamoStore::new(client, table)))
}

vitals_tests::storage_contract_tests!(dynamodb, open_table);

/// The account page on DynamoDB (BRIEF §5: ≤ 2 requests per view), and a table made before the
/// account activity index: `create_table` adds the index and `index_activity` places the
/// alerts, interventions and audit entries written before it, once.
mod account_page {
    use std::sync::Arc;

    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    use vitals_aws::{CapacityMeter, DynamoStore};
    use vitals_core::model::AlertStatus;
    use vitals_core::ports::ScoreHistoryStore;
    use vitals_core::ports::{AccountActivityStore, AlertStore, AuditLog, InterventionStore};
    use vitals_core::query::account_page::account_page_reads;
    use vitals_tests::storage_contract::{
        acct, alert, audit, intervention, profile, score_record, scoring_state,
    };
    use vitals_tests::support::{emulator_sdk_config, Must};
    use vitals_tests::{emulator_endpoint, unique_name};

    fn key(name: &str, kind: KeyType) -> KeySchemaElement {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .must("key")
    }

    fn string(name: &str) -> AttributeDefinition {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .must("attribute")
    }

    /// The table as releases before the activity index made it: keys and `gsi1` only.
    async fn old_table(client: &aws_sdk_dynamodb::Client, table: &str) {
        let gsi1 = GlobalSecondaryIndex::builder()
            .index_name("gsi1")
            .key_schema(key("gsi1pk", KeyType::Hash))
            .key_schema(key("gsi1sk", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .must("gsi1");
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(string("pk"))
            .attribute_definitions(string("sk"))
            .attribute_definitions(string("gsi1pk"))
            .attribute_definitions(string("gsi1sk"))
            .global_secondary_indexes(gsi1)
            .send()
            .await
            .must("create the old table");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upgraded_table_shows_older_activity_and_the_page_takes_two_requests() {
        let Some(endpoint) = emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT") else {
            return;
        };
        let config = emulator_sdk_config(&endpoint).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = unique_name("vitals-upgrade");
        old_table(&client, &table).await;
        // Written by a release without the index: DynamoDB keeps the gsi2 attributes, but
        // there is no index to place them on yet, so they are removed to look like old items.
        let store = DynamoStore::new(client.clone(), table.clone());
        let a = acct("upgraded");
        use vitals_core::ports::AccountStore;
        store
            .put_profile(&a, &profile("Upgraded"))
            .await
            .must("put_profile");
        store
            .insert_alert(&alert("al-old", &a, 10, AlertStatus::Open))
            .await
            .must("insert_alert");
        store
            .insert_intervention(&intervention("iv-old", &a, 11))
            .await
            .must("insert_intervention");
        store
            .append_audit(&audit("au-old", Some(&a), 12))
            .await
            .must("append_audit");
        store
            .append_audit(&audit("au-global", None, 13))
            .await
            .must("append_audit without account");
        let old_items = client
            .scan()
            .table_name(&table)
            .send()
            .await
            .must("scan")
            .items
            .unwrap_or_default();
        for item in old_items.iter().filter(|i| i.contains_key("gsi2pk")) {
            client
                .update_item()
                .table_name(&table)
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .update_expression("REMOVE gsi2pk, gsi2sk")
                .send()
                .await
                .must("make the item old");
        }

        vitals_aws::create_table(&client, &table)
            .await
            .must("create_table on the old table adds the index");
        let before = store
            .account_activity(&a, 10, &[])
            .await
            .must("account_activity before indexing");
        assert!(
            before.alerts.is_empty() && before.audit.is_empty(),
            "older items are not on the new index until placed"
        );
        assert_eq!(store.index_activity().await.must("index_activity"), 3);
        assert_eq!(
            store.index_activity().await.must("index_activity again"),
            0,
            "done once per table"
        );

        // Scored on the last day that has ended, with the days its change card compares.
        let state = scoring_state(&a, 5.0);
        let latest = state.score.as_ref().map(|s| s.as_of).expect("scored");
        store
            .put_scoring_state(&state)
            .await
            .must("put_scoring_state");
        let compared = [
            latest - chrono::Days::new(7),
            latest - chrono::Days::new(30),
        ];
        let history: Vec<_> = compared.iter().map(|d| score_record(&a, *d, 3.0)).collect();
        store.put_history(&history).await.must("put_history");

        let meter = Arc::new(CapacityMeter::default());
        let metered = DynamoStore::new(client, table).with_capacity_meter(meter.clone());
        let today = latest + chrono::Days::new(1);
        let page = account_page_reads(&metered, &a, 50, today)
            .await
            .must("account_page_reads");
        assert_eq!(page.record.map(|r| r.account_id), Some(a.clone()));
        let days: Vec<_> = page.history.iter().map(|r| r.as_of).collect();
        assert_eq!(
            days,
            [compared[1], compared[0], latest],
            "what the change card compares"
        );
        assert_eq!(
            page.alerts
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>(),
            ["al-old"]
        );
        assert_eq!(page.interventions.len(), 1);
        assert_eq!(
            page.audit.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ["au-old"]
        );
        assert_eq!(
            meter.snapshot().requests,
            2,
            "the record and history days in one BatchGetItem, the activity in one Query"
        );
        // The account's alerts on their own read the account's partition, not every alert.
        let query = vitals_core::model::AlertQuery {
            status: Some(AlertStatus::Open),
            account_id: Some(a.clone()),
        };
        let alerts = metered
            .list_alerts(&query, None, 10)
            .await
            .must("list_alerts");
        assert_eq!(alerts.items.len(), 1);
    }
}
