//! CRM write-back: after the daily run, each account's health figures (score, band, churn risk,
//! day scored) are written to its record in the team's CRM, so CSMs see them where they work.
//! Only accounts whose figures changed since the last write are sent, in the CRM's batch size;
//! what was written is stored per CRM, so an unchanged value is never sent twice and a re-run
//! after a crash resends at most the batch in flight (values are absolute: harmless).
//! [`activities`] logs what Vitals did on each account on the record's timeline.

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

pub mod activities;

pub use activities::{ActivityKind, ActivityMark, ActivityReport, CrmActivity};

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

/// What a CRM client reports for one batch: the records (or activities) it could not write (bad
/// id, a field refused) with why; every other one of the batch was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmBatchOutcome {
    pub failed: Vec<(String, String)>,
}

/// What a CRM sink is, the same questions for every CRM (how it writes is [`CrmSink`]'s).
#[derive(Debug, Clone, PartialEq)]
pub struct CrmSinkInfo {
    /// Short name, the key of what was pushed (`hubspot`).
    pub name: &'static str,
    /// Most records one call may carry.
    pub batch_size: usize,
    /// How an account finds its record.
    pub record_ids: CrmIds,
    /// Whether activities are logged on this CRM's records (`log_activities`).
    pub logs_activities: bool,
    /// Most activities one call may carry.
    pub activity_batch_size: usize,
}

/// A CRM the figures are written to (HubSpot, Salesforce in `vitals-integrations`).
#[async_trait]
pub trait CrmSink: Send + Sync {
    fn info(&self) -> &CrmSinkInfo;
    /// Short name, the key of what was pushed (`hubspot`).
    fn name(&self) -> &str {
        self.info().name
    }
    /// Most records one call may carry.
    fn batch_size(&self) -> usize {
        self.info().batch_size
    }
    /// How an account finds its record.
    fn record_ids(&self) -> &CrmIds {
        &self.info().record_ids
    }
    /// Writes one batch (at most [`CrmSink::batch_size`]), retrying rate limits itself.
    async fn write(&self, batch: &[CrmUpdate]) -> Result<CrmBatchOutcome, CrmError>;
    /// Whether activities are logged on this CRM's records (`log_activities`).
    fn logs_activities(&self) -> bool {
        self.info().logs_activities
    }
    /// Most activities one call may carry.
    fn activity_batch_size(&self) -> usize {
        self.info().activity_batch_size
    }
    /// Logs one batch of activities on their records; the outcome's failures name activity ids.
    async fn log_activities(&self, batch: &[CrmActivity]) -> Result<CrmBatchOutcome, CrmError>;
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

/// Writes the changed accounts' figures to each sink and records what was written, reading the
/// accounts once for all of them. Safe to run again at any time: each CRM only gets what differs
/// from its last successful write. A storage failure while reading stops all; a CRM that fails
/// is reported in its place and the others go on.
pub async fn push_changes<S: Storage + ?Sized>(
    storage: &S,
    sinks: &[&dyn CrmSink],
    now: DateTime<Utc>,
) -> Result<Vec<Result<CrmReport, CrmSyncError>>, StoreError> {
    let mut plans = Vec::with_capacity(sinks.len());
    for sink in sinks {
        let pushed: BTreeMap<AccountId, CrmPushed> = storage
            .crm_pushed(sink.name())
            .await?
            .into_iter()
            .map(|p| (p.account_id.clone(), p))
            .collect();
        let report = CrmReport {
            crm: sink.name().to_string(),
            ..CrmReport::default()
        };
        plans.push((pushed, report, Vec::new()));
    }
    let model = storage.latest_churn_model().await?;
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
                for (sink, (pushed, report, changed)) in sinks.iter().zip(plans.iter_mut()) {
                    let Some(record_id) = sink.record_ids().of(record) else {
                        report.unmapped += 1;
                        continue;
                    };
                    let same = pushed.get(&record.account_id).is_some_and(|p| {
                        p.record_id == record_id && !values.differs_from(&p.values)
                    });
                    if same {
                        report.unchanged += 1;
                    } else {
                        changed.push(CrmUpdate {
                            account_id: record.account_id.clone(),
                            record_id,
                            values: values.clone(),
                        });
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    let mut reports = Vec::with_capacity(sinks.len());
    for (sink, (_, report, changed)) in sinks.iter().zip(plans) {
        reports.push(write_changed(storage, *sink, report, &changed, now).await);
    }
    Ok(reports)
}

async fn write_changed<S: Storage + ?Sized>(
    storage: &S,
    sink: &dyn CrmSink,
    mut report: CrmReport,
    changed: &[CrmUpdate],
    now: DateTime<Utc>,
) -> Result<CrmReport, CrmSyncError> {
    let crm = report.crm.clone();
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

/// What the daily run does for the CRMs once its last day is scored: the changed figures, then
/// the activities since the last run. Failures are logged, not raised: the next run sends what
/// is still unsent.
pub async fn after_run<S: Storage + ?Sized>(
    storage: &S,
    sinks: &[std::sync::Arc<dyn CrmSink>],
    now: DateTime<Utc>,
) {
    if sinks.is_empty() {
        return;
    }
    let sinks: Vec<&dyn CrmSink> = sinks.iter().map(|s| s.as_ref()).collect();
    match push_changes(storage, &sinks, now).await {
        Ok(reports) => {
            for report in reports {
                match report {
                    Ok(r) => {
                        tracing::info!(crm = %r.crm, written = r.written, unchanged = r.unchanged, unmapped = r.unmapped, failed = r.failed, "CRM write-back")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "CRM write-back failed; the next run sends what is unsent")
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "CRM write-back could not read the accounts; the next run sends what is unsent")
        }
    }
    match activities::log_activities(storage, &sinks, now).await {
        Ok(reports) => {
            for report in reports {
                match report {
                    Ok(r) => {
                        tracing::info!(crm = %r.crm, logged = r.logged, unmapped = r.unmapped, failed = r.failed, "CRM activities")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "CRM activities not logged; the next run sends what is unsent")
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "CRM activities could not be read; the next run sends what is unsent")
        }
    }
}
