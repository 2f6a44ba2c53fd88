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
//!
//! Layout: `source` opens an input and peeks its first line for format detection; `csv` and
//! `jsonl` turn raw rows into verdicts; `text` and `values` clean and parse field values; `dedup`
//! recognises repeated rows; `catalog_formats` and `event_formats` hold each known format's
//! columns, detection and row parser; [`report`] summarises the verdicts. Everything callers use
//! is re-exported here.

mod catalog_formats;
mod csv;
mod dedup;
mod event_formats;
mod jsonl;
pub mod report;
mod source;
mod text;
mod values;

use std::path::PathBuf;

use serde::Serialize;

pub use catalog_formats::{read_catalog, read_catalog_file};
pub use dedup::canonical_bytes;
pub use event_formats::read_events;
pub use report::QualityReport;
pub use source::{open_source, Source};
pub use text::{clean_text, excerpt, tags_from};
pub use values::{parse_minor, parse_time};

use crate::catalog::Minor;

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
    #[error("{file}: line 1: the header does not read as CSV: {source}")]
    CsvHeader { file: String, source: ::csv::Error },
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
    /// One JSON object per line: `at, kind, sku, quantity, price, session, customer, consent ({"personalise": bool, "analytics": bool}), brand, category, name`.
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
    /// The kiosk's card schemes (config `[scan]`): a customer id that is a card of one is read in
    /// that scheme's canonical form, as the kiosk's scanner reads the card.
    pub cards: Vec<crate::vocab::CardScheme>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            max_price: Minor(100_000_000),
            now: i64::MAX / 2,
            future_slack_secs: 300,
            max_field_bytes: 32 * 1024,
            cards: vec![crate::vocab::CardScheme::default()],
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
