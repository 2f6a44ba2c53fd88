//! CSV rows: header resolution, per-row column-count and duplicate checks, and typed field
//! access for the CSV formats' row parsers.
//!
//! Invariants:
//! - A header lacking a required column is an [`IngestError::Header`] before the first row.
//! - Records end at LF only; lines are the physical line where a record starts (multi-line
//!   quoted fields and CRLF files included).
//! - Every data row yields exactly one [`Row`]; a read error yields one `unreadable` entry and
//!   ends the rows. Fields over `max_field_bytes`, invalid UTF-8 and blank required fields are
//!   quarantined, never loaded.

use std::io::Read;

use super::dedup::Seen;
use super::text::{excerpt, is_blank};
use super::values::check_price;
use super::{rule, IngestError, Quarantine, Row, Rules};
use crate::catalog::Minor;

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
pub(super) struct Fields<'a> {
    rec: &'a csv::ByteRecord,
    cols: &'a Columns,
    pub(super) names: &'a [&'a str],
    line: u64,
    max_bytes: usize,
}

impl<'a> Fields<'a> {
    pub(super) fn q(
        &self,
        field: &str,
        rule: &'static str,
        reason: String,
        raw: &[u8],
    ) -> Quarantine {
        Quarantine {
            line: self.line,
            field: field.to_string(),
            rule,
            reason,
            excerpt: excerpt(raw),
        }
    }

    /// The raw text of column `i` (index into `names`), `None` when absent or blank (nothing
    /// left once cleaned, see `is_blank`).
    pub(super) fn opt(&self, i: usize) -> Result<Option<&'a str>, Quarantine> {
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
        Ok((!is_blank(text)).then_some(text))
    }

    pub(super) fn req(&self, i: usize) -> Result<&'a str, Quarantine> {
        self.opt(i)?.ok_or_else(|| {
            self.q(
                self.names[i],
                rule::MISSING_FIELD,
                "required value is empty".into(),
                b"",
            )
        })
    }

    pub(super) fn price(&self, i: usize, rules: &Rules) -> Result<Option<Minor>, Quarantine> {
        let Some(text) = self.opt(i)? else {
            return Ok(None);
        };
        check_price(text, rules)
            .map(Some)
            .map_err(|(rule, reason)| self.q(self.names[i], rule, reason, text.as_bytes()))
    }
}

/// Runs `parse` over every CSV data row, handling column counts, duplicates and read errors.
pub(super) fn csv_rows<T>(
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
    let header = rdr
        .byte_headers()
        .map_err(|source| IngestError::CsvHeader {
            file: file.to_string(),
            source,
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
