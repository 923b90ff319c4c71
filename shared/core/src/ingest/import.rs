//! Bulk import from a CRM export or an event archive: CSV or NDJSON rows → account traits
//! (mapped like `group` traits), NDJSON lines → Segment [`Message`]s for the ingest use case.
//! Each row is judged on its own so a summary can list the rejected ones with their reasons.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::message::{clean, parse_raw_message, BatchDefaults, ItemError, Message, ParseContext};
use super::traits::apply_account_traits;
use crate::error::StoreError;
use crate::model::{AccountId, AccountProfile};
use crate::ports::Storage;

/// File formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Ndjson,
}

impl ImportFormat {
    /// From the file name (`.csv`, `.ndjson`/`.jsonl`/`.json`), else from the first
    /// non-blank character (`{` means NDJSON).
    pub fn detect(file_name: &str, text: &str) -> ImportFormat {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            ImportFormat::Csv
        } else if [".ndjson", ".jsonl", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
            || text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('{')
        {
            ImportFormat::Ndjson
        } else {
            ImportFormat::Csv
        }
    }
}

/// One account row: the id and its traits.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// 1-based line (NDJSON) or record number counting the header as 1 (CSV).
    pub line: usize,
    pub account: AccountId,
    pub traits: Map<String, Value>,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    pub line: usize,
    pub reason: String,
}

/// Column or key names accepted as the account id (compared without case and separators).
const ID_KEYS: &[&str] = &["id", "accountid", "groupid"];

fn normalise(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_id_key(k: &str) -> bool {
    ID_KEYS.contains(&normalise(k).as_str())
}

/// Reads an accounts file: every row parsed or refused. Fails as a whole only when the file has
/// no usable header (CSV without an id column).
pub fn account_rows(
    format: ImportFormat,
    text: &str,
) -> Result<Vec<Result<AccountRow, RowError>>, RowError> {
    let text = text.trim_start_matches('\u{feff}');
    match format {
        ImportFormat::Ndjson => Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| ndjson_account(i + 1, l))
            .collect()),
        ImportFormat::Csv => csv_accounts(text),
    }
}

fn ndjson_account(line: usize, text: &str) -> Result<AccountRow, RowError> {
    let err = |reason: String| RowError { line, reason };
    let value: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not valid JSON: {}", clean(&e))))?;
    let Value::Object(mut obj) = value else {
        return Err(err("must be a JSON object".into()));
    };
    // A Segment-style `{"groupId": ..., "traits": {...}}` line, or a flat object.
    let nested = match obj.remove("traits") {
        Some(Value::Object(t)) => Some(t),
        Some(Value::Null) | None => None,
        Some(_) => return Err(err("traits: must be an object".into())),
    };
    let id_key = obj.keys().find(|k| is_id_key(k)).cloned();
    let id = match id_key.and_then(|k| obj.remove(&k)) {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(err("id: must be a string or a number".into())),
        None => return Err(err("id: is required (id, account_id or groupId)".into())),
    };
    let account = AccountId::new(id.trim()).map_err(|e| err(format!("id: {e}")))?;
    let mut traits = match nested {
        Some(t) => t,
        None => obj,
    };
    traits.retain(|k, v| !v.is_null() && !is_id_key(k) && k != "type");
    Ok(AccountRow {
        line,
        account,
        traits,
    })
}

fn csv_accounts(text: &str) -> Result<Vec<Result<AccountRow, RowError>>, RowError> {
    let mut records = CsvRecords::new(text);
    let header = match records.next() {
        Some((_, Ok(h))) => h,
        Some((line, Err(reason))) => return Err(RowError { line, reason }),
        None => {
            return Err(RowError {
                line: 1,
                reason: "the file is empty; expected a header row".into(),
            })
        }
    };
    let id_col = header
        .iter()
        .position(|h| is_id_key(h))
        .ok_or_else(|| RowError {
            line: 1,
            reason: format!(
                "no account id column in the header ({}); name one id, account_id or groupId",
                header.join(", ")
            ),
        })?;
    let mut out = Vec::new();
    for (line, record) in records {
        let row = record.and_then(|fields| {
            if fields.len() == 1 && fields[0].trim().is_empty() {
                return Err(String::new());
            }
            if fields.len() != header.len() {
                return Err(format!(
                    "has {} fields; the header has {}",
                    fields.len(),
                    header.len()
                ));
            }
            let id = fields[id_col].trim();
            let account = AccountId::new(id).map_err(|e| format!("{}: {e}", header[id_col]))?;
            let traits = header
                .iter()
                .zip(fields)
                .enumerate()
                .filter(|(i, (_, v))| *i != id_col && !v.trim().is_empty())
                .map(|(_, (h, v))| (h.trim().to_string(), Value::String(v)))
                .collect();
            Ok(AccountRow {
                line,
                account,
                traits,
            })
        });
        match row {
            Err(reason) if reason.is_empty() => {}
            Err(reason) => out.push(Err(RowError { line, reason })),
            Ok(r) => out.push(Ok(r)),
        }
    }
    Ok(out)
}

/// RFC 4180 records: quoted fields may hold commas, quotes (`""`) and line breaks.
struct CsvRecords<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a str) -> Self {
        CsvRecords {
            rest: text,
            line: 1,
        }
    }
}

impl Iterator for CsvRecords<'_> {
    /// The record's first line, and its fields or why it cannot be read.
    type Item = (usize, Result<Vec<String>, String>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut quoted = false;
        let mut at_field_start = true;
        let mut consumed = self.rest.len();
        let mut error = None;
        while let Some((i, c)) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek().is_some_and(|(_, n)| *n == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        self.line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if at_field_start => {
                    quoted = true;
                    at_field_start = false;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                }
                '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {}
                '\n' => {
                    self.line += 1;
                    consumed = i + 1;
                    break;
                }
                _ => {
                    if !at_field_start && field.is_empty() && c == '"' {
                        error = Some("a quote inside an unquoted field".to_string());
                    }
                    field.push(c);
                    at_field_start = false;
                }
            }
        }
        if quoted {
            error = Some("a quoted field is not closed".to_string());
        }
        fields.push(field);
        self.rest = &self.rest[consumed.min(self.rest.len())..];
        Some((start_line, error.map_or(Ok(fields), Err)))
    }
}

/// Applies an account row to the stored profile. Returns the traits that had a known meaning but
/// an unusable value (reported, the rest of the row still applies). Re-running with the same
/// row leaves the same profile.
pub async fn import_account<S: Storage + ?Sized>(
    storage: &S,
    row: &AccountRow,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Vec<String>, StoreError> {
    let mut profile = match storage.get_account(&row.account).await? {
        Some(record) => record.profile,
        None => AccountProfile::default(),
    };
    let before = profile.clone();
    let unusable = apply_account_traits(&mut profile, &row.traits);
    if !dry_run && profile != before {
        profile.updated_at = Some(now);
        storage.put_profile(&row.account, &profile).await?;
    }
    Ok(unusable)
}

/// Parses one NDJSON line of an events file as a Segment message.
pub fn event_line(text: &str, cx: &ParseContext) -> Result<Message, ItemError> {
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| ItemError {
        field: "line".into(),
        problem: format!("not valid JSON: {}", clean(&e)),
    })?;
    parse_raw_message(raw, None, &BatchDefaults::default(), cx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_map_like_group_traits_and_bad_rows_are_named() {
        let csv = "\u{feff}Account ID,Name,Plan,Seats,Renewal Date,Notes\r\n\
                   acme,Acme,Enterprise,50,2026-09-30,\"big, \"\"key\"\" account\"\r\n\
                   ,Nameless,Pro,1,,\n\
                   globex,Globex,Pro,10\n\
                   \n\
                   initech,\"Ini\ntech\",Starter,5,,\n";
        let rows = account_rows(ImportFormat::Csv, csv).unwrap();
        assert_eq!(rows.len(), 4);
        let acme = rows[0].as_ref().unwrap();
        assert_eq!(acme.account.as_str(), "acme");
        assert_eq!(acme.traits["Notes"], "big, \"key\" account");
        assert!(!acme.traits.contains_key("Account ID"));
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert!(rows[1]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("must not be empty"));
        assert!(rows[2]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("has 4 fields"));
        let initech = rows[3].as_ref().unwrap();
        assert_eq!(
            (initech.line, initech.traits["Name"].as_str()),
            (6, Some("Ini\ntech"))
        );
    }

    #[test]
    fn csv_without_an_id_column_is_refused_whole() {
        let err = account_rows(ImportFormat::Csv, "name,plan\nAcme,Pro\n").unwrap_err();
        assert!(err.reason.contains("no account id column"), "{err}");
    }

    #[test]
    fn ndjson_rows_take_flat_or_segment_shapes() {
        let text = "{\"groupId\": \"acme\", \"traits\": {\"seats\": 5}}\n\
                    {\"account_id\": 7, \"plan\": \"Pro\"}\n\
                    {\"plan\": \"Pro\"}\n\
                    not json\n";
        let rows = account_rows(ImportFormat::Ndjson, text).unwrap();
        assert_eq!(rows[0].as_ref().unwrap().traits["seats"], 5);
        assert_eq!(rows[1].as_ref().unwrap().account.as_str(), "7");
        assert!(rows[2]
            .as_ref()
            .unwrap_err()
            .reason
            .starts_with("id: is required"));
        assert!(rows[3]
            .as_ref()
            .unwrap_err()
            .reason
            .starts_with("not valid JSON"));
    }

    #[test]
    fn format_is_detected_from_name_then_content() {
        assert_eq!(ImportFormat::detect("a.CSV", "{"), ImportFormat::Csv);
        assert_eq!(
            ImportFormat::detect("dump", "  {\"id\":1}"),
            ImportFormat::Ndjson
        );
        assert_eq!(ImportFormat::detect("dump", "id,name"), ImportFormat::Csv);
    }
}
