//! De-duplication: the in-file duplicate detector the readers share, and the canonical content
//! of an event that the store fingerprints to recognise events across files.
//!
//! Invariants:
//! - Within one file, a row whose raw fields (CSV) or trimmed line bytes (JSON lines) equal an
//!   earlier one's is a duplicate; only hashes are kept, never the rows.
//! - [`canonical_bytes`] depends only on the event's content (time, kind, sku, quantity, price,
//!   session, customer), never on the file or line it came from.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::event::ImportedEvent;

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
pub(super) struct Seen(HashSet<u64>);

impl Seen {
    /// True the first time these bytes are seen.
    pub(super) fn first(&mut self, fields: &csv::ByteRecord) -> bool {
        let mut h = DefaultHasher::new();
        for f in fields {
            f.hash(&mut h);
        }
        self.0.insert(h.finish())
    }

    pub(super) fn first_bytes(&mut self, bytes: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        self.0.insert(h.finish())
    }
}
