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

/// The account page on DynamoDB (BRIEF §5: ≤ 2 requests per view), and items written before the
/// account activity index: `index_activity` places the alerts, interventions and audit entries
/// that lack its keys, once. (Adding the index to an old table is `create_table`'s
/// `UpdateTable`; DynamoDB Local leaves an index added that way in CREATING once other tables
/// have seen traffic, so the table here is made whole and its items are made old instead.)
mod account_page {
    use std::sync::Arc;

    use vitals_aws::{CapacityMeter, DynamoStore};
    use vitals_core::model::AlertStatus;
    use vitals_core::ports::{
        AccountActivityStore, AccountStore, AlertStore, AuditLog, InterventionStore,
        ScoreHistoryStore,
    };
    use vitals_core::query::account_page::account_page_reads;
    use vitals_tests::storage_contract::{
        acct, alert, audit, history_day, intervention, profile, scoring_state,
    };
    use vitals_tests::support::{emulator_sdk_config, Must};
    use vitals_tests::{emulator_endpoint, unique_name};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn older_activity_is_placed_once_and_the_page_takes_two_requests() {
        let Some(endpoint) = emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT") else {
            return;
        };
        let config = emulator_sdk_config(&endpoint).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = unique_name("vitals-upgrade");
        vitals_aws::create_table(&client, &table)
            .await
            .must("create_table");
        let store = DynamoStore::new(client.clone(), table.clone());
        let a = acct("upgraded");
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
        // What a release before the index wrote: the same items without its keys.
        let items = client
            .scan()
            .table_name(&table)
            .send()
            .await
            .must("scan")
            .items
            .unwrap_or_default();
        for item in items.iter().filter(|i| i.contains_key("gsi2pk")) {
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
        let before = store
            .account_activity(&a, 10, &[])
            .await
            .must("account_activity before placing");
        assert!(
            before.alerts.is_empty() && before.audit.is_empty() && before.record.is_some(),
            "older items are not on the index until placed"
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
        let history: Vec<_> = compared.iter().map(|d| history_day(&a, *d, 3.0)).collect();
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
        // One account's alerts read that account's partition, not every alert.
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
