//! The workflow audit log entries of dispatch: every automated action, skipped or done, with
//! a deterministic id so a retried action is logged once.

use super::Dispatch;
use crate::alerts::rules::Workflow;
use crate::error::StoreError;
use crate::model::{
    AccountRecord, ActionRecord, ActionStatus, AuditEntry, Intervention, OutreachRoute,
};
use serde_json::json;

impl Dispatch<'_> {
    pub(super) async fn audit_action(
        &self,
        wf: &Workflow,
        account: &AccountRecord,
        intervention: &Intervention,
        a: &ActionRecord,
    ) -> Result<(), StoreError> {
        let status = match a.status {
            ActionStatus::Skipped => "skipped",
            _ => "done",
        };
        let mut detail = json!({
            "workflow": wf.name,
            "intervention": intervention.id,
            "key": a.key,
            "channel": a.channel,
            "status": status,
            "detail": a.detail,
        });
        let action = if a.action == "outreach" && a.status == ActionStatus::Done {
            if let Some(o) = &intervention.outreach {
                detail["outreach"] = json!({"route": o.route, "to": o.to, "from": o.from, "subject": o.subject, "template": o.template, "contact": o.contact_name});
                match o.route {
                    OutreachRoute::Sent => "outreach.sent".to_string(),
                    OutreachRoute::Review => "outreach.drafted".to_string(),
                }
            } else {
                "workflow.outreach".to_string()
            }
        } else {
            format!("workflow.{}", a.action)
        };
        self.audit(&format!("action:{}", a.key), account, &action, detail)
            .await
    }

    pub(super) async fn audit(
        &self,
        id: &str,
        account: &AccountRecord,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.storage
            .append_audit(&AuditEntry {
                id: id.to_string(),
                at: self.clock.now(),
                account_id: Some(account.account_id.clone()),
                actor: "workflow".into(),
                action: action.into(),
                detail,
            })
            .await
    }
}
