//! The queue contract against SQS (moto in tests): one fresh queue pair per test.
//! Needs `VITALS_TEST_SQS_ENDPOINT`; skipped without it, failing instead when `CI=true`.

use vitals_aws::SqsQueue;
use vitals_tests::support::{emulator_sdk_config, Must};
use vitals_tests::{emulator_endpoint, unique_name, Backend};

async fn open_queue(max_receives: u32) -> Option<Backend<SqsQueue>> {
    let endpoint = emulator_endpoint("VITALS_TEST_SQS_ENDPOINT")?;
    let config = emulator_sdk_config(&endpoint).await;
    let client = aws_sdk_sqs::Client::new(&config);
    let (queue_url, dead_letter_url) =
        vitals_aws::create_queue_pair(&client, &unique_name("vitals"), max_receives)
            .await
            .must("create_queue_pair");
    Some(Backend::new(SqsQueue::new(
        client,
        queue_url,
        dead_letter_url,
    )))
}

vitals_tests::queue_contract_tests!(sqs, open_queue);
