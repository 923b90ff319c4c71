//! A kept listing's rows with the lookups its views need, built once per listing version so a
//! view touches only the rows it shows (BRIEF §5: a dashboard view's p99 ≤ 5 ms at 100k
//! accounts): a CSM's or AE's book by owner, the whole portfolio in each sort order, the search
//! text, names by account id.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::OnceLock;

use chrono::NaiveDate;

use super::access::{Principal, Role};
use super::accounts::{AccountFilter, AccountRow, AccountSort};
use crate::model::AccountId;

/// Rows and their indexes. Reads as a slice of rows.
#[derive(Debug, Clone, Default)]
pub struct ListedRows {
    rows: Vec<AccountRow>,
    /// Row positions by owner (trimmed, lower case, as owners are matched).
    by_owner: HashMap<String, Vec<u32>>,
    by_id: HashMap<String, u32>,
    /// Every row's position in each [`AccountSort`] order, sorted when first asked for.
    orders: [OnceLock<Vec<u32>>; AccountSort::NAMES.len()],
    /// Each row's name and id in lower case, what free-text search looks in.
    search_text: OnceLock<Vec<String>>,
}

fn owner_key(owner: &str) -> String {
    owner.trim().to_ascii_lowercase()
}

impl ListedRows {
    pub fn new(rows: Vec<AccountRow>) -> Self {
        let mut by_owner: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_id = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let i = i as u32;
            if let Some(owner) = &row.owner {
                by_owner.entry(owner_key(owner)).or_default().push(i);
            }
            by_id.insert(row.account_id.clone(), i);
        }
        ListedRows {
            rows,
            by_owner,
            by_id,
            orders: Default::default(),
            search_text: OnceLock::new(),
        }
    }

    /// The account's row.
    pub fn get(&self, account_id: &str) -> Option<&AccountRow> {
        self.by_id.get(account_id).map(|&i| &self.rows[i as usize])
    }

    /// The account's name, when it has one.
    pub fn name_of(&self, account_id: &str) -> Option<&str> {
        self.get(account_id).and_then(|r| r.name.as_deref())
    }

    /// The rows `who` may see as of `today`, filtered and sorted: what the account list pages
    /// through and the dashboard's lists are cut from. Only what is shown is copied later (see
    /// [`AccountRow::on`] for a shown row's days to renewal).
    pub fn visible(
        &self,
        who: &Principal,
        filter: &AccountFilter,
        sort: AccountSort,
        today: NaiveDate,
    ) -> Vec<&AccountRow> {
        if !who.reads_accounts() {
            return Vec::new();
        }
        let words: Vec<String> = filter
            .search
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_lowercase)
            .collect();
        let search_text = (!words.is_empty()).then(|| self.search_text());
        let rest = AccountFilter {
            search: None,
            ..filter.clone()
        };
        let shown = |&i: &u32| {
            let row = &self.rows[i as usize];
            row.account_id != AccountId::UNATTRIBUTED
                && who.sees_owned_by(row.owner.as_deref())
                && rest.matches_on(row, today)
                && search_text
                    .is_none_or(|text| words.iter().all(|w| text[i as usize].contains(w.as_str())))
        };
        // A book (the reader's own, or the owner asked for) is small: filter it, then sort.
        let book = match who.role {
            Role::Csm | Role::Ae => Some(who.user.as_str()),
            _ => filter.owner.as_deref(),
        };
        if let Some(owner) = book {
            let positions = self.by_owner.get(&owner_key(owner));
            let mut rows: Vec<&AccountRow> = positions
                .into_iter()
                .flatten()
                .filter(|i| shown(i))
                .map(|&i| &self.rows[i as usize])
                .collect();
            sort.sort(&mut rows);
            return rows;
        }
        self.order(sort)
            .iter()
            .filter(|i| shown(i))
            .map(|&i| &self.rows[i as usize])
            .collect()
    }

    fn order(&self, sort: AccountSort) -> &[u32] {
        self.orders[sort as usize].get_or_init(|| {
            let mut refs: Vec<(u32, &AccountRow)> = (0u32..).zip(&self.rows).collect();
            sort.sort_by_row(&mut refs, |(_, row)| *row);
            refs.into_iter().map(|(i, _)| i).collect()
        })
    }

    fn search_text(&self) -> &[String] {
        self.search_text.get_or_init(|| {
            self.rows
                .iter()
                .map(|r| {
                    format!("{} {}", r.name.as_deref().unwrap_or(""), r.account_id).to_lowercase()
                })
                .collect()
        })
    }
}

impl Deref for ListedRows {
    type Target = [AccountRow];

    fn deref(&self) -> &[AccountRow] {
        &self.rows
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{AccountProfile, AccountRecord};
    use crate::query::listing::ListingBuilder;
    use crate::segment::Segment;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn record(id: &str, owner: &str, name: &str, mrr: f64) -> AccountRecord {
        let mut record = AccountRecord::new(AccountId::new(id).unwrap());
        record.profile = AccountProfile {
            name: Some(name.into()),
            owner: Some(owner.into()),
            mrr: Some(mrr),
            renewal_date: Some(day(31)),
            ..AccountProfile::default()
        };
        record
    }

    fn listed() -> ListedRows {
        let records = [
            record("a", "Ana@Example.com", "Acme Rockets", 10.0),
            record("b", "bob@example.com", "Beta Rockets", 30.0),
            record("c", "ana@example.com ", "Cobalt", 20.0),
            record(AccountId::UNATTRIBUTED, "ana@example.com", "nobody", 99.0),
        ];
        ListedRows::new(
            ListingBuilder::new(Segment(0), day(1), &records)
                .finish()
                .rows,
        )
    }

    fn ids(rows: Vec<&AccountRow>) -> Vec<&str> {
        rows.into_iter().map(|r| r.account_id.as_str()).collect()
    }

    #[test]
    fn owners_see_their_own_rows_with_renewal_counted_from_today() {
        let listed = listed();
        assert_eq!(listed[0].days_to_renewal, Some(30));
        let see = |who: Principal| -> Vec<String> {
            listed
                .visible(
                    &who,
                    &AccountFilter::default(),
                    AccountSort::AccountId,
                    day(11),
                )
                .into_iter()
                .map(|r| {
                    let r = r.clone().on(day(11));
                    format!("{}:{:?}", r.account_id, r.days_to_renewal)
                })
                .collect()
        };
        assert_eq!(
            see(Principal::new("ana@example.com", Role::Csm)),
            ["a:Some(20)", "c:Some(20)"]
        );
        assert_eq!(
            see(Principal::new("bob@example.com", Role::Ae)),
            ["b:Some(20)"]
        );
        assert_eq!(see(Principal::new("x", Role::Admin)).len(), 3);
        assert!(see(Principal::new("x", Role::ReadOnly)).is_empty());
    }

    #[test]
    fn presorted_views_match_sorting_the_filtered_rows() {
        let listed = listed();
        let admin = Principal::new("x", Role::Admin);
        let search = AccountFilter {
            search: Some("ROCKETS".into()),
            ..AccountFilter::default()
        };
        let by_mrr = listed.visible(&admin, &search, AccountSort::Mrr, day(2));
        assert_eq!(ids(by_mrr), ["b", "a"]);
        let every = listed.visible(&admin, &AccountFilter::default(), AccountSort::Mrr, day(2));
        assert_eq!(ids(every), ["b", "c", "a"]);
        // An owner filter reads that owner's book, matched as before (case-insensitive).
        let ana = AccountFilter {
            owner: Some("ANA@example.com".into()),
            ..AccountFilter::default()
        };
        assert_eq!(
            ids(listed.visible(&admin, &ana, AccountSort::Mrr, day(2))),
            ["a"]
        );
        // Every order agrees with sorting the same rows directly.
        for name in AccountSort::NAMES {
            let sort = AccountSort::parse(name).unwrap();
            let mut direct: Vec<&AccountRow> = listed
                .iter()
                .filter(|r| r.account_id != AccountId::UNATTRIBUTED)
                .collect();
            sort.sort(&mut direct);
            let shown = listed.visible(&admin, &AccountFilter::default(), sort, day(2));
            assert_eq!(ids(shown), ids(direct), "{name}");
        }
        assert_eq!(listed.get("c").unwrap().name.as_deref(), Some("Cobalt"));
        assert!(listed.get("zz").is_none());
    }
}
