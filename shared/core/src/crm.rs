//! CRM write-back: after the daily run, each account's health figures (score, band, churn risk,
//! day scored) are written to its record in the team's CRM, so CSMs see them where they work.
//! Only accounts whose figures changed since the last write are sent, in the CRM's batch size;
//! what was written is stored per CRM, so an unchanged value is never sent twice and a re-run
//! after a crash resends at most the batch in flight (values are absolute: harmless).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::churn::account_churn_risk;
use crate::config::CrmIds;
use crate::error::StoreError;
use crate::model::{AccountId, AccountRecord, Band};
use crate::ports::Storage;
use crate::segment::Segment;

/// Accounts read per page.
const PAGE: usize = 500;

/// What Vitals writes on an account's CRM record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmValues {
    /// 0-100, one decimal.
    pub health_score: f64,
    pub band: Band,
    /// Probability of churn within the model's horizon, two decimals; `None` without a model.
    pub churn_risk: Option<f64>,
    /// The day the score is of.
    pub last_scored: NaiveDate,
}

impl CrmValues {
    /// Whether the CRM would show something different: the day scored alone is no change (it
    /// moves every day), the figures are.
    pub fn differs_from(&self, pushed: &CrmValues) -> bool {
        self.health_score != pushed.health_score
            || self.band != pushed.band
            || self.churn_risk != pushed.churn_risk
    }
}

/// One record to write: the account, its id in the CRM, the values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmUpdate {
    pub account_id: AccountId,
    pub record_id: String,
    pub values: CrmValues,
}

/// What was last written to one CRM for one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmPushed {
    pub crm: String,
    pub account_id: AccountId,
    pub record_id: String,
    pub values: CrmValues,
    pub pushed_at: DateTime<Utc>,
}

/// A CRM write that failed, split by whether a later run can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// Still rate limited or unavailable after the client's own retries.
    #[error("{0} (will retry on the next run)")]
    Retryable(String),
    /// Credentials, missing properties or fields: fix the CRM or the configuration.
    #[error("{0}")]
    Permanent(String),
}

/// What a CRM client reports for one batch: the records it could not write (bad id, a field
/// refused) with why; every other record of the batch was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmBatchOutcome {
    pub failed: Vec<(String, String)>,
}

/// A CRM the figures are written to (HubSpot, Salesforce in `vitals-integrations`).
#[async_trait]
pub trait CrmSink: Send + Sync {
    /// Short name, the key of what was pushed (`hubspot`).
    fn name(&self) -> &str;
    /// Most records one call may carry.
    fn batch_size(&self) -> usize;
    /// How an account finds its record.
    fn record_ids(&self) -> &CrmIds;
    /// Writes one batch (at most [`CrmSink::batch_size`]), retrying rate limits itself.
    async fn write(&self, batch: &[CrmUpdate]) -> Result<CrmBatchOutcome, CrmError>;
}

/// What one write-back did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CrmReport {
    pub crm: String,
    pub written: usize,
    pub unchanged: usize,
    /// Scored accounts without a record id (no mapping, no trait).
    pub unmapped: usize,
    pub failed: usize,
    pub batches: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CrmSyncError {
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error("{crm}: {source}")]
    Crm {
        crm: String,
        #[source]
        source: CrmError,
    },
}

/// The account's figures as of its current daily score; `None` when it has none.
pub fn crm_values(
    record: &AccountRecord,
    model: Option<&crate::churn::ChurnModelRecord>,
) -> Option<CrmValues> {
    let score = record.score.as_ref()?;
    let health = score.health();
    Some(CrmValues {
        health_score: (health.score * 10.0).round() / 10.0,
        band: health.band,
        churn_risk: account_churn_risk(record, model)
            .ok()
            .map(|r| (r.probability * 100.0).round() / 100.0),
        last_scored: score.as_of,
    })
}

/// Writes the changed accounts' figures to `sink` and records what was written. Safe to run
/// again at any time: it only sends what differs from the last successful write.
pub async fn push_changes<S: Storage + ?Sized>(
    storage: &S,
    sink: &dyn CrmSink,
    now: DateTime<Utc>,
) -> Result<CrmReport, CrmSyncError> {
    let crm = sink.name().to_string();
    let mut report = CrmReport {
        crm: crm.clone(),
        ..CrmReport::default()
    };
    let pushed: BTreeMap<AccountId, CrmPushed> = storage
        .crm_pushed(&crm)
        .await?
        .into_iter()
        .map(|p| (p.account_id.clone(), p))
        .collect();
    let model = storage.latest_churn_model().await?;
    let mut changed = Vec::new();
    for segment in Segment::all() {
        let mut cursor: Option<String> = None;
        loop {
            let page = storage
                .list_segment(segment, cursor.as_deref(), PAGE)
                .await?;
            for record in &page.items {
                let Some(values) = crm_values(record, model.as_ref()) else {
                    continue;
                };
                let Some(record_id) = sink.record_ids().of(record) else {
                    report.unmapped += 1;
                    continue;
                };
                let same = pushed
                    .get(&record.account_id)
                    .is_some_and(|p| p.record_id == record_id && !values.differs_from(&p.values));
                if same {
                    report.unchanged += 1;
                } else {
                    changed.push(CrmUpdate {
                        account_id: record.account_id.clone(),
                        record_id,
                        values,
                    });
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    for batch in changed.chunks(sink.batch_size().max(1)) {
        let outcome = sink
            .write(batch)
            .await
            .map_err(|source| CrmSyncError::Crm {
                crm: crm.clone(),
                source,
            })?;
        report.batches += 1;
        for (record_id, why) in &outcome.failed {
            tracing::warn!(crm = %crm, record = %record_id, problem = %why, "CRM record not written");
        }
        let written: Vec<CrmPushed> = batch
            .iter()
            .filter(|u| !outcome.failed.iter().any(|(id, _)| *id == u.record_id))
            .map(|u| CrmPushed {
                crm: crm.clone(),
                account_id: u.account_id.clone(),
                record_id: u.record_id.clone(),
                values: u.values.clone(),
                pushed_at: now,
            })
            .collect();
        report.failed += batch.len() - written.len();
        report.written += written.len();
        storage.put_crm_pushed(&written).await?;
    }
    Ok(report)
}
