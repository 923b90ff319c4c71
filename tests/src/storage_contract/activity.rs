//! The storage contract of the account page's reads (`AccountActivityStore`): the record, the
//! account's own newest alerts, interventions and audit entries, and its history records of
//! the days asked for, never another account's.

use vitals_core::model::AlertStatus;
use vitals_core::ports::Storage;

use super::{acct, alert, audit, day, history_day, ids, intervention, profile};
use crate::support::Must;

pub async fn account_activity_is_the_accounts_own_newest_and_the_history_days_asked<S: Storage>(
    store: &S,
) {
    let (a, b) = (acct("activity-a"), acct("activity-b"));
    store
        .put_profile(&a, &profile("A"))
        .await
        .must("put_profile a");
    store
        .put_profile(&b, &profile("B"))
        .await
        .must("put_profile b");
    for (i, secs) in [10, 30, 20].into_iter().enumerate() {
        let id = format!("al-a{i}");
        store
            .insert_alert(&alert(&id, &a, secs, AlertStatus::Open))
            .await
            .must("insert_alert a");
        let id = format!("iv-a{i}");
        store
            .insert_intervention(&intervention(&id, &a, secs))
            .await
            .must("insert_intervention a");
        let id = format!("au-a{i}");
        store
            .append_audit(&audit(&id, Some(&a), secs))
            .await
            .must("append_audit a");
    }
    // Newer than all of a's: must not leak into a's page.
    store
        .insert_alert(&alert("al-b", &b, 99, AlertStatus::Open))
        .await
        .must("insert_alert b");
    store
        .insert_intervention(&intervention("iv-b", &b, 99))
        .await
        .must("insert_intervention b");
    store
        .append_audit(&audit("au-b", Some(&b), 99))
        .await
        .must("append_audit b");
    store
        .append_audit(&audit("au-none", None, 98))
        .await
        .must("append_audit without account");
    let days = ["2026-03-01", "2026-03-08", "2026-03-20"].map(day);
    let history: Vec<_> = days
        .iter()
        .map(|d| history_day(&a, *d, 5.0))
        .chain([history_day(&b, days[0], 5.0)])
        .collect();
    store.put_history(&history).await.must("put_history");

    let asked = [days[2], day("2026-03-02"), days[0]];
    let page = store
        .account_activity(&a, 2, &asked)
        .await
        .must("account_activity");
    let Some(record) = page.record else {
        panic!("account_activity: no record for an account that exists");
    };
    assert_eq!(record.profile.name.as_deref(), Some("A"));
    assert_eq!(
        ids(&page.alerts, |x| x.id.clone()),
        ["al-a1", "al-a2"],
        "alerts: the account's own, newest opened first, at most the limit"
    );
    assert_eq!(
        ids(&page.interventions, |x| x.id.clone()),
        ["iv-a1", "iv-a2"],
        "interventions: the account's own, newest first, at most the limit"
    );
    assert_eq!(
        ids(&page.audit, |x| x.id.clone()),
        ["au-a1", "au-a2"],
        "audit: the account's own, newest first, at most the limit"
    );
    let got: Vec<_> = page
        .history
        .iter()
        .map(|r| (r.account_id.clone(), r.as_of))
        .collect();
    assert_eq!(
        got,
        [(a.clone(), days[0]), (a.clone(), days[2])],
        "history: the days asked for that exist, oldest first"
    );

    let unknown = store
        .account_activity(&acct("activity-none"), 2, &asked)
        .await
        .must("account_activity of an unknown account");
    assert!(unknown.record.is_none() && unknown.alerts.is_empty() && unknown.history.is_empty());
}
