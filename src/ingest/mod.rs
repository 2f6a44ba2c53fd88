//! Importers' pure half: reading catalog and behaviour files in the formats shelftalk knows,
//! validating every row against the data-quality rules, and yielding either a validated record
//! or a quarantine entry. Writing to the store is `crate::import`'s job.
//!
//! Invariants:
//! - Reading never panics and never stops at a bad row: each row is either
//!   [`Row::Accepted`] or [`Row::Quarantined`] with the physical line where it starts, the field,
//!   a stable rule code and a reason. Only file-level problems (not a file, empty, unknown header)
//!   are errors, raised before the first row. An I/O error half-way ends the rows with one
//!   quarantine entry (`unreadable`), keeping what was read.
//! - Accepted text is single-line, free of control characters, whitespace-collapsed and capped
//!   ([`MAX_NAME_CHARS`], [`MAX_DESCRIPTION_CHARS`]); prices are exact minor units parsed from
//!   the decimal text (no floats), strictly positive and at most [`Rules::max_price`].
//! - Product ids are trimmed strings whatever the source's type.

mod catalog_formats;
mod event_formats;
pub mod report;

use std::collections::HashSet;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use catalog_formats::read_catalog;
pub use event_formats::read_events;
pub use report::QualityReport;

use crate::catalog::Minor;
use crate::event::ImportedEvent;

/// Longest product name kept.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a regular file")]
    NotAFile(PathBuf),
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: line 1: header lacks column(s) {missing}; expected a {format} file with columns {expected}")]
    Header {
        file: String,
        format: &'static str,
        missing: String,
        expected: String,
    },
    #[error("{file}: cannot tell the format from the first line; pass --format")]
    UnknownFormat { file: String },
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
}

/// Catalog file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogFormat {
    /// Detect from the first line.
    Auto,
    /// Flipkart's product export (`pid`, `product_name`, `product_category_tree`, ...).
    Flipkart,
    /// shelftalk's CSV: `sku,name,brand,category,price,list_price,description`.
    Csv,
    /// One JSON object per line with the CSV's fields.
    Jsonl,
}

/// Behaviour-event file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventFormat {
    /// Detect from the first line.
    Auto,
    /// REES46 e-commerce behaviour log (`event_time,event_type,product_id,...`).
    Rees46,
    /// UCI Online Retail point-of-sale lines (`InvoiceNo,StockCode,...`).
    OnlineRetail,
    /// One JSON object per line: `at, kind, sku, quantity, price, session, customer, brand, category, name`.
    Jsonl,
}

/// Validation settings.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Prices above this are absurd.
    pub max_price: Minor,
    /// Unix seconds; events later than `now + future_slack_secs` are quarantined.
    pub now: i64,
    pub future_slack_secs: i64,
    /// Any raw field longer than this is quarantined, not loaded.
    pub max_field_bytes: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            max_price: Minor(100_000_000),
            now: i64::MAX / 2,
            future_slack_secs: 300,
            max_field_bytes: 32 * 1024,
        }
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub field: String,
    /// Stable snake_case rule code.
    pub rule: &'static str,
    pub reason: String,
    /// The start of the offending value, sanitised and capped.
    pub excerpt: String,
}

/// One row's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<T> {
    Accepted { line: u64, record: T },
    Quarantined(Quarantine),
}

/// Rule codes.
pub mod rule {
    pub const MISSING_FIELD: &str = "missing_field";
    pub const COLUMN_COUNT: &str = "column_count";
    pub const BAD_NUMBER: &str = "bad_number";
    pub const BAD_TYPE: &str = "bad_type";
    pub const INVALID_UTF8: &str = "invalid_utf8";
    pub const OVERSIZED_FIELD: &str = "oversized_field";
    pub const ABSURD_PRICE: &str = "absurd_price";
    pub const BAD_TIMESTAMP: &str = "bad_timestamp";
    pub const FUTURE_TIMESTAMP: &str = "future_timestamp";
    pub const DUPLICATE: &str = "duplicate";
    pub const ZERO_QUANTITY: &str = "zero_quantity";
    pub const INCONSISTENT_QUANTITY: &str = "inconsistent_quantity";
    pub const UNKNOWN_EVENT_TYPE: &str = "unknown_event_type";
    pub const NON_PRODUCT: &str = "non_product_line";
    pub const MALFORMED_JSON: &str = "malformed_json";
    pub const UNREADABLE: &str = "unreadable";
}

/// An opened input file.
pub struct Source {
    pub reader: Box<dyn Read + Send>,
    /// Size in bytes, for progress bars.
    pub len: u64,
}

/// Opens `path` for an import: a clear error for missing paths and directories.
pub fn open_source(path: &Path) -> Result<Source, IngestError> {
    let open = |source| IngestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open)?;
    if !meta.is_file() {
        return Err(IngestError::NotAFile(path.to_path_buf()));
    }
    let file = File::open(path).map_err(open)?;
    Ok(Source {
        reader: Box::new(BufReader::with_capacity(1 << 16, file)),
        len: meta.len(),
    })
}

/// Reads up to 8 KiB to look at the first line, then gives back a reader over the whole input.
fn peek_first_line(
    mut reader: impl Read + Send + 'static,
    file: &str,
) -> Result<(String, Box<dyn Read + Send>), IngestError> {
    let mut head = vec![0u8; 8192];
    let mut filled = 0;
    while filled < head.len() {
        let n = reader
            .read(&mut head[filled..])
            .map_err(|source| IngestError::Read {
                file: file.to_string(),
                source,
            })?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    let first = head
        .split(|&b| b == b'\n')
        .next()
        .map(|l| {
            String::from_utf8_lossy(l)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    Ok((first, Box::new(Cursor::new(head).chain(reader))))
}

/// Strips control characters, collapses whitespace (newlines included) and caps to `max` chars.
pub fn clean_text(raw: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max * 4));
    let mut pending_space = false;
    let mut n = 0;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            continue;
        }
        if pending_space {
            if n + 1 >= max {
                break;
            }
            out.push(' ');
            n += 1;
            pending_space = false;
        }
        if n >= max {
            break;
        }
        out.push(c);
        n += 1;
    }
    out
}

/// Masks what could identify a person in free text: e-mail addresses, and runs of 6 or more
/// digits (loyalty numbers, phone numbers, card numbers) possibly broken by spaces or dashes.
pub fn redact(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.contains('@') && w.contains('.') {
                "[email]".to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    let joined = words.join(" ");
    let chars: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(joined.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            let mut digits = 0;
            let mut end = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || matches!(chars[i], ' ' | '-' | '(' | ')' | '+' | '.'))
            {
                if chars[i].is_ascii_digit() {
                    digits += 1;
                    end = i + 1;
                }
                i += 1;
            }
            if digits >= 6 {
                out.push_str("[number]");
            } else {
                out.extend(&chars[start..end]);
            }
            out.extend(&chars[end..i]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A short, sanitised excerpt of a raw value for quarantine entries.
pub fn excerpt(raw: &[u8]) -> String {
    clean_text(&String::from_utf8_lossy(&raw[..raw.len().min(400)]), 80)
}

/// Parses a decimal amount (`"35.79"`, `"1899.0"`, `"12"`) into exact minor units.
pub fn parse_minor(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut cents = 0i64;
    for (i, b) in frac.bytes().enumerate() {
        let d = i64::from(b - b'0');
        match i {
            0 => cents += d * 10,
            1 => cents += d,
            // Round half up on the third decimal, ignore the rest.
            2 => cents += i64::from(d >= 5),
            _ => {}
        }
    }
    let v = units.checked_mul(100)?.checked_add(cents)?;
    Some(if neg { -v } else { v })
}

/// Parses `YYYY-MM-DD HH:MM:SS` with an optional ` UTC` suffix, or RFC 3339, as UTC seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let t = text.trim();
    let t = t.strip_suffix(" UTC").unwrap_or(t);
    if let Ok(dt) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some(dt.unix_timestamp());
    }
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(dt) = time::PrimitiveDateTime::parse(t, fmt) {
        return Some(dt.assume_utc().unix_timestamp());
    }
    let short = format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::PrimitiveDateTime::parse(t, short)
        .ok()
        .map(|dt| dt.assume_utc().unix_timestamp())
}

const STOPWORDS: &[&str] = &[
    "and",
    "for",
    "the",
    "with",
    "from",
    "other",
    "accessories",
    "women's",
    "men's",
    "kids'",
];

/// Lower-case interest tags from a category path: its words of 3+ letters, deduplicated.
pub fn tags_from(category: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for part in category {
        for word in part.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let w = word.to_lowercase();
            if w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()) && !tags.contains(&w) {
                tags.push(w);
            }
        }
    }
    tags.truncate(8);
    tags
}

/// Content of an event that identifies it for de-duplication (the store HMACs it).
pub fn canonical_bytes(e: &ImportedEvent) -> Vec<u8> {
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        e.event.at,
        e.event.kind.as_str(),
        e.event.sku,
        e.event.quantity,
        e.event.price.map_or(-1, |p| p.0),
        e.event.session.as_deref().unwrap_or(""),
        e.customer.as_deref().unwrap_or("")
    )
    .into_bytes()
}

/// Detects duplicate raw rows within one file.
#[derive(Default)]
struct Seen(HashSet<u64>);

impl Seen {
    /// True the first time these bytes are seen.
    fn first(&mut self, fields: &csv::ByteRecord) -> bool {
        let mut h = DefaultHasher::new();
        for f in fields {
            f.hash(&mut h);
        }
        self.0.insert(h.finish())
    }

    fn first_bytes(&mut self, bytes: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        self.0.insert(h.finish())
    }
}

/// Column positions resolved from a CSV header.
struct Columns {
    idx: Vec<Option<usize>>,
}

impl Columns {
    fn resolve(
        header: &csv::ByteRecord,
        wanted: &[&str],
        required: &[&str],
        file: &str,
        format: &'static str,
    ) -> Result<Self, IngestError> {
        let names: Vec<String> = header
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        let idx: Vec<Option<usize>> = wanted
            .iter()
            .map(|w| names.iter().position(|n| n == &w.to_ascii_lowercase()))
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .filter(|r| {
                wanted
                    .iter()
                    .position(|w| w == *r)
                    .and_then(|i| idx[i])
                    .is_none()
            })
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(IngestError::Header {
                file: file.to_string(),
                format,
                missing: missing.join(", "),
                expected: wanted.join(","),
            });
        }
        Ok(Self { idx })
    }
}

/// A CSV data row being validated: field access that turns problems into quarantine entries.
struct Fields<'a> {
    rec: &'a csv::ByteRecord,
    cols: &'a Columns,
    names: &'a [&'a str],
    line: u64,
    max_bytes: usize,
}

impl<'a> Fields<'a> {
    fn q(&self, field: &str, rule: &'static str, reason: String, raw: &[u8]) -> Quarantine {
        Quarantine {
            line: self.line,
            field: field.to_string(),
            rule,
            reason,
            excerpt: excerpt(raw),
        }
    }

    /// The raw text of column `i` (index into `names`), `None` when absent or blank.
    fn opt(&self, i: usize) -> Result<Option<&'a str>, Quarantine> {
        let name = self.names[i];
        let Some(col) = self.cols.idx[i] else {
            return Ok(None);
        };
        let Some(raw) = self.rec.get(col) else {
            return Ok(None);
        };
        if raw.len() > self.max_bytes {
            return Err(self.q(
                name,
                rule::OVERSIZED_FIELD,
                format!(
                    "{} bytes, more than the {} allowed",
                    raw.len(),
                    self.max_bytes
                ),
                raw,
            ));
        }
        let text = std::str::from_utf8(raw).map_err(|e| {
            self.q(
                name,
                rule::INVALID_UTF8,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                raw,
            )
        })?;
        let text = text.trim();
        Ok((!text.is_empty()).then_some(text))
    }

    fn req(&self, i: usize) -> Result<&'a str, Quarantine> {
        self.opt(i)?.ok_or_else(|| {
            self.q(
                self.names[i],
                rule::MISSING_FIELD,
                "required value is empty".into(),
                b"",
            )
        })
    }

    fn price(&self, i: usize, rules: &Rules) -> Result<Option<Minor>, Quarantine> {
        let Some(text) = self.opt(i)? else {
            return Ok(None);
        };
        check_price(text, rules)
            .map(Some)
            .map_err(|(rule, reason)| self.q(self.names[i], rule, reason, text.as_bytes()))
    }
}

/// Validates a price text against the rules.
fn check_price(text: &str, rules: &Rules) -> Result<Minor, (&'static str, String)> {
    let v = parse_minor(text).ok_or((
        rule::BAD_NUMBER,
        format!("{text:?} is not a decimal amount"),
    ))?;
    if v <= 0 {
        return Err((rule::ABSURD_PRICE, format!("price {text} is not positive")));
    }
    if v > rules.max_price.0 {
        return Err((
            rule::ABSURD_PRICE,
            format!(
                "price {text} is above the maximum {}",
                rules.max_price.display()
            ),
        ));
    }
    Ok(Minor(v))
}

/// Runs `parse` over every CSV data row, handling column counts, duplicates and read errors.
fn csv_rows<T>(
    reader: Box<dyn Read + Send>,
    file: &str,
    format: &'static str,
    wanted: &'static [&'static str],
    required: &'static [&'static str],
    rules: &Rules,
    mut parse: impl FnMut(&Fields<'_>) -> Result<T, Quarantine> + 'static,
) -> Result<Box<dyn Iterator<Item = Row<T>>>, IngestError>
where
    T: 'static,
{
    // Records end at LF only: with the default CRLF handling the csv crate counts a CRLF as two
    // line ends and reports lines too early. A trailing CR is trimmed with the field.
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let header = rdr.byte_headers().map_err(|e| IngestError::Read {
        file: file.to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    if header.iter().all(|h| h.is_empty()) {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    let cols = Columns::resolve(header, wanted, required, file, format)?;
    let width = header.len();
    let max_bytes = rules.max_field_bytes;
    let mut seen = Seen::default();
    let mut rec = csv::ByteRecord::new();
    let mut done = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => {
                done = true;
                None
            }
            Err(e) => {
                done = true;
                let line = e.position().map_or(0, |p| p.line());
                Some(Row::Quarantined(Quarantine {
                    line,
                    field: "-".into(),
                    rule: rule::UNREADABLE,
                    reason: format!("reading stopped: {e}"),
                    excerpt: String::new(),
                }))
            }
            Ok(true) => {
                let line = rec.position().map_or(0, |p| p.line());
                if rec.len() != width {
                    let raw: Vec<u8> = rec
                        .iter()
                        .flat_map(|f| f.iter().copied().chain([b',']))
                        .take(200)
                        .collect();
                    return Some(Row::Quarantined(Quarantine {
                        line,
                        field: "-".into(),
                        rule: rule::COLUMN_COUNT,
                        reason: format!(
                            "{} fields where the header has {width} (truncated or unbalanced quotes?)",
                            rec.len()
                        ),
                        excerpt: excerpt(&raw),
                    }));
                }
                if !seen.first(&rec) {
                    return Some(Row::Quarantined(Quarantine {
                        line,
                        field: "-".into(),
                        rule: rule::DUPLICATE,
                        reason: "same content as an earlier row of this file".into(),
                        excerpt: String::new(),
                    }));
                }
                let fields = Fields {
                    rec: &rec,
                    cols: &cols,
                    names: wanted,
                    line,
                    max_bytes,
                };
                Some(match parse(&fields) {
                    Ok(record) => Row::Accepted { line, record },
                    Err(q) => Row::Quarantined(q),
                })
            }
        }
    })))
}

/// Runs `parse` over every non-blank line of a JSON-lines file.
fn jsonl_rows<T: 'static>(
    reader: Box<dyn Read + Send>,
    rules: &Rules,
    mut parse: impl FnMut(u64, serde_json::Map<String, serde_json::Value>) -> Result<T, Quarantine>
        + 'static,
) -> Box<dyn Iterator<Item = Row<T>>> {
    use std::io::BufRead;
    let mut lines = BufReader::new(reader);
    let max = rules.max_field_bytes * 4;
    let mut line_no = 0u64;
    let mut seen = Seen::default();
    let mut buf = Vec::new();
    let mut done = false;
    Box::new(std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        buf.clear();
        line_no += 1;
        let q = |rule, reason: String, raw: &[u8]| {
            Some(Row::Quarantined(Quarantine {
                line: line_no,
                field: "-".into(),
                rule,
                reason,
                excerpt: excerpt(raw),
            }))
        };
        match (&mut lines)
            .take(max as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) => {
                done = true;
                return None;
            }
            Err(e) => {
                done = true;
                return q(rule::UNREADABLE, format!("reading stopped: {e}"), b"");
            }
            Ok(_) => {}
        }
        if buf.len() > max && !buf.ends_with(b"\n") {
            // Skip the rest of the oversized line.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                match (&mut lines).take(1 << 20).read_until(b'\n', &mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if sink.ends_with(b"\n") => break,
                    Ok(_) => {}
                }
            }
            return q(
                rule::OVERSIZED_FIELD,
                format!("line longer than {max} bytes"),
                &buf,
            );
        }
        let raw = buf.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        if !seen.first_bytes(raw) {
            return q(
                rule::DUPLICATE,
                "same content as an earlier line of this file".into(),
                b"",
            );
        }
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                return q(
                    rule::INVALID_UTF8,
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                    raw,
                )
            }
        };
        let obj = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => return q(rule::MALFORMED_JSON, "not a JSON object".into(), raw),
            Err(e) => return q(rule::MALFORMED_JSON, format!("{e}"), raw),
        };
        return Some(match parse(line_no, obj) {
            Ok(record) => Row::Accepted {
                line: line_no,
                record,
            },
            Err(q) => Row::Quarantined(q),
        });
    }))
}

/// Typed access to a JSON-lines object, turning problems into quarantine entries.
struct JsonFields {
    obj: serde_json::Map<String, serde_json::Value>,
    line: u64,
}

impl JsonFields {
    fn q(&self, field: &str, rule: &'static str, reason: String) -> Quarantine {
        let raw = self
            .obj
            .get(field)
            .map(|v| v.to_string())
            .unwrap_or_default();
        Quarantine {
            line: self.line,
            field: field.to_string(),
            rule,
            reason,
            excerpt: excerpt(raw.as_bytes()),
        }
    }

    fn opt_str(&self, field: &str, max_bytes: usize) -> Result<Option<String>, Quarantine> {
        match self.obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.len() > max_bytes => Err(self.q(
                field,
                rule::OVERSIZED_FIELD,
                format!("{} bytes, more than the {max_bytes} allowed", s.len()),
            )),
            Some(serde_json::Value::String(s)) => {
                let t = s.trim();
                Ok((!t.is_empty()).then(|| t.to_string()))
            }
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.q(
                field,
                rule::BAD_TYPE,
                format!("expected a string, found {}", json_type(other)),
            )),
        }
    }

    fn req_str(&self, field: &str, max_bytes: usize) -> Result<String, Quarantine> {
        self.opt_str(field, max_bytes)?.ok_or_else(|| {
            self.q(
                field,
                rule::MISSING_FIELD,
                "required value is missing".into(),
            )
        })
    }

    fn opt_price(&self, field: &str, rules: &Rules) -> Result<Option<Minor>, Quarantine> {
        let text = match self.obj.get(field) {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(self.q(
                    field,
                    rule::BAD_TYPE,
                    format!("expected a number, found {}", json_type(other)),
                ))
            }
        };
        check_price(&text, rules)
            .map(Some)
            .map_err(|(rule, reason)| self.q(field, rule, reason))
    }

    /// A category as `"A > B"` or `["A", "B"]`.
    fn category(&self, field: &str) -> Result<Vec<String>, Quarantine> {
        match self.obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::String(s)) => Ok(split_category(s, ">")),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(|s| clean_text(s, 60)).ok_or_else(|| {
                        self.q(
                            field,
                            rule::BAD_TYPE,
                            "category items must be strings".into(),
                        )
                    })
                })
                .filter(|r| r.as_ref().map_or(true, |s| !s.is_empty()))
                .collect(),
            Some(other) => Err(self.q(
                field,
                rule::BAD_TYPE,
                format!("expected a string or array, found {}", json_type(other)),
            )),
        }
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Splits a category path on `sep`, cleaning each part and dropping empty ones.
fn split_category(text: &str, sep: &str) -> Vec<String> {
    text.split(sep)
        .map(|p| clean_text(p, 60))
        .filter(|p| !p.is_empty())
        .take(6)
        .collect()
}

/// The accepted products of a catalog file in any format (rejected rows are dropped, not
/// quarantined): products to benchmark with, outside the store.
pub fn read_catalog_file(
    path: &Path,
    rules: &Rules,
) -> Result<Vec<crate::catalog::Product>, IngestError> {
    let src = open_source(path)?;
    Ok(read_catalog(
        src.reader,
        &path.display().to_string(),
        CatalogFormat::Auto,
        rules,
    )?
    .filter_map(|row| match row {
        Row::Accepted { record, .. } => Some(record),
        Row::Quarantined(_) => None,
    })
    .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redact_masks_contact_data_and_keeps_small_numbers() {
        assert_eq!(redact("mail jane.doe@example.com now"), "mail [email] now");
        assert_eq!(redact("card 4485 1234 5678 9012 ok"), "card [number] ok");
        assert_eq!(redact("call +44 20-7946-0958."), "call [number].");
        assert_eq!(redact("LC20261234,view"), "LC[number],view");
        assert_eq!(redact("price 12.50 qty 3"), "price 12.50 qty 3");
    }

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(parse_minor("35.79"), Some(3579));
        assert_eq!(parse_minor("1899.0"), Some(189_900));
        assert_eq!(parse_minor("12"), Some(1200));
        assert_eq!(parse_minor("0.085"), Some(9));
        assert_eq!(parse_minor("-2.5"), Some(-250));
        assert_eq!(parse_minor(".5"), Some(50));
        assert_eq!(parse_minor("1e3"), None);
        assert_eq!(parse_minor(""), None);
        assert_eq!(parse_minor("99999999999999999999"), None);
    }

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("2019-10-01 00:00:00 UTC"), Some(1_569_888_000));
        assert_eq!(parse_time("2011-12-05 08:38:00"), Some(1_323_074_280));
        assert_eq!(parse_time("2026-11-01T10:00:00Z"), Some(1_793_527_200));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn text_is_cleaned_and_capped() {
        assert_eq!(clean_text("  a\n\tb\u{7}  c \r\n", 100), "a b c");
        assert_eq!(clean_text("abcdef", 3), "abc");
        assert_eq!(clean_text("ab cd", 3), "ab");
        assert_eq!(clean_text("x\u{202e}y", 10), "xy");
        assert_eq!(clean_text("日本語テキスト", 3), "日本語");
    }

    #[test]
    fn tags_come_from_category_words() {
        let cat = vec![
            "Footwear".to_string(),
            "Women's Footwear".into(),
            "Sandals & Floaters".into(),
        ];
        assert_eq!(tags_from(&cat), vec!["footwear", "sandals", "floaters"]);
    }
}
