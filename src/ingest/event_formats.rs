//! Behaviour-event readers: the REES46 log, UCI Online Retail point-of-sale lines, JSON lines.
//!
//! Invariant: a customer id leaves here in the one normal form of a loyalty number
//! ([`LoyaltyNumber::parse_card`] with the configured card schemes, [`Rules::cards`]), the form
//! the kiosk's scanner reads the same card in; an id that is no loyalty number (over-long,
//! control characters) leaves the event anonymous.

use std::io::Read;

use super::csv::{csv_rows, Fields};
use super::jsonl::{jsonl_rows, JsonFields};
use super::source::peek_first_line;
use super::text::{clean_text, split_category};
use super::values::parse_time;
use super::{rule, EventFormat, IngestError, Quarantine, Row, Rules, MAX_NAME_CHARS};
use crate::event::{Event, EventKind, ImportedEvent, ProductHint};
use crate::vocab::LoyaltyNumber;

const REES46_COLS: &[&str] = &[
    "event_time",
    "event_type",
    "product_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
];
const REES46_REQUIRED: &[&str] = &["event_time", "event_type", "product_id", "price", "user_id"];
const RETAIL_COLS: &[&str] = &[
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
];
const RETAIL_REQUIRED: &[&str] = &[
    "InvoiceNo",
    "StockCode",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
];

/// Stock codes of point-of-sale lines that are not products (postage, fees, manual adjustments).
const NON_PRODUCT_CODES: &[&str] = &[
    "POST",
    "DOT",
    "M",
    "D",
    "C2",
    "CRUK",
    "BANK CHARGES",
    "AMAZONFEE",
    "PADS",
    "S",
    "B",
];

/// Reads behaviour events; `name` is the file name used in messages.
pub fn read_events(
    reader: impl Read + Send + 'static,
    name: &str,
    format: EventFormat,
    rules: &Rules,
) -> Result<Box<dyn Iterator<Item = Row<ImportedEvent>>>, IngestError> {
    let (first, reader) = peek_first_line(reader, name)?;
    let format = match format {
        EventFormat::Auto => detect(&first).ok_or_else(|| IngestError::UnknownFormat {
            file: name.to_string(),
        })?,
        f => f,
    };
    let r = rules.clone();
    match format {
        EventFormat::Rees46 => csv_rows(
            reader,
            name,
            "rees46",
            REES46_COLS,
            REES46_REQUIRED,
            rules,
            move |f| rees46(f, &r),
        ),
        EventFormat::OnlineRetail | EventFormat::Auto => csv_rows(
            reader,
            name,
            "online-retail",
            RETAIL_COLS,
            RETAIL_REQUIRED,
            rules,
            move |f| retail(f, &r),
        ),
        EventFormat::Jsonl => Ok(jsonl_rows(reader, rules, move |line, obj| {
            jsonl(&JsonFields { obj, line }, &r)
        })),
    }
}

fn detect(first: &str) -> Option<EventFormat> {
    let lower = first.to_ascii_lowercase();
    if lower.starts_with('{') {
        Some(EventFormat::Jsonl)
    } else if lower.contains("event_time") && lower.contains("event_type") {
        Some(EventFormat::Rees46)
    } else if lower.contains("invoiceno") && lower.contains("stockcode") {
        Some(EventFormat::OnlineRetail)
    } else {
        None
    }
}

fn check_time(text: &str, rules: &Rules) -> Result<i64, (&'static str, String)> {
    let at = parse_time(text).ok_or((
        rule::BAD_TIMESTAMP,
        format!("{text:?} is not a timestamp (YYYY-MM-DD HH:MM:SS or RFC 3339)"),
    ))?;
    if at > rules.now.saturating_add(rules.future_slack_secs) {
        return Err((rule::FUTURE_TIMESTAMP, format!("{text} is in the future")));
    }
    Ok(at)
}

fn time_field(f: &Fields<'_>, i: usize, rules: &Rules) -> Result<i64, Quarantine> {
    let text = f.req(i)?;
    check_time(text, rules).map_err(|(rule, reason)| f.q(f.names[i], rule, reason, text.as_bytes()))
}

fn kind_from(text: &str) -> Option<EventKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "view" => Some(EventKind::View),
        "cart" => Some(EventKind::Cart),
        "purchase" => Some(EventKind::Purchase),
        "return" => Some(EventKind::Return),
        _ => None,
    }
}

/// A customer id as a loyalty number, in its normal form (trimmed, upper-case, a float's `.0`
/// dropped: `"14075.0"` → `"14075"`, then the first matching card scheme's form); `None` when it
/// is no loyalty number.
fn customer_id(text: &str, rules: &Rules) -> Option<String> {
    LoyaltyNumber::parse_card(text, &rules.cards)
        .ok()
        .map(|n| n.expose().to_owned())
}

fn rees46(f: &Fields<'_>, rules: &Rules) -> Result<ImportedEvent, Quarantine> {
    let at = time_field(f, 0, rules)?;
    let kind_text = f.req(1)?;
    let kind = kind_from(kind_text)
        .filter(|k| *k != EventKind::Return)
        .ok_or_else(|| {
            f.q(
                "event_type",
                rule::UNKNOWN_EVENT_TYPE,
                format!("{kind_text:?} is not view, cart or purchase"),
                kind_text.as_bytes(),
            )
        })?;
    let sku = clean_text(f.req(2)?, 64);
    let category: Vec<String> = f
        .opt(3)?
        .map(|c| split_category(&c.replace('_', " "), "."))
        .unwrap_or_default();
    let brand = f.opt(4)?.map(|b| clean_text(b, 60));
    let price = f.price(5, rules)?;
    let customer = f.opt(6)?.and_then(|c| customer_id(c, rules));
    let session = f.opt(7)?.map(|s| clean_text(s, 64));
    Ok(ImportedEvent {
        consent: None,
        event: Event {
            at,
            kind,
            sku,
            quantity: 1,
            price,
            session,
        },
        customer,
        hint: ProductHint {
            name: None,
            brand,
            category,
            price,
        },
    })
}

fn retail(f: &Fields<'_>, rules: &Rules) -> Result<ImportedEvent, Quarantine> {
    let invoice = f.req(0)?;
    let sku = clean_text(f.req(1)?, 64);
    if NON_PRODUCT_CODES.contains(&sku.to_ascii_uppercase().as_str()) {
        return Err(f.q(
            "StockCode",
            rule::NON_PRODUCT,
            format!("{sku:?} is a fee or adjustment line, not a product"),
            sku.as_bytes(),
        ));
    }
    let qty_text = f.req(3)?;
    let qty: i64 = qty_text.parse().map_err(|_| {
        f.q(
            "Quantity",
            rule::BAD_NUMBER,
            format!("{qty_text:?} is not a whole number"),
            qty_text.as_bytes(),
        )
    })?;
    let cancelled = invoice.starts_with(['C', 'c']);
    let kind = match (qty.signum(), cancelled) {
        (0, _) => return Err(f.q("Quantity", rule::ZERO_QUANTITY, "quantity is 0".into(), b"0")),
        (1, false) => EventKind::Purchase,
        (-1, true) => EventKind::Return,
        _ => {
            return Err(f.q(
                "Quantity",
                rule::INCONSISTENT_QUANTITY,
                format!("quantity {qty} on invoice {invoice} (cancellations have a C prefix and negative quantities)"),
                qty_text.as_bytes(),
            ))
        }
    };
    let quantity = u32::try_from(qty.unsigned_abs()).map_err(|_| {
        f.q(
            "Quantity",
            rule::BAD_NUMBER,
            format!("quantity {qty} is out of range"),
            qty_text.as_bytes(),
        )
    })?;
    let at = time_field(f, 4, rules)?;
    let price = f.price(5, rules)?;
    let price = price.ok_or_else(|| {
        f.q(
            "UnitPrice",
            rule::MISSING_FIELD,
            "required value is empty".into(),
            b"",
        )
    })?;
    let name = f
        .opt(2)?
        .map(|d| clean_text(d, MAX_NAME_CHARS))
        .filter(|d| !d.is_empty());
    let customer = f.opt(6)?.and_then(|c| customer_id(c, rules));
    Ok(ImportedEvent {
        consent: None,
        event: Event {
            at,
            kind,
            sku,
            quantity,
            price: Some(price),
            session: Some(clean_text(invoice, 64)),
        },
        customer,
        hint: ProductHint {
            name,
            brand: None,
            category: Vec::new(),
            price: Some(price),
        },
    })
}

fn jsonl(j: &JsonFields, rules: &Rules) -> Result<ImportedEvent, Quarantine> {
    let max = rules.max_field_bytes;
    let at = match j.obj.get("at") {
        Some(serde_json::Value::Number(n)) => {
            let at = n
                .as_i64()
                .ok_or_else(|| j.q("at", rule::BAD_TIMESTAMP, "not whole unix seconds".into()))?;
            if at > rules.now.saturating_add(rules.future_slack_secs) {
                return Err(j.q(
                    "at",
                    rule::FUTURE_TIMESTAMP,
                    format!("{at} is in the future"),
                ));
            }
            at
        }
        _ => {
            let text = j.req_str("at", 64)?;
            check_time(&text, rules).map_err(|(rule, reason)| j.q("at", rule, reason))?
        }
    };
    let kind_text = j.req_str("kind", 32)?;
    let kind = kind_from(&kind_text).ok_or_else(|| {
        j.q(
            "kind",
            rule::UNKNOWN_EVENT_TYPE,
            format!("{kind_text:?} is not view, cart, purchase or return"),
        )
    })?;
    let sku = clean_text(&j.req_str("sku", 256)?, 64);
    let quantity = match j.obj.get("quantity") {
        None | Some(serde_json::Value::Null) => 1,
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(0) => return Err(j.q("quantity", rule::ZERO_QUANTITY, "quantity is 0".into())),
            Some(q) => u32::try_from(q).map_err(|_| {
                j.q(
                    "quantity",
                    rule::BAD_NUMBER,
                    format!("quantity {q} is out of range"),
                )
            })?,
            None => {
                return Err(j.q(
                    "quantity",
                    rule::BAD_NUMBER,
                    "quantity must be a positive whole number".into(),
                ))
            }
        },
        Some(_) => return Err(j.q("quantity", rule::BAD_TYPE, "expected a number".into())),
    };
    let price = j.opt_price("price", rules)?;
    let consent = match j.obj.get("consent") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Object(c)) => {
            let flag = |name: &str| match c.get(name) {
                Some(serde_json::Value::Bool(b)) => Ok(*b),
                None => Ok(false),
                Some(_) => Err(j.q(
                    "consent",
                    rule::BAD_TYPE,
                    format!("consent.{name} must be true or false"),
                )),
            };
            Some((flag("personalise")?, flag("analytics")?))
        }
        Some(_) => {
            return Err(j.q(
                "consent",
                rule::BAD_TYPE,
                "expected {\"personalise\": bool, \"analytics\": bool}".into(),
            ))
        }
    };
    Ok(ImportedEvent {
        consent,
        event: Event {
            at,
            kind,
            sku,
            quantity,
            price,
            session: j.opt_str("session", 256)?.map(|s| clean_text(&s, 64)),
        },
        customer: j
            .opt_str("customer", 256)?
            .and_then(|c| customer_id(&c, rules)),
        hint: ProductHint {
            name: j
                .opt_str("name", max)?
                .map(|n| clean_text(&n, MAX_NAME_CHARS)),
            brand: j.opt_str("brand", max)?.map(|b| clean_text(&b, 60)),
            category: j.category("category")?,
            price,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::catalog::Minor;

    fn read(text: &'static str) -> Vec<Row<ImportedEvent>> {
        let rules = Rules {
            now: 1_800_000_000,
            ..Rules::default()
        };
        read_events(text.as_bytes(), "t.csv", EventFormat::Auto, &rules)
            .unwrap()
            .collect()
    }

    fn codes(rows: &[Row<ImportedEvent>]) -> Vec<&'static str> {
        rows.iter()
            .map(|r| match r {
                Row::Quarantined(q) => q.rule,
                Row::Accepted { .. } => "ok",
            })
            .collect()
    }

    #[test]
    fn rees46_rows() {
        let rows = read(
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n\
             2019-10-01 00:00:04 UTC,view,1004237,2053,electronics.smartphone,apple,1081.98,535871217,c6bd\n\
             2019-10-01 00:00:05 UTC,remove_from_cart,1,2,,,1.00,5,s\n\
             2019-10-01 00:00:06 UTC,cart,2,2,,,0,5,s\n\
             2099-10-01 00:00:06 UTC,cart,2,2,,,1,5,s\n",
        );
        let Row::Accepted { record, .. } = &rows[0] else {
            panic!()
        };
        assert_eq!(record.event.kind, EventKind::View);
        assert_eq!(record.customer.as_deref(), Some("535871217"));
        assert_eq!(record.hint.category, vec!["electronics", "smartphone"]);
        assert_eq!(record.hint.price, Some(Minor(108_198)));
        assert_eq!(
            codes(&rows[1..]),
            vec![
                rule::UNKNOWN_EVENT_TYPE,
                rule::ABSURD_PRICE,
                rule::FUTURE_TIMESTAMP
            ]
        );
    }

    #[test]
    fn online_retail_cancellations_are_returns() {
        let rows = read(
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
             580538,23084,RABBIT NIGHT LIGHT,48,2011-12-05 08:38:00,1.79,14075.0,United Kingdom\n\
             C580539,23084,RABBIT NIGHT LIGHT,-2,2011-12-05 09:00:00,1.79,14075.0,United Kingdom\n\
             580540,23085,LAMP,3,2011-12-05 09:00:00,2.00,,United Kingdom\n\
             580541,POST,POSTAGE,1,2011-12-05 09:00:00,18.00,12345.0,France\n\
             580542,23086,X,-1,2011-12-05 09:00:00,2.00,1.0,UK\n\
             580543,23087,X,0,2011-12-05 09:00:00,2.00,1.0,UK\n",
        );
        let Row::Accepted { record, .. } = &rows[0] else {
            panic!()
        };
        assert_eq!(
            (record.event.kind, record.event.quantity),
            (EventKind::Purchase, 48)
        );
        assert_eq!(record.customer.as_deref(), Some("14075"));
        assert_eq!(record.hint.name.as_deref(), Some("RABBIT NIGHT LIGHT"));
        let Row::Accepted { record, .. } = &rows[1] else {
            panic!()
        };
        assert_eq!(
            (record.event.kind, record.event.quantity),
            (EventKind::Return, 2)
        );
        let Row::Accepted { record, .. } = &rows[2] else {
            panic!()
        };
        assert_eq!(record.customer, None);
        assert_eq!(
            codes(&rows[3..]),
            vec![
                rule::NON_PRODUCT,
                rule::INCONSISTENT_QUANTITY,
                rule::ZERO_QUANTITY
            ]
        );
    }

    #[test]
    fn jsonl_events() {
        let rows = read(
            "{\"at\":\"2026-10-01T10:00:00Z\",\"kind\":\"purchase\",\"sku\":\"D1\",\"quantity\":2,\"customer\":\"LC1\",\"price\":\"9.99\"}\n\
             {\"at\":1790000000,\"kind\":\"view\",\"sku\":42}\n\
             {\"at\":\"soon\",\"kind\":\"view\",\"sku\":\"D1\"}\n\
             {\"at\":1790000000,\"kind\":\"view\",\"sku\":\"D1\",\"quantity\":\"two\"}\n",
        );
        assert_eq!(
            codes(&rows),
            vec!["ok", "ok", rule::BAD_TIMESTAMP, rule::BAD_TYPE]
        );
        let Row::Accepted { record, .. } = &rows[1] else {
            panic!()
        };
        assert_eq!(record.event.sku, "42");
    }

    /// Like the catalogs' (found by the fuzz targets): a product id of invisible characters is a
    /// missing product id, not an event of the product "".
    #[test]
    fn invisible_product_ids_are_missing() {
        let rows = read(
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n\
             2019-10-01 00:00:04 UTC,view,\u{7f}\u{200b},2053,,,1.00,5,s\n\
             {\"at\":1,\"kind\":\"view\",\"sku\":\"\\u0007\"}\n",
        );
        let Row::Quarantined(q) = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(
            (q.rule, q.field.as_str()),
            (rule::MISSING_FIELD, "product_id")
        );
        let rows = read("{\"at\":1,\"kind\":\"view\",\"sku\":\"\\u0007\"}\n");
        let Row::Quarantined(q) = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!((q.rule, q.field.as_str()), (rule::MISSING_FIELD, "sku"));
    }
}
