//! Read-side use cases for the query API and dashboard: who may see what ([`access`]), account
//! rows with their filters and sort ([`accounts`]), the portfolio view with its KPIs
//! ([`portfolio`]), the account detail ([`account`]), alert actions ([`alert_action`]) and
//! configuration versions ([`config_change`]). Pure functions over stored records: the HTTP layer
//! reads storage and hands the records in, so every rule here is testable without I/O.

pub mod access;
pub mod account;
pub mod accounts;
pub mod alert_action;
pub mod config_change;
pub mod portfolio;

pub use access::{Principal, Role};
