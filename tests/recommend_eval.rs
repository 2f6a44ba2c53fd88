//! Leave-last-out replay of the fused recommender against the popularity baseline on the real
//! behaviour logs in `SHELFTALK_REAL_DATA` (default `../shared/data` from the repo root).
//!
//! The readers here are deliberately minimal stand-ins for the importer (`ingest`), which lives
//! elsewhere: enough to turn rows into catalog products and events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::PathBuf;

use shelftalk::catalog::{Minor, Product};
use shelftalk::event::{Event, EventKind};
use shelftalk::recommend::eval::{leave_last_out, EvalReport};
use shelftalk::recommend::{CatalogIndex, RecommendConfig};
use time::macros::format_description;
use time::PrimitiveDateTime;

fn data_file(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SHELFTALK_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let path = dir.join(name);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("SHELFTALK_REQUIRE_REAL_DATA").as_deref() == Ok("1") {
        panic!(
            "real data file {} is missing and SHELFTALK_REQUIRE_REAL_DATA=1",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: real data file {} not found (set SHELFTALK_REAL_DATA)",
        path.display()
    );
    None
}

fn unix(s: &str) -> i64 {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s.trim().trim_end_matches(" UTC"), fmt)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

fn minor(s: &str) -> Option<Minor> {
    let v: f64 = s.trim().parse().ok()?;
    (v > 0.0).then(|| Minor((v * 100.0).round() as i64))
}

/// Lower-case words of at least 3 letters, as interest tags.
fn words(s: &str) -> Vec<String> {
    let mut tags: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && w.chars().all(char::is_alphabetic))
        .map(str::to_lowercase)
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

fn product(
    sku: &str,
    name: String,
    brand: Option<String>,
    category: Vec<String>,
    price: Minor,
    tags: Vec<String>,
) -> Product {
    Product {
        sku: sku.into(),
        name,
        brand,
        category,
        price,
        list_price: None,
        description: String::new(),
        tags,
    }
}

/// rees46: event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
fn rees46(path: &PathBuf) -> (Vec<Product>, Vec<(String, Event)>) {
    let mut products = HashMap::new();
    let mut events = Vec::new();
    for row in csv::Reader::from_path(path).unwrap().records() {
        let r = row.unwrap();
        let kind = match &r[1] {
            "view" => EventKind::View,
            "cart" => EventKind::Cart,
            "purchase" => EventKind::Purchase,
            _ => continue,
        };
        let sku = r[2].to_string();
        let price = minor(&r[6]);
        if let Some(price) = price {
            products.entry(sku.clone()).or_insert_with(|| {
                let category: Vec<String> = if r[4].is_empty() {
                    vec![format!("category {}", &r[3])]
                } else {
                    r[4].split('.').map(String::from).collect()
                };
                let brand = (!r[5].is_empty()).then(|| r[5].to_string());
                let tags = if r[4].is_empty() {
                    vec![]
                } else {
                    words(&r[4])
                };
                let name = format!(
                    "{} {}",
                    brand.as_deref().unwrap_or(""),
                    category.last().map_or("", String::as_str)
                )
                .trim()
                .to_string();
                product(&sku, name, brand, category, price, tags)
            });
        }
        let event = Event {
            at: unix(&r[0]),
            kind,
            sku,
            quantity: 1,
            price,
            session: Some(r[8].to_string()),
        };
        events.push((r[7].to_string(), event));
    }
    (products.into_values().collect(), events)
}

/// Online retail: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country.
/// Invoices are baskets; negative quantities are returns; lines without a customer are skipped.
fn online_retail(path: &PathBuf) -> (Vec<Product>, Vec<(String, Event)>) {
    let mut products = HashMap::new();
    let mut events = Vec::new();
    for row in csv::Reader::from_path(path).unwrap().records() {
        let r = row.unwrap();
        let sku = r[1].trim().to_string();
        let price = minor(&r[5]);
        let name = r[2].trim().to_string();
        if let (Some(price), false) = (price, name.is_empty()) {
            products.entry(sku.clone()).or_insert_with(|| {
                let tags = words(&name);
                product(&sku, name, None, vec![], price, tags)
            });
        }
        let (customer, quantity) = (r[6].trim(), r[3].trim().parse::<i64>().unwrap_or(0));
        if customer.is_empty() || quantity == 0 {
            continue;
        }
        let kind = if quantity < 0 {
            EventKind::Return
        } else {
            EventKind::Purchase
        };
        let event = Event {
            at: unix(&r[4]),
            kind,
            sku,
            quantity: quantity.unsigned_abs() as u32,
            price,
            session: Some(r[0].to_string()),
        };
        events.push((customer.to_string(), event));
    }
    let mut products: Vec<Product> = products.into_values().collect();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    (products, events)
}

fn evaluate(
    name: &str,
    (mut products, events): (Vec<Product>, Vec<(String, Event)>),
) -> EvalReport {
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    let catalog = CatalogIndex::new(products);
    let report = leave_last_out(&events, &catalog, &RecommendConfig::default(), 3).unwrap();
    eprintln!(
        "{name}: {} products, {} events\n{report}",
        catalog.len(),
        events.len()
    );
    assert!(report.users > 50, "{name}: too few shoppers evaluated");
    assert!(
        report.fused.hit_rate >= report.popularity.hit_rate,
        "{name}: fused hit-rate@3 {} < popularity {}",
        report.fused.hit_rate,
        report.popularity.hit_rate
    );
    report
}

#[test]
fn fused_beats_popularity_on_rees46() {
    let Some(path) = data_file("rees46_events_10k.csv") else {
        return;
    };
    evaluate("rees46", rees46(&path));
}

#[test]
fn fused_beats_popularity_on_online_retail() {
    let Some(path) = data_file("online_retail_2011-12-05.csv") else {
        return;
    };
    evaluate("online retail", online_retail(&path));
}
