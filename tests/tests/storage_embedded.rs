//! The storage contract against the embedded (SQLite) store: on disk and in memory.

use vitals_embedded::SqliteStore;
use vitals_tests::support::Must;
use vitals_tests::Backend;

async fn open_file() -> Option<Backend<SqliteStore>> {
    let dir = tempfile::tempdir().must("temp dir");
    let store = SqliteStore::open(&dir.path().join("vitals.db")).must("SqliteStore::open");
    Some(Backend::keeping(store, dir))
}

async fn open_memory() -> Option<Backend<SqliteStore>> {
    Some(Backend::new(
        SqliteStore::open_in_memory().must("SqliteStore::open_in_memory"),
    ))
}

vitals_tests::storage_contract_tests!(sqlite_file, open_file);
vitals_tests::storage_contract_tests!(sqlite_memory, open_memory);

/// Beyond the shared contract: what the embedded store wrote survives closing and reopening.
#[tokio::test]
async fn sqlite_file_keeps_data_across_reopen() {
    use vitals_core::ports::{AccountStore, ConfigStore};
    use vitals_tests::storage_contract::{acct, config, profile};

    let dir = tempfile::tempdir().must("temp dir");
    let path = dir.path().join("vitals.db");
    let a = acct("acme");
    {
        let store = SqliteStore::open(&path).must("open");
        store
            .put_profile(&a, &profile("Acme"))
            .await
            .must("put_profile");
        store
            .put_config_version(&config(1))
            .await
            .must("put_config_version");
    }
    let store = SqliteStore::open(&path).must("reopen");
    let got = store.get_account(&a).await.must("get_account");
    assert_eq!(got.map(|r| r.profile), Some(profile("Acme")));
    assert_eq!(
        store.latest_config().await.must("latest_config"),
        Some(config(1))
    );
}
