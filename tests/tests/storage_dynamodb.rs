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
