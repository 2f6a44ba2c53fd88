//! The product catalog as the rest of shelftalk sees it.
//!
//! Invariants:
//! - A [`Product`] is already validated: `sku` and `name` are non-empty, single-line and capped,
//!   prices are whole minor units (cents, paise, pence) and strictly positive.
//! - Catalog text is *data*: it may be hostile (prompt injection, control characters). Whoever puts
//!   it into a prompt or onto a screen must sanitise it there (see `copy::prompt`).
//! - Catalog rows carry no shopper data and are stored in clear.

use serde::{Deserialize, Serialize};

/// A price in minor units of the store currency (e.g. cents). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Minor(pub i64);

impl Minor {
    /// Major units as a float, for display and arithmetic that tolerates rounding.
    pub fn as_major(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// `1234` → `"12.34"`; whole amounts print without decimals (`1200` → `"12"`).
    pub fn display(self) -> String {
        let (units, cents) = (self.0 / 100, (self.0 % 100).abs());
        if cents == 0 {
            units.to_string()
        } else {
            format!("{units}.{cents:02}")
        }
    }
}

/// One product of the store's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Stock-keeping unit: the id the barcode scanner types and every event refers to.
    pub sku: String,
    pub name: String,
    /// `None` when the source had no brand.
    pub brand: Option<String>,
    /// Category path, most general first (`["Footwear", "Women's Footwear", "Sandals"]`).
    pub category: Vec<String>,
    /// The price the shopper pays now.
    pub price: Minor,
    /// The undiscounted list price when the source has one and it is above `price`.
    pub list_price: Option<Minor>,
    /// Short description, single line, capped by the importer.
    pub description: String,
    /// Lower-case interest tags derived from category and name (e.g. `"footwear"`, `"sandals"`).
    pub tags: Vec<String>,
}

impl Product {
    /// Discount in whole percent when a list price is known (`list 1999, price 999` → `50`).
    pub fn discount_percent(&self) -> Option<u32> {
        let list = self.list_price?.0;
        if list <= self.price.0 || list <= 0 {
            return None;
        }
        Some((((list - self.price.0) as f64 / list as f64) * 100.0).round() as u32)
    }

    /// The most specific category, or `""`.
    pub fn leaf_category(&self) -> &str {
        self.category.last().map(String::as_str).unwrap_or("")
    }

    /// The most general category, or `""`.
    pub fn top_category(&self) -> &str {
        self.category.first().map(String::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(price: i64, list: Option<i64>) -> Product {
        Product {
            sku: "SKU1".into(),
            name: "Trail Shoe".into(),
            brand: Some("Acme".into()),
            category: vec!["Footwear".into(), "Running".into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: String::new(),
            tags: vec![],
        }
    }

    #[test]
    fn minor_display() {
        assert_eq!(Minor(1234).display(), "12.34");
        assert_eq!(Minor(1200).display(), "12");
        assert_eq!(Minor(5).display(), "0.05");
    }

    #[test]
    fn discount_percent_rounds_and_ignores_non_discounts() {
        assert_eq!(product(89900, Some(189900)).discount_percent(), Some(53));
        assert_eq!(product(100, Some(100)).discount_percent(), None);
        assert_eq!(product(100, None).discount_percent(), None);
        assert_eq!(product(100, Some(50)).discount_percent(), None);
    }

    #[test]
    fn categories() {
        let p = product(1, None);
        assert_eq!(p.top_category(), "Footwear");
        assert_eq!(p.leaf_category(), "Running");
    }
}
