//! Repository of the catalog and the store-level product statistics (plain: no shopper data).
//!
//! Invariants: an entry created from an event's product facts (`origin = 'event'`) never
//! overwrites a real catalog entry; a catalog import overwrites it. Statistics are per product
//! and UTC day, counts only.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;
use crate::catalog::{Minor, Product};
use crate::event::EventKind;

const CATEGORY_SEP: &str = " > ";

const COLUMNS: &str =
    "sku, name, brand, category, price_minor, list_price_minor, description, tags";

fn product(row: &Row<'_>) -> rusqlite::Result<Product> {
    let category: String = row.get(3)?;
    let tags: String = row.get(7)?;
    Ok(Product {
        sku: row.get(0)?,
        name: row.get(1)?,
        brand: row.get(2)?,
        category: category
            .split(CATEGORY_SEP)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        price: Minor(row.get(4)?),
        list_price: row.get::<_, Option<i64>>(5)?.map(Minor),
        description: row.get(6)?,
        tags: tags
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Where a catalog entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Catalog,
    Event,
}

/// Inserts or updates a product. Returns `true` when something changed.
pub fn upsert(
    conn: &Connection,
    p: &Product,
    origin: Origin,
    now: i64,
) -> Result<bool, StoreError> {
    let origin_str = match origin {
        Origin::Catalog => "catalog",
        Origin::Event => "event",
    };
    // An event-made entry may not replace a catalog entry; identical rows are left untouched.
    let n = conn
        .prepare_cached(
            "INSERT INTO products (sku, name, brand, category, price_minor, list_price_minor,
                                   description, tags, origin, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(sku) DO UPDATE SET
                name = excluded.name, brand = excluded.brand, category = excluded.category,
                price_minor = excluded.price_minor, list_price_minor = excluded.list_price_minor,
                description = excluded.description, tags = excluded.tags,
                origin = excluded.origin, updated_at = excluded.updated_at
             WHERE (products.origin = 'event' OR excluded.origin = 'catalog')
               AND (products.name, products.brand, products.category, products.price_minor,
                    products.list_price_minor, products.description, products.tags, products.origin)
                   IS NOT (excluded.name, excluded.brand, excluded.category, excluded.price_minor,
                    excluded.list_price_minor, excluded.description, excluded.tags, excluded.origin)",
        )?
        .execute(params![
            p.sku,
            p.name,
            p.brand,
            p.category.join(CATEGORY_SEP),
            p.price.0,
            p.list_price.map(|m| m.0),
            p.description,
            p.tags.join(","),
            origin_str,
            now
        ])?;
    Ok(n == 1)
}

pub fn get(conn: &Connection, sku: &str) -> Result<Option<Product>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM products WHERE sku = ?1"))?
        .query_row([sku], product)
        .optional()?)
}

pub fn exists(conn: &Connection, sku: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM products WHERE sku = ?1")?
        .exists([sku])?)
}

/// The whole catalog, by sku.
pub fn all(conn: &Connection) -> Result<Vec<Product>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM products ORDER BY sku"))?;
    let products = stmt
        .query_map([], product)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(products)
}

/// Every distinct brand in the catalog (for the copy guardrails).
pub fn brands(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT DISTINCT brand FROM products WHERE brand IS NOT NULL ORDER BY brand")?;
    let brands = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(brands)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?)
}

/// Adds `count` events of `kind` to the statistics of `sku` on UTC day `day`.
pub fn add_stats(
    conn: &Connection,
    sku: &str,
    day: i64,
    kind: EventKind,
    count: u32,
) -> Result<(), StoreError> {
    let column = match kind {
        EventKind::View => "views",
        EventKind::Cart => "carts",
        EventKind::Purchase => "purchases",
        EventKind::Return => "returns",
    };
    conn.prepare_cached(&format!(
        "INSERT INTO product_stats (sku, day, {column}) VALUES (?1, ?2, ?3)
         ON CONFLICT(sku, day) DO UPDATE SET {column} = {column} + excluded.{column}"
    ))?
    .execute(params![sku, day, count])?;
    Ok(())
}

/// Totals of one product over all days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub views: u64,
    pub carts: u64,
    pub purchases: u64,
    pub returns: u64,
}

/// Per-product totals for days `>= since_day` (`i64::MIN` for all time).
pub fn stats_since(conn: &Connection, since_day: i64) -> Result<Vec<(String, Stats)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT sku, sum(views), sum(carts), sum(purchases), sum(returns) FROM product_stats
         WHERE day >= ?1 GROUP BY sku ORDER BY sku",
    )?;
    let rows = stmt
        .query_map([since_day], |r| {
            Ok((
                r.get(0)?,
                Stats {
                    views: r.get(1)?,
                    carts: r.get(2)?,
                    purchases: r.get(3)?,
                    returns: r.get(4)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
