//! Bulk import from a CRM export or an event archive: CSV or NDJSON rows → account traits
//! (mapped like `group` traits), NDJSON lines → Segment [`Message`]s for the ingest use case.
//! Input is read as a stream (plain or gzip), one row at a time, so a file of any size imports
//! in bounded memory. Each row is judged on its own so a summary can list the rejected ones
//! with their reasons.

use std::io::{BufRead, BufReader};

use chrono::{DateTime, Utc};
use flate2::bufread::MultiGzDecoder;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::message::{clean, parse_raw_message, BatchDefaults, ItemError, Message, ParseContext};
use super::one_pass::parse_line;
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
    /// From the file name (`.csv`, `.ndjson`/`.jsonl`/`.json`, each perhaps with `.gz`), else
    /// from the first non-blank character of the (decompressed) text (`{` means NDJSON).
    pub fn detect(file_name: &str, text: &str) -> ImportFormat {
        let lower = file_name.to_ascii_lowercase();
        let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
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

/// The longest line (or CSV record) an import holds in memory; a longer one is refused and
/// skipped without being read whole.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Why an import stopped before the end of its input (a bad row never stops it).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input failed {}", if *line == 0 { "at its start".to_string() } else { format!("after line {line}") })]
    Read {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    /// The CSV header cannot be used, so no row can be.
    #[error(transparent)]
    Header(RowError),
}

/// The bytes of an import file as text: gzip (one or several members, as `cat a.gz b.gz`
/// makes) is recognised by its magic bytes and decompressed as it is read.
pub fn decompressed<'a, R: BufRead + Send + 'a>(
    mut reader: R,
) -> std::io::Result<Box<dyn BufRead + Send + 'a>> {
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            64 * 1024,
            MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    })
}

/// A line's number and text, or why it cannot be read as text.
pub type NumberedLine = Result<(usize, String), RowError>;

/// The lines of a stream, numbered from 1, read one at a time (bounded memory): a line
/// longer than [`MAX_LINE_BYTES`] or not UTF-8 is refused on its own. Trailing `\r` and a
/// byte-order mark are removed; blank lines are yielded too (CSV fields may hold them).
pub struct Lines<R> {
    reader: R,
    line: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The number of the last line read.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Reads up to the next `\n`, keeping at most [`MAX_LINE_BYTES`]. `None` at the end.
    fn read_raw(&mut self) -> Result<Option<bool>, ImportError> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ImportError::Read {
                        line: self.line,
                        source,
                    })
                }
            };
            if available.is_empty() {
                return Ok(any.then_some(too_long));
            }
            any = true;
            let (take, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (available.len(), false),
            };
            if self.buf.len() + take > MAX_LINE_BYTES {
                too_long = true;
            } else {
                self.buf.extend_from_slice(&available[..take]);
            }
            self.reader.consume(if done { take + 1 } else { take });
            if done {
                return Ok(Some(too_long));
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// A line's number and text, or why it cannot be read; `Err` when the input fails.
    type Item = Result<NumberedLine, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        let too_long = match self.read_raw() {
            Ok(None) => return None,
            Ok(Some(too_long)) => too_long,
            Err(e) => return Some(Err(e)),
        };
        self.line += 1;
        let line = self.line;
        if too_long {
            return Some(Ok(Err(RowError {
                line,
                reason: format!("line: is longer than {MAX_LINE_BYTES} bytes"),
            })));
        }
        let mut bytes = std::mem::take(&mut self.buf);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let column = e.utf8_error().valid_up_to() + 1;
                self.buf = e.into_bytes();
                return Some(Ok(Err(RowError {
                    line,
                    reason: format!(
                        "line: is not UTF-8 text (invalid byte at column {column}); export the file as UTF-8"
                    ),
                })));
            }
        };
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Some(Ok(Ok((line, text))))
    }
}

/// The rows of an accounts file, read one at a time from a stream: every row parsed or
/// refused. Creating it fails only when the input cannot be read or a CSV file has no usable
/// header (no id column).
pub struct AccountRows<R> {
    lines: Lines<R>,
    /// CSV: the header's column names and which one is the id; `None` for NDJSON.
    header: Option<(Vec<String>, usize)>,
}

impl<R: BufRead> AccountRows<R> {
    pub fn new(format: ImportFormat, reader: R) -> Result<Self, ImportError> {
        let mut rows = AccountRows {
            lines: Lines::new(reader),
            header: None,
        };
        if format == ImportFormat::Csv {
            let header = loop {
                match rows.next_csv_record()? {
                    None => {
                        return Err(ImportError::Header(RowError {
                            line: 1,
                            reason: "the file is empty; expected a header row".into(),
                        }))
                    }
                    Some(Err(e)) => return Err(ImportError::Header(e)),
                    Some(Ok((_, text))) if text.trim().is_empty() => continue,
                    Some(Ok((line, text))) => match CsvRecords::new(&text, line).next() {
                        Some((_, Ok(fields))) => break fields,
                        Some((line, Err(reason))) => {
                            return Err(ImportError::Header(RowError { line, reason }))
                        }
                        None => continue,
                    },
                }
            };
            let id_col = header
                .iter()
                .position(|h| is_id_key(h))
                .ok_or_else(|| {
                    ImportError::Header(RowError {
                        line: rows.lines.line(),
                        reason: format!(
                            "no account id column in the header ({}); name one id, account_id or groupId",
                            header.join(", ")
                        ),
                    })
                })?;
            rows.header = Some((header, id_col));
        }
        Ok(rows)
    }

    /// One CSV record's text (lines joined while a quoted field is open) and its first line.
    fn next_csv_record(&mut self) -> Result<Option<NumberedLine>, ImportError> {
        let (first, mut text) = match self.lines.next().transpose()? {
            None => return Ok(None),
            Some(Err(e)) => return Ok(Some(Err(e))),
            Some(Ok(l)) => l,
        };
        while ends_inside_quotes(&text) {
            match self.lines.next().transpose()? {
                None => break,
                Some(Err(e)) => {
                    return Ok(Some(Err(RowError {
                        line: first,
                        reason: format!(
                            "a quoted field is not closed before line {} ({})",
                            e.line, e.reason
                        ),
                    })))
                }
                Some(Ok((_, more))) => {
                    if text.len() + more.len() > MAX_LINE_BYTES {
                        return Ok(Some(Err(RowError {
                            line: first,
                            reason: format!(
                                "a quoted field is not closed within {MAX_LINE_BYTES} bytes"
                            ),
                        })));
                    }
                    text.push('\n');
                    text.push_str(&more);
                }
            }
        }
        Ok(Some(Ok((first, text))))
    }
}

impl<R: BufRead> Iterator for AccountRows<R> {
    type Item = Result<Result<AccountRow, RowError>, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.header.is_none() {
                return match self.lines.next()? {
                    Err(e) => Some(Err(e)),
                    Ok(Err(e)) => Some(Ok(Err(e))),
                    Ok(Ok((_, text))) if text.trim().is_empty() => continue,
                    Ok(Ok((line, text))) => Some(Ok(ndjson_account(line, &text))),
                };
            }
            let (line, text) = match self.next_csv_record() {
                Err(e) => return Some(Err(e)),
                Ok(None) => return None,
                Ok(Some(Err(e))) => return Some(Ok(Err(e))),
                Ok(Some(Ok(record))) => record,
            };
            let Some((line, record)) = CsvRecords::new(&text, line).next() else {
                continue;
            };
            let Some((names, id_col)) = &self.header else {
                return None;
            };
            match csv_account(names, *id_col, line, record) {
                None => continue,
                Some(row) => return Some(Ok(row)),
            }
        }
    }
}

/// Whether a CSV line ends inside a quoted field (its record goes on on the next line).
fn ends_inside_quotes(text: &str) -> bool {
    let mut quoted = false;
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => at_field_start = true,
            _ => at_field_start = false,
        }
    }
    quoted
}

/// One CSV record as an account row; `None` for a blank record.
fn csv_account(
    header: &[String],
    id_col: usize,
    line: usize,
    record: Result<Vec<String>, String>,
) -> Option<Result<AccountRow, RowError>> {
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
        Err(reason) if reason.is_empty() => None,
        Err(reason) => Some(Err(RowError { line, reason })),
        Ok(r) => Some(Ok(r)),
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

/// RFC 4180 records: quoted fields may hold commas, quotes (`""`) and line breaks.
struct CsvRecords<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> CsvRecords<'a> {
    /// The records of `text`, whose first line is line `line` of the file.
    fn new(text: &'a str, line: usize) -> Self {
        CsvRecords { rest: text, line }
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

/// Parses one NDJSON line of an events file as a Segment message, received at `received_at`.
/// An event older than `retention_days` is refused with a reason naming the setting, since
/// importing an archive is where a user meets that limit.
pub fn event_line(
    text: &str,
    received_at: DateTime<Utc>,
    retention_days: u32,
) -> Result<Message, ItemError> {
    let window = ParseContext::new(received_at, retention_days);
    let unbounded = ParseContext {
        oldest_accepted: DateTime::<Utc>::MIN_UTC,
        ..window
    };
    // The one-pass reader takes the usual line; anything unusual (and every refusal, with its
    // message) is left to the field-by-field parse.
    let message = match parse_line(text, &unbounded) {
        Ok(m) => m,
        Err(_) => {
            let raw: &RawValue = serde_json::from_str(text).map_err(|e| ItemError {
                field: "line".into(),
                problem: format!("not valid JSON: {}", clean(&e)),
            })?;
            parse_raw_message(raw, None, &BatchDefaults::default(), &unbounded)?
        }
    };
    if message.timestamp < window.oldest_accepted {
        return Err(ItemError {
            field: "timestamp".into(),
            problem: format!(
                "is older than the retention period (`[retention] days` = {retention_days}: \
                 nothing before {} is kept); raise `[retention] days` in the configuration \
                 to import older events",
                window.oldest_accepted.date_naive()
            ),
        });
    }
    Ok(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `event_line` as it was before its one-pass reader: every line parsed field by field.
    fn field_by_field(text: &str, now: DateTime<Utc>, days: u32) -> Result<Message, ItemError> {
        let raw: &RawValue = serde_json::from_str(text).map_err(|e| ItemError {
            field: "line".into(),
            problem: format!("not valid JSON: {}", clean(&e)),
        })?;
        let window = ParseContext::new(now, days);
        let unbounded = ParseContext {
            oldest_accepted: DateTime::<Utc>::MIN_UTC,
            ..window
        };
        let m = parse_raw_message(raw, None, &BatchDefaults::default(), &unbounded)?;
        if m.timestamp < window.oldest_accepted {
            // The retention refusal is event_line's own; only its field is compared here.
            return Err(ItemError {
                field: "timestamp".into(),
                problem: String::new(),
            });
        }
        Ok(m)
    }

    #[test]
    fn import_lines_read_in_one_pass_are_what_the_field_by_field_parse_gives() {
        let now: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
        let lines = [
            r#"{"type":"track","messageId":"m1","userId":"u1","event":"Report Built","properties":{"n":1,"s":"x","o":{"a":[1,2]}},"context":{"groupId":"acme","ip":"1.2.3.4"},"timestamp":"2026-03-09T10:00:00Z"}"#,
            "  {\"type\":\"group\",\"messageId\":\"g1\",\"userId\":\"u1\",\"groupId\":\"acme\",\"traits\":{\"plan\":\"pro\",\"mrr\":100},\"timestamp\":\"2026-03-01T00:00:00Z\"}\t ",
            r#"{"type":"identify","userId":"u2","traits":{"email":"a@b.c","champion":true},"originalTimestamp":"2026-03-08T10:00:00Z","sentAt":"2026-03-08T10:00:05Z"}"#,
            r#"{"type":"page","anonymousId":"anon","name":"Home","timestamp":"2026-03-09T10:00:00.123Z"}"#,
            r#"{"type":"track","messageId":"m\u00e9","userId":"u1","event":"Caf\u00e9","timestamp":"2026-03-09T10:00:00Z"}"#,
            r#"{"type":"track","messageId":42,"userId":7,"event":"X","timestamp":"2026-03-09T10:00:00Z"}"#,
            r#"{"type":"track","userId":"u","event":"X","timestamp":"2026-03-09T10:00:00+02:00"}"#,
            r#"{"type":"track","userId":"u","event":"X","timestamp":"2020-01-01T00:00:00Z"}"#,
            r#"{"type":"track","userId":"u","event":"X","timestamp":"2027-01-01T00:00:00Z"}"#,
            r#"{"type":"track","userId":"u","timestamp":"2026-03-09T10:00:00Z"}"#,
            r#"{"type":"track","event":"X","timestamp":"2026-03-09T10:00:00Z"}"#,
            r#"{"type":"track","userId":"u","event":"X","event":"Y"}"#,
            r#"{"type":"track","userId":"u","event":"X"} trailing"#,
            r#"{"type":"track","userId":"u","event":"X","properties":[1]}"#,
            r#"{"type":"bogus","userId":"u"}"#,
            "not json",
            "[1,2]",
            "{}",
        ];
        for line in lines {
            let got = event_line(line, now, 365).map_err(|e| {
                if e.problem.contains("retention") {
                    ItemError {
                        problem: String::new(),
                        ..e
                    }
                } else {
                    e
                }
            });
            assert_eq!(got, field_by_field(line, now, 365), "{line}");
        }
        // The usual lines do take the one-pass path.
        for line in &lines[..4] {
            assert!(
                parse_line(line, &ParseContext::new(now, 365)).is_ok(),
                "{line}"
            );
        }
    }

    fn account_rows(
        format: ImportFormat,
        text: &str,
    ) -> Result<Vec<Result<AccountRow, RowError>>, RowError> {
        match AccountRows::new(format, text.as_bytes()) {
            Ok(rows) => Ok(rows.map(|r| r.unwrap()).collect()),
            Err(ImportError::Header(e)) => Err(e),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn csv_rows_map_like_group_traits_and_bad_rows_are_named() {
        let csv = "\u{feff}Account ID,Name,Plan,Seats,Renewal Date,Notes\r\n\
                   acme,Acme,Enterprise,50,2026-09-30,\"big, \"\"key\"\" account\"\r\n\
                   ,Nameless,Pro,1,,\n\
                   globex,Globex,Pro,10\n\
                   \n\
                   initech,\"Ini\n\ntech\",Starter,5,,\n";
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
            (6, Some("Ini\n\ntech"))
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

    #[test]
    fn gzip_input_is_recognised_and_read_as_text() {
        use std::io::{Read, Write};
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"id\": \"acme\"}\n").unwrap();
        let mut bytes = gz.finish().unwrap();
        // A second member, as `cat a.gz b.gz` makes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"id\": \"globex\"}\n").unwrap();
        bytes.extend(gz.finish().unwrap());
        let mut text = String::new();
        decompressed(bytes.as_slice())
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"id\": \"acme\"}\n{\"id\": \"globex\"}\n");
        let mut plain = String::new();
        decompressed(&b"id,name\n"[..])
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "id,name\n");
    }

    #[test]
    fn an_overlong_or_non_utf8_line_is_refused_alone() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = format!("first\r\n{long}\nbad \u{fe}\n");
        let mut bytes = text.into_bytes();
        let at = bytes.len() - 3;
        bytes[at] = 0xff;
        bytes.extend_from_slice(b"last");
        let lines: Vec<_> = Lines::new(bytes.as_slice()).map(|l| l.unwrap()).collect();
        assert_eq!(lines[0], Ok((1, "first".to_string())));
        assert!(lines[1]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("longer than"));
        let bad = lines[2].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(bad.reason.contains("not UTF-8"), "{bad}");
        assert_eq!(lines[3], Ok((4, "last".to_string())));
    }

    #[test]
    fn an_unclosed_quote_refuses_its_record_only() {
        let csv = format!("id,notes\nacme,\"open\n{}\n", "y".repeat(MAX_LINE_BYTES));
        let rows = account_rows(ImportFormat::Csv, &csv).unwrap();
        assert_eq!(rows[0].as_ref().unwrap_err().line, 2);
    }

    #[test]
    fn events_older_than_retention_name_the_setting() {
        let now = "2026-03-01T00:00:00Z".parse().unwrap();
        let line = r#"{"type":"track","userId":"u","event":"E","timestamp":"2025-01-01T00:00:00Z","context":{"groupId":"acme"}}"#;
        let err = event_line(line, now, 30).unwrap_err();
        assert_eq!(err.field, "timestamp");
        assert!(err.problem.contains("`[retention] days` = 30"), "{err}");
        assert!(event_line(line, now, 730).is_ok());
    }
}
