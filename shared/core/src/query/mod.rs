//! Read-side use cases for the query API and dashboard: who may see what ([`access`]), account
//! rows with their filters and sort ([`accounts`]), the precomputed listing those rows are read
//! from ([`listing`]) and kept with their indexes ([`listed_rows`]), the portfolio view with its
//! KPIs ([`portfolio`]) and a reader's own book of it ([`book`]), the account detail
//! ([`account`]), how a score changed over a week and a month ([`score_change`]) and alert
//! actions ([`alert_action`]).
//! Pure functions over stored records: the HTTP layer reads storage and hands the records in,
//! so every rule here is testable without I/O. The one exception, [`account_page`], decides
//! which history the account page reads after seeing the record.
//! (Configuration versions: `config::apply_config`.)

pub mod access;
pub mod account;
pub mod account_page;
pub mod accounts;
pub mod alert_action;
pub mod book;
pub mod listed_rows;
pub mod listing;
pub mod portfolio;
pub mod score_change;

pub use access::{Principal, Role};
