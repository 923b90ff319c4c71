//! A kept listing's rows with the lookups its views need, built once per listing version so a
//! view touches only the rows it shows (BRIEF §5: a dashboard view's p99 ≤ 5 ms at 100k
//! accounts): every row's filterable facts packed, each sort order, the search text, names by
//! account id.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{Datelike, NaiveDate};

use super::access::{Principal, Role};
use super::accounts::{AccountFilter, AccountRow, AccountSort, LifecycleFilter, Tested};
use super::book::book_view;
use super::portfolio::PortfolioView;
use crate::lifecycle::Lifecycle;
use crate::model::{AccountId, Band, BookDay};
use vitals_scoring::{DeclineSeverity, RiskLevel};

/// Rows and their indexes. Reads as a slice of rows.
#[derive(Debug, Default)]
pub struct ListedRows {
    rows: Vec<AccountRow>,
    by_id: HashMap<String, u32>,
    /// Every row's position and facts in each [`AccountSort`] order, sorted when first asked
    /// for: a view walks them front to back (facts in row order, visited in sort order, cost a
    /// cache miss each: milliseconds at 100k rows).
    orders: [OnceLock<Vec<(u32, Facts)>>; AccountSort::NAMES.len()],
    /// Each row's name and id in lower case, what free-text search looks in.
    search_text: OnceLock<SearchText>,
    /// Each row's filterable facts, packed: testing 100k of them takes a fraction of a
    /// millisecond, where reading the rows themselves (hundreds of bytes each) took several.
    facts: Vec<Facts>,
    /// Tier, region and product line values (lower case) by their number in [`Facts`].
    texts: HashMap<String, u32>,
    renewal_risk_counts: OnceLock<RenewalRiskCounts>,
    /// Each reader's book on a day, worked out once per listing: a CSM's portfolio reads every
    /// row of her book.
    book_views: Mutex<HashMap<(String, NaiveDate), Arc<PortfolioView>>>,
}

/// Book views kept at most per listing; cleared when full.
const KEPT_BOOK_VIEWS: usize = 4096;

/// Active scored accounts, and how many of them are at high and medium renewal risk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenewalRiskCounts {
    pub scored: u64,
    pub high: u64,
    pub medium: u64,
}

/// What a filter tests of a row, with its text fields as numbers ([`ListedRows::texts`]).
#[derive(Debug, Clone, Copy)]
struct Facts {
    lifecycle: Lifecycle,
    band: Option<Band>,
    decline: Option<DeclineSeverity>,
    expansion: bool,
    /// The unattributed-events pseudo-account, never listed.
    unattributed: bool,
    /// The renewal date as a day number (`num_days_from_ce`): a subtraction per view, where
    /// date arithmetic on 100k rows took milliseconds.
    renewal_day: Option<i32>,
    /// The owner as the owner filter matches it (any case) and as a CSM or AE is matched
    /// to their book (also trimmed).
    owner: u32,
    book: u32,
    tier: u32,
    region: u32,
    product_line: u32,
}

/// The number of an absent text field.
const NO_TEXT: u32 = u32::MAX;
/// The number of a text a filter asks for that no row has.
const UNKNOWN_TEXT: u32 = u32::MAX - 1;

fn owner_key(owner: &str) -> String {
    owner.trim().to_ascii_lowercase()
}

impl ListedRows {
    pub fn new(rows: Vec<AccountRow>) -> Self {
        let mut by_id = HashMap::with_capacity(rows.len());
        let mut texts: HashMap<String, u32> = HashMap::new();
        let mut facts = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let i = i as u32;
            by_id.insert(row.account_id.clone(), i);
            let mut number = |text: &Option<String>| match text {
                None => NO_TEXT,
                Some(t) => {
                    let next = texts.len() as u32;
                    *texts.entry(t.to_ascii_lowercase()).or_insert(next)
                }
            };
            facts.push(Facts {
                lifecycle: row.lifecycle,
                band: row.band,
                decline: row.decline,
                expansion: row.expansion,
                unattributed: row.account_id == AccountId::UNATTRIBUTED,
                renewal_day: row.renewal_date.map(|d| d.num_days_from_ce()),
                owner: number(&row.owner),
                book: number(&row.owner.as_deref().map(owner_key)),
                tier: number(&row.tier),
                region: number(&row.region),
                product_line: number(&row.product_line),
            });
        }
        ListedRows {
            rows,
            by_id,
            orders: Default::default(),
            search_text: OnceLock::new(),
            facts,
            texts,
            renewal_risk_counts: OnceLock::new(),
            book_views: Mutex::new(HashMap::new()),
        }
    }

    /// `who`'s own book on `today` (every lifecycle state; churned accounts count in the churn
    /// figures) with `books` as its trend: computed once per listing and reader and day, as the
    /// books come with the listing's version.
    pub fn book_view(
        &self,
        who: &Principal,
        books: &[BookDay],
        today: NaiveDate,
    ) -> Arc<PortfolioView> {
        let key = (owner_key(&who.user), today);
        let kept = |views: &HashMap<_, Arc<PortfolioView>>| views.get(&key).cloned();
        if let Some(view) = kept(&self.book_views.lock().unwrap_or_else(|e| e.into_inner())) {
            return view;
        }
        let every_state = AccountFilter {
            lifecycle: Some(LifecycleFilter::All),
            ..AccountFilter::default()
        };
        let rows = self.visible(who, &every_state, AccountSort::AccountId, today);
        let view = Arc::new(book_view(&rows, books, today));
        let mut views = self.book_views.lock().unwrap_or_else(|e| e.into_inner());
        if views.len() >= KEPT_BOOK_VIEWS {
            views.clear();
        }
        views.insert(key, Arc::clone(&view));
        view
    }

    /// Counted once per listing: the portfolio page's renewal-risk tiles.
    pub fn renewal_risk_counts(&self) -> RenewalRiskCounts {
        *self.renewal_risk_counts.get_or_init(|| {
            let mut counts = RenewalRiskCounts::default();
            for r in &self.rows {
                if r.score.is_none() || !r.lifecycle.is_active() {
                    continue;
                }
                counts.scored += 1;
                match r.renewal_risk {
                    Some(RiskLevel::High) => counts.high += 1,
                    Some(RiskLevel::Medium) => counts.medium += 1,
                    _ => {}
                }
            }
            counts
        })
    }

    /// The number a filter's text stands for: `None` when the filter does not ask.
    fn text_number(&self, wanted: &Option<String>) -> Option<u32> {
        wanted.as_ref().map(|w| {
            self.texts
                .get(&w.to_ascii_lowercase())
                .copied()
                .unwrap_or(UNKNOWN_TEXT)
        })
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
        self.first(who, filter, sort, today, usize::MAX)
    }

    /// The first `n` of [`ListedRows::visible`]'s rows, walking no further than they reach (a
    /// short list of the worst accounts stops within its first rows).
    pub fn first(
        &self,
        who: &Principal,
        filter: &AccountFilter,
        sort: AccountSort,
        today: NaiveDate,
        n: usize,
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
        // A CSM or AE sees their own book; admins and leads every account.
        let reader = match who.role {
            Role::Csm | Role::Ae => self.text_number(&Some(owner_key(&who.user))),
            _ => None,
        };
        let (owner, tier, region, product_line) = (
            self.text_number(&filter.owner),
            self.text_number(&filter.tier),
            self.text_number(&filter.region),
            self.text_number(&filter.product_line),
        );
        let today_day = today.num_days_from_ce();
        // Packed facts, so only the rows shown are read.
        let kept = |entry: &&(u32, Facts)| {
            let (i, f) = (entry.0, &entry.1);
            let tested = Tested {
                lifecycle: f.lifecycle,
                band: f.band,
                decline: f.decline,
                expansion: f.expansion,
                days_to_renewal: f.renewal_day.map(|d| i64::from(d - today_day)),
            };
            !f.unattributed
                && reader.is_none_or(|r| r == f.book)
                && owner.is_none_or(|o| o == f.owner)
                && rest.matches_tested(&tested)
                && tier.is_none_or(|t| t == f.tier)
                && region.is_none_or(|r| r == f.region)
                && product_line.is_none_or(|p| p == f.product_line)
                && search_text.is_none_or(|text| {
                    let row_text = text.of(i);
                    words.iter().all(|w| row_text.contains(w.as_str()))
                })
        };
        self.order(sort)
            .iter()
            .filter(kept)
            .take(n)
            .map(|&(i, _)| &self.rows[i as usize])
            .collect()
    }

    fn order(&self, sort: AccountSort) -> &[(u32, Facts)] {
        self.orders[sort as usize].get_or_init(|| {
            let mut refs: Vec<(u32, &AccountRow)> = (0u32..).zip(&self.rows).collect();
            sort.sort_by_row(&mut refs, |(_, row)| *row);
            refs.into_iter()
                .map(|(i, _)| (i, self.facts[i as usize]))
                .collect()
        })
    }

    fn search_text(&self) -> &SearchText {
        self.search_text.get_or_init(|| {
            let mut text = SearchText::default();
            for r in &self.rows {
                let row = format!("{} {}", r.name.as_deref().unwrap_or(""), r.account_id);
                text.all.push_str(&row.to_lowercase());
                text.ends.push(text.all.len());
            }
            text
        })
    }
}

/// Every row's name and id in lower case, one after another in one buffer (a search visits
/// the rows in sort order: one buffer keeps those visits close together).
#[derive(Debug, Default)]
struct SearchText {
    all: String,
    /// Where each row's text ends in `all`.
    ends: Vec<usize>,
}

impl SearchText {
    fn of(&self, row: u32) -> &str {
        let row = row as usize;
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.all[start..self.ends[row]]
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

    #[test]
    fn packed_filters_agree_with_the_rows_filters() {
        use crate::query::accounts::{DeclineFilter, LifecycleFilter};
        let base = listed()[0].clone();
        let lifecycles = [Lifecycle::Active, Lifecycle::Churned, Lifecycle::NotStarted];
        let bands = [
            None,
            Some(Band::AtRisk),
            Some(Band::Monitor),
            Some(Band::Healthy),
        ];
        let declines = [
            None,
            Some(DeclineSeverity::Moderate),
            Some(DeclineSeverity::Severe),
        ];
        let texts = [None, Some("Gold"), Some("gold"), Some("EU")];
        let rows: Vec<AccountRow> = (0..240usize)
            .map(|i| {
                let mut r = base.clone();
                r.account_id = format!("r{i:03}");
                r.name = Some(format!("Row {}", i % 7));
                r.lifecycle = lifecycles[i % 3];
                r.band = bands[i % 4];
                r.decline = declines[i % 3];
                r.expansion = i % 5 == 0;
                r.tier = texts[i % 4].map(String::from);
                r.region = texts[(i / 4) % 4].map(String::from);
                r.product_line = texts[(i / 16) % 4].map(String::from);
                r.renewal_date = (i % 6 != 0).then(|| day(1) + chrono::Days::new((i % 40) as u64));
                r
            })
            .collect();
        let listed = ListedRows::new(rows.clone());
        let admin = Principal::new("x", Role::Admin);
        let today = day(5);
        let filters = [
            AccountFilter::default(),
            AccountFilter {
                lifecycle: Some(LifecycleFilter::All),
                ..AccountFilter::default()
            },
            AccountFilter {
                lifecycle: Some(LifecycleFilter::Only(Lifecycle::Churned)),
                band: Some(Band::AtRisk),
                ..AccountFilter::default()
            },
            AccountFilter {
                band: Some(Band::Monitor),
                tier: Some("GOLD".into()),
                ..AccountFilter::default()
            },
            AccountFilter {
                region: Some("eu".into()),
                product_line: Some("nowhere".into()),
                ..AccountFilter::default()
            },
            AccountFilter {
                region: Some("eu".into()),
                decline: Some(DeclineFilter::Any),
                expansion: Some(false),
                ..AccountFilter::default()
            },
            AccountFilter {
                renewal_within_days: Some(10),
                decline: Some(DeclineFilter::None),
                search: Some("row 3".into()),
                ..AccountFilter::default()
            },
        ];
        for filter in &filters {
            let mut direct: Vec<&AccountRow> = rows
                .iter()
                .filter(|r| filter.matches_on(r, today))
                .collect();
            AccountSort::Renewal.sort(&mut direct);
            let shown = listed.visible(&admin, filter, AccountSort::Renewal, today);
            assert_eq!(ids(shown), ids(direct), "{filter:?}");
        }
    }
}
