//! `GET /v1/audit`: the workflow audit log, newest first. Admins read all of it; CSMs and AEs
//! read it for one of their own accounts (`account_id` required).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde::Serialize;
use vitals_core::model::{AccountId, AuditEntry};

use super::{page_limit, reads, Caller};
use crate::{ApiError, AppState};

#[derive(Debug, Serialize)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AuditList>, ApiError> {
    let who = caller.require_accounts()?;
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let limit = page_limit(get("limit"), 50, 200)?;
    let account = match get("account_id") {
        Some(id) => {
            // CSMs and AEs must own the account; a missing or foreign one is 404.
            if !who.reads_every_account() {
                reads::visible_account(state.storage.as_ref(), who, id).await?;
            }
            Some(AccountId::new(id).map_err(|_| ApiError::NotFound)?)
        }
        None if who.is_admin() => None,
        None => {
            return Err(ApiError::BadRequest(
                "account_id: required for your role (the log of one of your accounts)".into(),
            ))
        }
    };
    let page = state
        .storage
        .list_audit(account.as_ref(), get("cursor"), limit)
        .await
        .map_err(super::listing_error)?;
    Ok(Json(AuditList {
        items: page.items,
        next_cursor: page.next,
    }))
}
