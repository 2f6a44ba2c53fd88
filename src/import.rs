//! Applies validated import rows to the store: the I/O half of `shelftalk import`.
//!
//! Invariants:
//! - An import never aborts on a bad row: rejected rows go to quarantine with file, line, field
//!   and reason (redacted), and the import ends with a data-quality report.
//! - Re-importing the same content changes nothing: a file whose SHA-256 was imported before is
//!   skipped as a whole, and every row carries a keyed fingerprint (HMAC under the pepper) so rows
//!   repeated across files are stored and counted once.
//! - Events of identified customers are sealed into their shopper's rows (the customer id is
//!   treated as a loyalty number: only its HMAC token is stored). Store-level statistics are
//!   counted for every accepted, new event, identified or not.
//! - An import is one transaction, together with its quarantine entries and the record of its
//!   SHA-256: a crash, a kill or a file-level failure half-way (an I/O error) leaves none of it,
//!   and importing the file again does all of it. A completed import is all there. The crash test
//!   (`tests/store_crash.rs`) kills the binary at the pause points `import.row`, `import.commit`
//!   and `import.committed` (`store::fault`) and checks exactly that. A writer in another
//!   process waits for the import's commit (up to the busy timeout; then its write fails and is
//!   logged). Memory stays bounded by SQLite's page cache (dirty pages beyond it spill into the
//!   WAL), so the WAL grows to about the size of the import's changes: disk space for one import
//!   is needed once more while it runs. The checkpoint after the commit empties the WAL; its
//!   file keeps that size until the last connection closes (no `journal_size_limit` is set).
//!
//! Bulk event import (the nightly import must keep up; `shelftalk bench store` measures it):
//! - Each event is sealed as its row arrives (its own fresh nonce from the system CSPRNG, as for
//!   every sealed row); the sealed rows of a chunk are inserted together just before the chunk
//!   commits, grouped by shopper (a stable sort: one shopper's rows keep their file order, so
//!   "first row of a fingerprint wins" and the shopper's row order are as before). Grouping keeps
//!   the B-tree inserts of `shopper_rows_by_shopper` local instead of scattered over the index.
//! - Whether an event is new (its keyed fingerprint not stored before) is known when its row is
//!   inserted, so the counts of new events, store statistics and last-seen times are taken at
//!   that point, still inside the chunk's transaction. A purchase converts kiosk impressions
//!   when its row arrives (file order, as anonymous purchases do): it is new when its fingerprint
//!   is neither stored nor among the chunk's pending purchases.
//! - A chunk is [`CHUNK`] rows: it bounds the sealed rows held in memory before their insert;
//!   the whole file is still one transaction (one commit writes each dirtied index page once).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use indicatif::ProgressBar;
use ring::digest;
use rusqlite::Transaction;
use serde::Serialize;

use crate::catalog::Product;
use crate::crypto::{LookupToken, RowKind, SealedBlob, ShopperId};
use crate::event::{EventKind, ImportedEvent, ProductHint};
use crate::feedback;
use crate::ingest::{self, CatalogFormat, EventFormat, IngestError, QualityReport, Row, Rules};
use crate::profile::{self, OpenShopper, ProfileError, Vault};
use crate::store::catalog::{self as products, Origin};
use crate::store::fault;
use crate::store::privacy::{self, ConsentSource};
use crate::store::quarantine::{self, Entry};
use crate::store::shoppers::{self, Consent};
use crate::store::StoreError;
use crate::vocab::LoyaltyNumber;

/// Rows whose sealed inserts are grouped (see the module docs); not a commit.
const CHUNK: usize = 25_000;

/// Rule code for events whose product is neither in the catalog nor described by the row.
pub const RULE_UNKNOWN_PRODUCT: &str = "unknown_product";

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("attributing a purchase: {0}")]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub file: String,
    pub sha256: String,
    /// The same content was imported before; nothing changed and `report` is the earlier one.
    pub already_imported: bool,
    pub report: QualityReport,
    /// Products created or updated (catalog) / created from event facts (events).
    pub products_written: u64,
    /// Events stored that were not stored before.
    pub events_new: u64,
    /// Shoppers created by this import.
    pub shoppers_new: u64,
    /// Rows of erased shoppers (their token is on the suppression list): not stored, not
    /// counted, and the shopper is not created again.
    pub suppressed: u64,
    /// Purchases of this import that converted a kiosk impression (shown in this store within
    /// `conversion_window_secs` before; the shopper's own when the purchase names a customer).
    pub conversions: u64,
}

fn sha256_file(path: &Path) -> Result<String, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(crate::crypto::hex(ctx.finish().as_ref()))
}

fn previous(vault: &Vault, sha: &str, kind: &str, file: &str) -> Option<Outcome> {
    let json = quarantine::previous_import(vault.store.conn(), sha, kind).ok()??;
    let report: QualityReport = serde_json::from_str(&json).ok()?;
    Some(Outcome {
        file: file.to_string(),
        sha256: sha.to_string(),
        already_imported: true,
        report,
        products_written: 0,
        events_new: 0,
        shoppers_new: 0,
        suppressed: 0,
        conversions: 0,
    })
}

fn quarantine_entry(q: &ingest::Quarantine, file: &str) -> Entry {
    Entry {
        file: file.to_string(),
        line: q.line,
        field: q.field.clone(),
        rule: q.rule.to_string(),
        reason: q.reason.clone(),
        excerpt: q.excerpt.clone(),
    }
}

/// How an import starts.
enum Start {
    /// The same content was imported before: its outcome, nothing to do.
    Done(Outcome),
    /// New content: the file name, its SHA-256 and a reader that drives the progress bar.
    Fresh {
        file: String,
        sha: String,
        reader: Box<dyn Read + Send>,
    },
}

fn start(
    vault: &Vault,
    path: &Path,
    kind: &str,
    progress: &ProgressBar,
) -> Result<Start, ImportError> {
    let file = path.display().to_string();
    let sha = sha256_file(path)?;
    if let Some(done) = previous(vault, &sha, kind, &file) {
        return Ok(Start::Done(done));
    }
    let source = ingest::open_source(path)?;
    progress.set_length(source.len);
    Ok(Start::Fresh {
        file,
        sha,
        reader: Box::new(progress.wrap_read(source.reader)),
    })
}

/// Imports a product catalog.
pub fn catalog(
    vault: &mut Vault,
    path: &Path,
    format: CatalogFormat,
    rules: &Rules,
    now: i64,
    progress: &ProgressBar,
) -> Result<Outcome, ImportError> {
    let (file, sha, reader) = match start(vault, path, "catalog", progress)? {
        Start::Done(outcome) => return Ok(outcome),
        Start::Fresh { file, sha, reader } => (file, sha, reader),
    };
    let rows = ingest::read_catalog(reader, &file, format, rules)?;
    let mut report = QualityReport::default();
    let mut written = 0u64;
    let tx = vault.store.conn_mut().transaction()?;
    for row in rows {
        match row {
            Row::Accepted { record, .. } => {
                report.accept();
                let changed = products::upsert(&tx, &record, Origin::Catalog, now)?;
                if changed {
                    // No copy written from the old facts (an old price) is served again.
                    forget_cached_copy(&tx, &record.sku)?;
                }
                written += u64::from(changed);
            }
            Row::Quarantined(q) => {
                quarantine::insert(&tx, &sha, &quarantine_entry(&q, &file), now)?;
                report.quarantine(q);
            }
        }
        fault::point("import.row");
    }
    finish(tx, &sha, "catalog", &file, &report, now)?;
    progress.finish_and_clear();
    Ok(Outcome {
        file,
        sha256: sha,
        already_imported: false,
        report,
        products_written: written,
        events_new: 0,
        shoppers_new: 0,
        suppressed: 0,
        conversions: 0,
    })
}

/// Drops the copy cache entries of a product whose facts changed.
fn forget_cached_copy(tx: &Transaction<'_>, sku: &str) -> Result<(), ImportError> {
    crate::copy::cache::forget_sku(tx, sku).map_err(|e| ImportError::from(e.into_sql()))?;
    Ok(())
}

fn finish(
    tx: Transaction<'_>,
    sha: &str,
    kind: &str,
    file: &str,
    report: &QualityReport,
    now: i64,
) -> Result<(), ImportError> {
    let json = serde_json::to_string(report).map_err(|source| StoreError::Encode {
        what: "import quality report",
        source,
    })?;
    quarantine::record_import(&tx, sha, kind, file, &json, now)?;
    fault::point("import.commit");
    tx.commit()?;
    fault::point("import.committed");
    Ok(())
}

/// A minimal catalog entry from the product facts an event row carried: it needs at least a
/// price; the name falls back to brand and category, then to the sku.
fn product_from_hint(sku: &str, hint: &ProductHint) -> Option<Product> {
    let price = hint.price?;
    let leaf = hint.category.last();
    let name = match (&hint.name, &hint.brand, leaf) {
        (Some(n), _, _) => n.clone(),
        (None, Some(b), Some(c)) => format!("{b} {c}"),
        (None, None, Some(c)) => format!("{c} {sku}"),
        (None, Some(b), None) => format!("{b} item {sku}"),
        (None, None, None) => format!("Item {sku}"),
    };
    Some(Product {
        sku: sku.to_string(),
        brand: hint.brand.clone(),
        category: hint.category.clone(),
        price,
        list_price: None,
        description: String::new(),
        // Without a category (point-of-sale lines) the name's words are the interest tags.
        tags: if hint.category.is_empty() {
            ingest::tags_from(std::slice::from_ref(&name))
        } else {
            ingest::tags_from(&hint.category)
        },
        name,
    })
}

/// Imports a behaviour log or point-of-sale lines.
pub fn events(
    vault: &mut Vault,
    path: &Path,
    format: EventFormat,
    rules: &Rules,
    now: i64,
    progress: &ProgressBar,
) -> Result<Outcome, ImportError> {
    let (file, sha, reader) = match start(vault, path, "events", progress)? {
        Start::Done(outcome) => return Ok(outcome),
        Start::Fresh { file, sha, reader } => (file, sha, reader),
    };
    let rows = ingest::read_events(reader, &file, format, rules)?;
    let mut report = QualityReport::default();
    let mut outcome_counts = (0u64, 0u64);
    let mut suppressed = 0u64;
    let consent = (vault.import_consent, vault.consent_terms().to_string());
    let window = vault.conversion_window_secs;
    // Held until the import committed: new shoppers' data keys are wrapped under the current KEK.
    let (_held, keys) = vault.keys_for_wrapping()?;
    let mut writer = EventWriter::new(&keys, consent, window);
    let store = &mut vault.store;
    let tx = store.conn_mut().transaction()?;
    for (i, row) in rows.enumerate() {
        match row {
            Row::Accepted { line, record } => match writer.apply(&tx, &record, now)? {
                Applied::Stored {
                    product_created,
                    shopper_created,
                } => {
                    report.accept();
                    outcome_counts.0 += u64::from(product_created);
                    outcome_counts.1 += u64::from(shopper_created);
                }
                Applied::Suppressed => {
                    report.accept();
                    suppressed += 1;
                }
                Applied::UnknownProduct => {
                    let q = ingest::Quarantine {
                            line,
                            field: "product".into(),
                            rule: RULE_UNKNOWN_PRODUCT,
                            reason: format!(
                                "product {:?} is not in the catalog and the row carries no product facts (not even a price)",
                                record.event.sku
                            ),
                            excerpt: record.event.sku.clone(),
                        };
                    quarantine::insert(&tx, &sha, &quarantine_entry(&q, &file), now)?;
                    report.quarantine(q);
                }
            },
            Row::Quarantined(q) => {
                quarantine::insert(&tx, &sha, &quarantine_entry(&q, &file), now)?;
                report.quarantine(q);
            }
        }
        if (i + 1) % CHUNK == 0 {
            writer.flush(&tx)?;
        }
        fault::point("import.row");
    }
    writer.flush(&tx)?;
    finish(tx, &sha, "events", &file, &report, now)?;
    progress.finish_and_clear();
    let events_new = writer.events_new;
    tracing::info!(file = %file, new = events_new, shoppers = outcome_counts.1, suppressed, "events imported");
    Ok(Outcome {
        file,
        sha256: sha,
        already_imported: false,
        report,
        products_written: outcome_counts.0,
        events_new,
        shoppers_new: outcome_counts.1,
        suppressed,
        conversions: writer.conversions,
    })
}

enum Applied {
    /// Accepted: stored if new (known at [`EventWriter::flush`], counted in `events_new`).
    Stored {
        product_created: bool,
        shopper_created: bool,
    },
    UnknownProduct,
    /// The row names an erased shopper: nothing of it is stored.
    Suppressed,
}

/// A sealed event row waiting for its chunk's insert.
struct PendingRow {
    shopper: ShopperId,
    fingerprint: [u8; 32],
    sealed: SealedBlob,
    sku: String,
    at: i64,
    kind: EventKind,
    quantity: u32,
}

/// Writes events into one transaction at a time, keeping what repeats across rows in memory:
/// opened shoppers, products already checked, the chunk's sealed rows, each shopper's latest
/// event and the statistics increments, which [`EventWriter::flush`] writes before every commit.
struct EventWriter<'k> {
    keys: &'k crate::crypto::keyfiles::Keyring,
    rng: ring::rand::SystemRandom,
    open: HashMap<LookupToken, OpenShopper>,
    /// Customer id as the row has it → lookup token (`None`: not a loyalty number), so each id is
    /// parsed and HMACed once per import (memory only).
    tokens: HashMap<String, Option<LookupToken>>,
    /// Tokens found on the suppression list during this import (memory only).
    suppressed: std::collections::HashSet<LookupToken>,
    /// Consent of the shoppers this import creates, and its terms version.
    consent: (Consent, String),
    /// The conversion window of purchases (seconds).
    window: u64,
    /// Purchases that converted a kiosk impression.
    conversions: u64,
    checked_skus: HashSet<String>,
    /// Sealed rows of the current chunk, inserted by [`EventWriter::flush`].
    pending: Vec<PendingRow>,
    /// Fingerprints of the purchases among them (a repeat within the chunk is not new).
    pending_purchases: HashSet<[u8; 32]>,
    last_seen: HashMap<ShopperId, i64>,
    stats: HashMap<(String, i64, EventKind), u32>,
    /// Events stored that were not stored before (rows inserted and anonymous rows first seen).
    events_new: u64,
}

impl<'k> EventWriter<'k> {
    fn new(
        keys: &'k crate::crypto::keyfiles::Keyring,
        consent: (Consent, String),
        window: u64,
    ) -> Self {
        Self {
            keys,
            rng: crate::crypto::rng(),
            open: HashMap::new(),
            tokens: HashMap::new(),
            suppressed: std::collections::HashSet::new(),
            consent,
            window,
            conversions: 0,
            checked_skus: HashSet::new(),
            pending: Vec::with_capacity(CHUNK),
            pending_purchases: HashSet::new(),
            last_seen: HashMap::new(),
            stats: HashMap::new(),
            events_new: 0,
        }
    }

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        record: &ImportedEvent,
        now: i64,
    ) -> Result<Applied, ImportError> {
        let event = &record.event;
        let mut product_created = false;
        if !self.checked_skus.contains(&event.sku) {
            let hinted = product_from_hint(&event.sku, &record.hint);
            if products::exists(tx, &event.sku)? {
                // Keeps minimal entries made from events up to date; never touches catalog entries.
                if let Some(product) = hinted {
                    if products::upsert(tx, &product, Origin::Event, now)? {
                        forget_cached_copy(tx, &product.sku)?;
                    }
                }
            } else {
                let Some(product) = hinted else {
                    return Ok(Applied::UnknownProduct);
                };
                product_created = products::upsert(tx, &product, Origin::Event, now)?;
            }
            self.checked_skus.insert(event.sku.clone());
        }
        let fingerprint = self
            .keys
            .pepper
            .fingerprint(b"event", &ingest::canonical_bytes(record));
        let mut shopper_created = false;
        // A customer id that is no loyalty number (empty, over-long, control characters) leaves
        // the event anonymous: it still counts for the store, never for a shopper.
        let token = match record.customer.as_deref() {
            None => None,
            Some(customer) => match self.tokens.get(customer) {
                Some(t) => *t,
                None => {
                    let t = LoyaltyNumber::parse(customer)
                        .ok()
                        .map(|number| self.keys.pepper.loyalty_token(&number));
                    self.tokens.insert(customer.to_string(), t);
                    t
                }
            },
        };
        match token {
            Some(token) => {
                let shopper = match self.open.entry(token) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        if self.suppressed.contains(&token) {
                            return Ok(Applied::Suppressed);
                        }
                        let (default, terms) = &self.consent;
                        // The feed's own consent column wins over the configured default.
                        let consent =
                            record
                                .consent
                                .map_or(*default, |(personalise, analytics)| Consent {
                                    personalise,
                                    analytics,
                                });
                        let (shopper, created) = match profile::get_or_create(
                            tx, self.keys, &self.rng, &token, consent, now,
                        ) {
                            Ok(found) => found,
                            Err(ProfileError::Suppressed) => {
                                self.suppressed.insert(token);
                                return Ok(Applied::Suppressed);
                            }
                            Err(e) => return Err(e.into()),
                        };
                        if created {
                            privacy::log_consent(
                                tx,
                                &shopper.record.id,
                                consent,
                                terms,
                                ConsentSource::Import,
                                now,
                            )?;
                        }
                        shopper_created = created;
                        e.insert(shopper)
                    }
                };
                let id = shopper.record.id;
                let sealed = profile::seal_event(shopper, event, &self.rng)?;
                // A new purchase converts impressions now, in file order (an anonymous purchase
                // later in the file may convert the same impression); new means its fingerprint
                // is neither stored nor pending in this chunk, exactly as its insert will find.
                if event.kind == EventKind::Purchase
                    && self.pending_purchases.insert(fingerprint)
                    && !shoppers::has_fingerprint(tx, &fingerprint)?
                {
                    let tag = self.keys.pepper.attribution_tag(&id);
                    self.attribute(tx, event, Some(&tag))?;
                }
                self.pending.push(PendingRow {
                    shopper: id,
                    fingerprint,
                    sealed,
                    sku: event.sku.clone(),
                    at: event.at,
                    kind: event.kind,
                    quantity: event.quantity,
                });
            }
            None => {
                if shoppers::mark_seen(tx, &fingerprint)? {
                    self.events_new += 1;
                    let sku = event.sku.clone();
                    count(&mut self.stats, sku, event.at, event.kind, event.quantity);
                    self.attribute(tx, event, None)?;
                }
            }
        }
        Ok(Applied::Stored {
            product_created,
            shopper_created,
        })
    }

    /// A new purchase row converts kiosk impressions: one per unit bought, the shopper's own
    /// when the row names a customer. Rows seen before never get here (de-duplicated), so a
    /// purchase counts once however often its file is imported.
    fn attribute(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        event: &crate::event::Event,
        shopper: Option<&crate::crypto::AttributionTag>,
    ) -> Result<(), ImportError> {
        if event.kind != EventKind::Purchase {
            return Ok(());
        }
        for _ in 0..event.quantity.max(1) {
            let converted =
                feedback::record_purchase_by(tx, event.at, &event.sku, shopper, self.window)?;
            if !converted {
                break;
            }
            self.conversions += 1;
        }
        Ok(())
    }

    /// Inserts the chunk's sealed rows (grouped by shopper, each shopper's rows in file order),
    /// then writes the statistics and last-seen times of the new ones into `tx`.
    fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), ImportError> {
        // Stable: rows of one shopper (the only ones that can share a fingerprint) keep their order.
        self.pending.sort_by_key(|row| row.shopper.0);
        self.pending_purchases.clear();
        for row in self.pending.drain(..) {
            let new = shoppers::insert_row(
                tx,
                &row.shopper,
                RowKind::Event,
                Some(&row.fingerprint),
                &row.sealed,
            )?;
            if new {
                self.events_new += 1;
                let seen = self.last_seen.entry(row.shopper).or_insert(row.at);
                *seen = (*seen).max(row.at);
                count(&mut self.stats, row.sku, row.at, row.kind, row.quantity);
            }
        }
        for ((sku, day, kind), n) in self.stats.drain() {
            products::add_stats(tx, &sku, day, kind, n)?;
        }
        for (id, at) in self.last_seen.drain() {
            shoppers::touch(tx, &id, at)?;
        }
        Ok(())
    }
}

/// Adds a new event to the store statistics increments (per sku, day and kind).
fn count(
    stats: &mut HashMap<(String, i64, EventKind), u32>,
    sku: String,
    at: i64,
    kind: EventKind,
    quantity: u32,
) {
    *stats.entry((sku, at.div_euclid(86_400), kind)).or_default() += quantity;
}

/// A behaviour log read without a store: identified customers' events keyed by customer id, the
/// catalog built from the rows' product facts, and the data-quality report.
pub struct Log {
    pub events: Vec<(String, crate::event::Event)>,
    pub products: Vec<Product>,
    pub report: QualityReport,
}

/// Reads a behaviour file without a store, for offline evaluation and model fitting.
/// Quarantined rows are counted in the report and left out.
pub fn read_log(path: &Path, format: EventFormat, rules: &Rules) -> Result<Log, ImportError> {
    let file = path.display().to_string();
    let source = ingest::open_source(path)?;
    let mut report = QualityReport::default();
    let mut events = Vec::new();
    let mut catalog: HashMap<String, Product> = HashMap::new();
    for row in ingest::read_events(source.reader, &file, format, rules)? {
        match row {
            Row::Accepted { record, .. } => {
                report.accept();
                if let Some(p) = product_from_hint(&record.event.sku, &record.hint) {
                    catalog.entry(p.sku.clone()).or_insert(p);
                }
                if let Some(customer) = record.customer {
                    events.push((customer, record.event));
                }
            }
            Row::Quarantined(q) => report.quarantine(q),
        }
    }
    let mut products: Vec<Product> = catalog.into_values().collect();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    Ok(Log {
        events,
        products,
        report,
    })
}
