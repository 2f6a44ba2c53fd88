//! Shopper behaviour events in plaintext, as importers produce them and as the recommender reads
//! them after a shopper's rows have been opened.
//!
//! Invariants:
//! - An [`Event`] never carries the shopper's loyalty number: importers hand the customer id
//!   separately ([`ImportedEvent::customer`]) and the store seals the event under that shopper's
//!   data key. Inside the kiosk a plaintext `Event` lives only in memory.
//! - `at` is seconds since the Unix epoch, UTC.
//! - `quantity` is positive for views, carts and purchases; returns carry the returned quantity as
//!   a positive number with kind [`EventKind::Return`].

use serde::{Deserialize, Serialize};

use crate::catalog::Minor;

/// What the shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View,
    Cart,
    Purchase,
    Return,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [Self::View, Self::Cart, Self::Purchase, Self::Return];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
            Self::Return => "return",
        }
    }
}

/// One behaviour event of one shopper (or of an anonymous visitor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the Unix epoch, UTC.
    pub at: i64,
    pub kind: EventKind,
    pub sku: String,
    pub quantity: u32,
    /// Unit price at the time of the event, when the source recorded it.
    pub price: Option<Minor>,
    /// Opaque visit/basket id from the source (a session uuid, an invoice number), if any.
    pub session: Option<String>,
}

/// Product facts that some behaviour logs carry on every row; enough to create a minimal catalog
/// entry for a product the catalog has not seen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProductHint {
    pub name: Option<String>,
    pub brand: Option<String>,
    pub category: Vec<String>,
    pub price: Option<Minor>,
}

impl ProductHint {
    /// True when the hint carries nothing to build a catalog entry from.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.brand.is_none()
            && self.category.is_empty()
            && self.price.is_none()
    }
}

/// An event as an importer yields it: the event, who did it (raw customer id, treated as a
/// loyalty number and never stored in clear) and any product facts the row carried.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    pub event: Event,
    pub customer: Option<String>,
    /// What the feed says the customer agreed to, `(personalise, analytics)`, when it has a
    /// consent column (the JSON-lines format's `consent`); `None`: the config's
    /// `import_consent` applies.
    pub consent: Option<(bool, bool)>,
    pub hint: ProductHint,
}
