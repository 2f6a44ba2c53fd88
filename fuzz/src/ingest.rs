//! Catalog and event readers, in memory (`shelftalk::ingest::read_catalog` / `read_events` over
//! the input bytes), one target per format.
//!
//! Invariants checked for every input:
//! - a file-level error or rows; never a panic;
//! - rows come in file order (non-decreasing lines), each on a physical line of the input;
//!   JSON lines: exactly one row per non-blank line, on that line;
//! - a quarantined row has a known rule code, a field, a reason and a clean excerpt;
//! - an accepted product: sku and name non-empty, every text clean and capped, at most 6
//!   category parts, tags derived from the category, price in (0, max_price], a list price
//!   only above the price;
//! - an accepted event: time not in the future, a known kind (REES46 has no returns), sku
//!   non-empty and clean, quantity ≥ 1, price in range, a customer id in its loyalty-number
//!   normal form, session and product facts clean.

use std::io::Cursor;

use shelftalk::catalog::Product;
use shelftalk::event::{EventKind, ImportedEvent};
use shelftalk::ingest::{
    self, rule, tags_from, CatalogFormat, EventFormat, Quarantine, Row, Rules,
    MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
};
use shelftalk::vocab::LoyaltyNumber;

use crate::{assert_clean, physical_lines};

/// Every rule code a reader may give.
pub const RULES: &[&str] = &[
    rule::MISSING_FIELD,
    rule::COLUMN_COUNT,
    rule::BAD_NUMBER,
    rule::BAD_TYPE,
    rule::INVALID_UTF8,
    rule::OVERSIZED_FIELD,
    rule::ABSURD_PRICE,
    rule::BAD_TIMESTAMP,
    rule::FUTURE_TIMESTAMP,
    rule::DUPLICATE,
    rule::ZERO_QUANTITY,
    rule::INCONSISTENT_QUANTITY,
    rule::UNKNOWN_EVENT_TYPE,
    rule::NON_PRODUCT,
    rule::MALFORMED_JSON,
    rule::UNREADABLE,
];

/// Reads a catalog from bytes; `None` for a file-level error.
pub fn read_catalog(
    data: &[u8],
    format: CatalogFormat,
    rules: &Rules,
) -> Option<Vec<Row<Product>>> {
    ingest::read_catalog(Cursor::new(data.to_vec()), "fuzz", format, rules)
        .ok()
        .map(Iterator::collect)
}

/// Reads events from bytes; `None` for a file-level error.
pub fn read_events(
    data: &[u8],
    format: EventFormat,
    rules: &Rules,
) -> Option<Vec<Row<ImportedEvent>>> {
    ingest::read_events(Cursor::new(data.to_vec()), "fuzz", format, rules)
        .ok()
        .map(Iterator::collect)
}

/// The catalog target of one format.
pub fn check_catalog(data: &[u8], format: CatalogFormat) {
    let rules = crate::rules();
    let Some(rows) = read_catalog(data, format, &rules) else {
        return;
    };
    check_rows(data, &rows, format == CatalogFormat::Jsonl);
    for row in &rows {
        if let Row::Accepted { record, .. } = row {
            check_product(record, &rules);
        }
    }
}

/// The event target of one format.
pub fn check_events(data: &[u8], format: EventFormat) {
    let rules = crate::rules();
    let Some(rows) = read_events(data, format, &rules) else {
        return;
    };
    check_rows(data, &rows, format == EventFormat::Jsonl);
    for row in &rows {
        if let Row::Accepted { record, .. } = row {
            check_event(record, format, &rules);
        }
    }
}

/// Row order, line numbers and quarantine entries, whatever the record type.
pub fn check_rows<T>(data: &[u8], rows: &[Row<T>], json_lines: bool) {
    let lines = physical_lines(data);
    let mut last = 0;
    for row in rows {
        let line = match row {
            Row::Accepted { line, .. } => *line,
            Row::Quarantined(q) => {
                check_quarantine(q);
                q.line
            }
        };
        assert!(
            (1..=lines).contains(&line),
            "line {line} outside the input's {lines} lines"
        );
        assert!(
            line >= last,
            "rows out of file order: line {line} after {last}"
        );
        last = line;
    }
    if json_lines && data.len() < 4 * crate::rules().max_field_bytes {
        // One row per non-blank line, on that line (no line here is oversized).
        let expected: Vec<u64> = data
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.trim_ascii().is_empty())
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let got: Vec<u64> = rows
            .iter()
            .map(|r| match r {
                Row::Accepted { line, .. } => *line,
                Row::Quarantined(q) => q.line,
            })
            .collect();
        assert_eq!(got, expected, "JSON lines: one row per non-blank line");
    }
}

/// A quarantine entry is complete: known rule, field, reason, clean excerpt.
pub fn check_quarantine(q: &Quarantine) {
    assert!(RULES.contains(&q.rule), "unknown rule code {:?}", q.rule);
    assert!(!q.field.is_empty(), "quarantine without a field: {q:?}");
    assert!(
        !q.reason.trim().is_empty(),
        "quarantine without a reason: {q:?}"
    );
    assert_clean("quarantine excerpt", &q.excerpt, 80);
}

/// An accepted product satisfies the readers' invariants.
pub fn check_product(p: &Product, rules: &Rules) {
    assert!(!p.sku.is_empty(), "accepted product without a sku: {p:?}");
    assert_clean("sku", &p.sku, 64);
    assert!(!p.name.is_empty(), "accepted product without a name: {p:?}");
    assert_clean("name", &p.name, MAX_NAME_CHARS);
    if let Some(brand) = &p.brand {
        assert!(!brand.is_empty(), "brand Some(\"\")");
        assert_clean("brand", brand, 60);
    }
    check_category(&p.category);
    assert_eq!(
        p.tags,
        tags_from(&p.category),
        "tags are the category's words"
    );
    assert!(p.tags.len() <= 8, "more than 8 tags");
    assert!(
        p.price.0 > 0 && p.price <= rules.max_price,
        "price out of range: {:?}",
        p.price
    );
    if let Some(list) = p.list_price {
        assert!(list > p.price, "list price not above the price: {p:?}");
        assert!(list <= rules.max_price, "list price above the maximum");
    }
    assert_clean("description", &p.description, MAX_DESCRIPTION_CHARS);
}

/// Category paths: at most 6 parts, each non-empty clean text of at most 60 chars.
pub fn check_category(category: &[String]) {
    assert!(
        category.len() <= 6,
        "more than 6 category parts: {category:?}"
    );
    for part in category {
        assert!(!part.is_empty(), "empty category part: {category:?}");
        assert_clean("category part", part, 60);
    }
}

/// An accepted event satisfies the readers' invariants.
pub fn check_event(e: &ImportedEvent, format: EventFormat, rules: &Rules) {
    let ev = &e.event;
    assert!(
        ev.at <= rules.now.saturating_add(rules.future_slack_secs),
        "event in the future: {}",
        ev.at
    );
    if format == EventFormat::Rees46 {
        assert_ne!(ev.kind, EventKind::Return, "REES46 has no returns");
    }
    assert!(!ev.sku.is_empty(), "accepted event without a sku: {e:?}");
    assert_clean("event sku", &ev.sku, 64);
    assert!(ev.quantity >= 1, "quantity 0 accepted");
    for price in [ev.price, e.hint.price].into_iter().flatten() {
        assert!(
            price.0 > 0 && price <= rules.max_price,
            "event price out of range: {price:?}"
        );
    }
    assert_eq!(
        ev.price, e.hint.price,
        "the event's price is its product fact"
    );
    if let Some(session) = &ev.session {
        assert_clean("session", session, 64);
    }
    if let Some(customer) = &e.customer {
        let normal = LoyaltyNumber::parse_card(customer, &rules.cards)
            .expect("an accepted customer id is a loyalty number");
        assert_eq!(
            normal.expose(),
            customer,
            "customer id not in its normal form"
        );
    }
    if e.consent.is_some() {
        assert_eq!(format, EventFormat::Jsonl, "only JSON lines carry consent");
    }
    if let Some(name) = &e.hint.name {
        assert_clean("product name", name, MAX_NAME_CHARS);
    }
    if let Some(brand) = &e.hint.brand {
        assert_clean("brand", brand, 60);
    }
    check_category(&e.hint.category);
}
