use vitals_core::ports::AccountStore;
use vitals_core::segment::Segment;
use vitals_tests::storage_contract::{acct, profile};
use vitals_tests::support::Must;
#[tokio::test]
async fn debug() {
    let store = vitals_embedded::SqliteStore::open_in_memory().must("open");
    for n in ["out-1", "out-0", "acme"] {
        let a = acct(n);
        println!(
            "{n} segment {:?} fnv {:x}",
            a.segment(),
            vitals_core::segment::fnv1a64(n.as_bytes())
        );
        store.put_profile(&a, &profile("x")).await.must("put");
    }
    for s in [5u16, 12] {
        let p = store.list_segment(Segment(s), None, 10).await.must("list");
        println!(
            "seg {s}: {:?}",
            p.items
                .iter()
                .map(|r| r.account_id.to_string())
                .collect::<Vec<_>>()
        );
    }
}
