//! JSON-lines rows: one object per non-blank line, and typed field access for the JSON-lines
//! formats' row parsers.
//!
//! Invariants:
//! - Line numbers are physical (blank lines count); blank lines yield nothing, every other line
//!   exactly one [`Row`].
//! - A line longer than 4 x `max_field_bytes` is skipped to its end without being held in memory
//!   and quarantined; invalid UTF-8, non-objects and wrong field types are quarantined.
//! - Ids given as JSON numbers are read as their decimal text.

use std::io::{BufReader, Read};

use super::dedup::Seen;
use super::text::{category_parts, excerpt, is_blank, split_category};
use super::values::check_price;
use super::{rule, Quarantine, Row, Rules};
use crate::catalog::Minor;

/// Runs `parse` over every non-blank line of a JSON-lines file.
pub(super) fn jsonl_rows<T: 'static>(
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
pub(super) struct JsonFields {
    pub(super) obj: serde_json::Map<String, serde_json::Value>,
    pub(super) line: u64,
}

impl JsonFields {
    pub(super) fn q(&self, field: &str, rule: &'static str, reason: String) -> Quarantine {
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

    pub(super) fn opt_str(
        &self,
        field: &str,
        max_bytes: usize,
    ) -> Result<Option<String>, Quarantine> {
        match self.obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.len() > max_bytes => Err(self.q(
                field,
                rule::OVERSIZED_FIELD,
                format!("{} bytes, more than the {max_bytes} allowed", s.len()),
            )),
            Some(serde_json::Value::String(s)) => {
                let t = s.trim();
                Ok((!is_blank(t)).then(|| t.to_string()))
            }
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.q(
                field,
                rule::BAD_TYPE,
                format!("expected a string, found {}", json_type(other)),
            )),
        }
    }

    pub(super) fn req_str(&self, field: &str, max_bytes: usize) -> Result<String, Quarantine> {
        self.opt_str(field, max_bytes)?.ok_or_else(|| {
            self.q(
                field,
                rule::MISSING_FIELD,
                "required value is missing".into(),
            )
        })
    }

    pub(super) fn opt_price(
        &self,
        field: &str,
        rules: &Rules,
    ) -> Result<Option<Minor>, Quarantine> {
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
    pub(super) fn category(&self, field: &str) -> Result<Vec<String>, Quarantine> {
        match self.obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::String(s)) => Ok(split_category(s, ">")),
            Some(serde_json::Value::Array(items)) => {
                // Like a string path: split at `>`, at most 6 parts (an array was not capped;
                // caught by the `catalog_jsonl` fuzz target's invariant).
                let parts = items
                    .iter()
                    .map(|v| {
                        v.as_str().ok_or_else(|| {
                            self.q(
                                field,
                                rule::BAD_TYPE,
                                "category items must be strings".into(),
                            )
                        })
                    })
                    .collect::<Result<Vec<&str>, Quarantine>>()?;
                Ok(category_parts(parts))
            }
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
