//! The storage contract of the CRM write-back (see `vitals_core::crm`): what was last written to
//! each CRM, per account, replaced by a later write and kept apart per CRM.

use chrono::NaiveDate;
use vitals_core::crm::{ActivityMark, CrmPushed, CrmValues};
use vitals_core::model::Band;
use vitals_core::ports::Storage;

use super::{acct, at};
use crate::support::Must;

fn pushed(crm: &str, account: &str, score: f64) -> CrmPushed {
    CrmPushed {
        crm: crm.into(),
        account_id: acct(account),
        record_id: format!("rec-{account}"),
        values: CrmValues {
            health_score: score,
            band: Band::Monitor,
            churn_risk: Some(0.27),
            last_scored: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
        },
        pushed_at: at(5),
    }
}

pub async fn crm_pushed_records_are_kept_per_crm_and_a_rewrite_replaces<S: Storage>(store: &S) {
    assert!(store
        .crm_pushed("hubspot")
        .await
        .must("crm_pushed")
        .is_empty());
    let first = [pushed("hubspot", "b", 40.0), pushed("hubspot", "a", 55.5)];
    store.put_crm_pushed(&first).await.must("put_crm_pushed");
    store
        .put_crm_pushed(&[pushed("salesforce", "a", 12.0)])
        .await
        .must("put_crm_pushed");
    store
        .put_crm_pushed(&[pushed("hubspot", "b", 41.5)])
        .await
        .must("put_crm_pushed");
    let hubspot = store.crm_pushed("hubspot").await.must("crm_pushed");
    assert_eq!(
        hubspot,
        vec![pushed("hubspot", "a", 55.5), pushed("hubspot", "b", 41.5)]
    );
    assert_eq!(
        store.crm_pushed("salesforce").await.must("crm_pushed"),
        vec![pushed("salesforce", "a", 12.0)]
    );
}

fn mark(crm: &str, secs: i64, ids: &[&str]) -> ActivityMark {
    ActivityMark {
        crm: crm.into(),
        through: at(secs),
        ids_at_through: ids.iter().map(|s| s.to_string()).collect(),
    }
}

pub async fn crm_activity_marks_are_kept_per_crm_and_replaced<S: Storage>(store: &S) {
    assert_eq!(
        store.crm_activity_mark("hubspot").await.must("mark"),
        None,
        "a CRM that never logged has no mark"
    );
    store
        .put_crm_activity_mark(&mark("hubspot", 5, &["audit-1"]))
        .await
        .must("put mark");
    store
        .put_crm_activity_mark(&mark("salesforce", 3, &[]))
        .await
        .must("put mark");
    store
        .put_crm_activity_mark(&mark("hubspot", 9, &["audit-7", "audit-8"]))
        .await
        .must("put mark");
    assert_eq!(
        store.crm_activity_mark("hubspot").await.must("mark"),
        Some(mark("hubspot", 9, &["audit-7", "audit-8"]))
    );
    assert_eq!(
        store.crm_activity_mark("salesforce").await.must("mark"),
        Some(mark("salesforce", 3, &[]))
    );
    assert_eq!(
        store.crm_pushed("hubspot").await.must("crm_pushed"),
        vec![],
        "a mark is not a write-back record"
    );
}
