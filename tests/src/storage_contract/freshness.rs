//! The storage contract of provisional scores (see `vitals_core::freshness`): the touch marks
//! ingest keeps, each account's provisional score beside its daily state, and the provisional
//! list rows read with the account listing.

use chrono::{DateTime, Duration, Utc};
use vitals_core::freshness::TouchMark;
use vitals_core::model::{AccountId, ProvisionalListing, ProvisionalScore};
use vitals_core::ports::Storage;
use vitals_core::query::accounts::AccountRow;
use vitals_core::segment::Segment;

use super::{acct, at, day, ids_in_segment, profile, score_record, scoring_state, segment_listing};
use crate::support::Must;

fn interval(minutes: i64) -> DateTime<Utc> {
    day("2026-03-01")
        .and_hms_opt(10, 0, 0)
        .unwrap_or_default()
        .and_utc()
        + Duration::minutes(minutes)
}

/// A provisional score of 2026-03-02 (a real kernel score), computed `secs` into the fixture
/// clock.
pub fn provisional(account: &AccountId, secs: i64) -> ProvisionalScore {
    let as_of = day("2026-03-02");
    let mut score = score_record(account, as_of, 30.0 + secs as f64).score;
    score.usage = None;
    ProvisionalScore {
        account_id: account.clone(),
        day: as_of,
        computed_at: at(secs),
        inputs: format!("inputs-{secs}"),
        score,
    }
}

pub async fn touch_marks_are_kept_by_interval_and_a_retry_rewrites_in_place<S: Storage>(store: &S) {
    assert_eq!(
        store.touch_marks(interval(0)).await.must("touch_marks"),
        vec![],
        "no marks before the first event"
    );
    let first = TouchMark::new(interval(0), vec![acct("b"), acct("a")]);
    let second = TouchMark::new(interval(0), vec![acct("c")]);
    let next = TouchMark::new(interval(15), vec![acct("a")]);
    store
        .put_touch_marks(&[first.clone(), next.clone()])
        .await
        .must("put_touch_marks");
    store
        .put_touch_marks(&[second.clone(), first.clone()])
        .await
        .must("put_touch_marks again (a retried request)");
    let mut expected = vec![first, second];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        store.touch_marks(interval(0)).await.must("touch_marks"),
        expected,
        "one interval's marks in id order, a retry stored once"
    );
    assert_eq!(
        store.touch_marks(interval(15)).await.must("touch_marks"),
        vec![next],
        "each interval apart"
    );
    assert_eq!(
        store.touch_marks(interval(30)).await.must("touch_marks"),
        vec![]
    );
}

pub async fn provisional_score_is_written_apart_from_profile_and_scoring_state<S: Storage>(
    store: &S,
) {
    // A brand-new account: the provisional score creates it.
    let new = acct("new-today");
    let p = provisional(&new, 100);
    store
        .put_provisional_scores(std::slice::from_ref(&p))
        .await
        .must("put_provisional_scores");
    let got = store
        .get_account(&new)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("put_provisional_scores must create the account"));
    assert_eq!(got.provisional.as_ref(), Some(&p));
    assert_eq!(got.score, None);
    let listed = store
        .list_segment(new.segment(), None, 10)
        .await
        .must("list_segment");
    assert_eq!(listed.items, vec![got], "created account is listed");

    let a = acct("acme");
    let p1 = profile("Acme Corp");
    store.put_profile(&a, &p1).await.must("put_profile");
    let state = scoring_state(&a, 50.0);
    store
        .put_scoring_state(&state)
        .await
        .must("put_scoring_state");
    let first = provisional(&a, 200);
    store
        .put_provisional_scores(std::slice::from_ref(&first))
        .await
        .must("put_provisional_scores");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(got.profile, p1, "profile kept by put_provisional_scores");
    assert_eq!(got.window, state.window, "window kept");
    assert_eq!(got.score, state.score, "score kept");
    assert_eq!(got.provisional, Some(first.clone()));

    // The daily run and ingest write their parts; the provisional score stays.
    store
        .put_scoring_state(&scoring_state(&a, 60.0))
        .await
        .must("put_scoring_state again");
    store
        .put_profile(&a, &profile("Acme Corporation"))
        .await
        .must("put_profile again");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(
        got.provisional,
        Some(first),
        "kept by put_scoring_state and put_profile"
    );

    let later = provisional(&a, 300);
    store
        .put_provisional_scores(&[later.clone(), provisional(&new, 300)])
        .await
        .must("put_provisional_scores for two accounts");
    let got = store
        .get_account(&a)
        .await
        .must("get_account")
        .unwrap_or_else(|| panic!("account missing"));
    assert_eq!(got.provisional, Some(later), "replaced by the next refresh");
}

pub async fn provisional_rows_come_with_the_account_listing_and_change_its_version<S: Storage>(
    store: &S,
) {
    assert_eq!(
        store
            .provisional_listing()
            .await
            .must("provisional_listing"),
        None
    );
    let listed = segment_listing(
        Segment(5),
        day("2026-03-01"),
        &ids_in_segment("p", Segment(5), 2),
    );
    store
        .put_segment_listing(&listed)
        .await
        .must("put_segment_listing");
    let before = store.listing_version().await.must("listing_version");
    let rows: Vec<AccountRow> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut record = scoring_state(&acct(id), 40.0);
            record.provisional = Some(provisional(&record.account_id, i as i64));
            AccountRow::from_record(&record, day("2026-03-02"))
        })
        .collect();
    assert!(rows.iter().all(|r| r.provisional.is_some()));
    let provisional_rows = ProvisionalListing {
        day: day("2026-03-02"),
        rows,
    };
    store
        .put_provisional_listing(&provisional_rows)
        .await
        .must("put_provisional_listing");
    assert_ne!(
        store.listing_version().await.must("listing_version"),
        before,
        "provisional rows change the listing version"
    );
    assert_eq!(
        store
            .provisional_listing()
            .await
            .must("provisional_listing"),
        Some(provisional_rows.clone())
    );
    let all = store.account_listing().await.must("account_listing");
    assert_eq!(all.segments, vec![listed], "segment listings unchanged");
    assert_eq!(all.provisional, Some(provisional_rows));

    let replaced = ProvisionalListing {
        day: day("2026-03-03"),
        rows: Vec::new(),
    };
    store
        .put_provisional_listing(&replaced)
        .await
        .must("put_provisional_listing again");
    assert_eq!(
        store
            .account_listing()
            .await
            .must("account_listing")
            .provisional,
        Some(replaced),
        "a rewrite replaces the rows whole"
    );
}
