//! Imports into a real kiosk store (`shelftalk::import::catalog` / `events` on a SQLite file with
//! real keys), formats detected as `shelftalk import` does (`--format auto`).
//!
//! Every input starts from the same store: a template database (a small catalog, a few kiosk
//! impressions for purchases to convert) copied into place before the import, so runs are
//! reproducible and AFL's stability stays high. The same bytes are read in memory as well: the
//! reader's rows are what the import must account for.
//!
//! Invariants:
//! - input the reader refuses as a whole (empty, unknown format, bad header) fails the import
//!   with that error and stores nothing; readable input never fails the import;
//! - every row read is stored or quarantined: `accepted + quarantined` = rows read, the store's
//!   quarantine holds exactly the quarantined rows, each with rule and reason;
//! - catalog: each accepted product reads back from the store exactly as accepted (the last row
//!   of a sku wins), and no other product appears;
//! - events: an accepted row whose product is neither in the catalog nor described by the row
//!   (a price) is quarantined `unknown_product`, every other is stored — an identified
//!   customer's event sealed into their shopper's rows and read back decrypted in file order
//!   (repeats by content once), an anonymous one by its keyed fingerprint; one shopper per
//!   customer with the row's consent (else the configured one); converted impressions in the
//!   store = the conversions reported;
//! - importing the same bytes again is `already_imported` and changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use indicatif::ProgressBar;
use shelftalk::catalog::{Minor, Product};
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::event::{Event, EventKind};
use shelftalk::feedback::{self, Impression, SessionToken};
use shelftalk::import::{self, ImportError, Outcome, RULE_UNKNOWN_PRODUCT};
use shelftalk::ingest::{canonical_bytes, CatalogFormat, EventFormat, Row};
use shelftalk::profile::{self, Vault};
use shelftalk::store::catalog::{self as products, Origin};
use shelftalk::store::quarantine;
use shelftalk::store::shoppers::{self, Consent};
use shelftalk::vocab::{LoyaltyNumber, Style};

use crate::ingest::{check_quarantine, read_catalog, read_events, RULES};
use crate::NOW;

/// Products of the template store (sku, price in minor units).
pub const TEMPLATE_SKUS: &[(&str, i64)] = &[
    ("FW-RUN-0001", 15_299),
    ("FW-RUN-0002", 8_849),
    ("OU-WAT-0006", 799),
    ("OU-WAT-0007", 3_449),
    ("23084", 179),
];

/// When the template's impressions were shown (2026-09-21 14:13:20 UTC); each template product
/// has [`IMPRESSIONS_PER_SKU`] of them.
pub const IMPRESSION_AT: i64 = 1_790_000_000;
pub const IMPRESSIONS_PER_SKU: usize = 2;

/// A kiosk data dir whose store is reset from a template before every input.
pub struct Kiosk {
    _dir: tempfile::TempDir,
    config: Config,
    template: Vec<u8>,
    input: PathBuf,
}

/// A scratch directory for one target process: under `$SHELFTALK_FUZZ_SCRATCH` when set
/// (`scripts/fuzz.sh` sets it and removes it after the run, so directories of processes AFL
/// killed do not pile up), else on tmpfs when there is one (the targets write files per input).
pub fn scratch_dir() -> tempfile::TempDir {
    let base = std::env::var_os("SHELFTALK_FUZZ_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/shm"));
    if base.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("shelftalk-fuzz")
            .tempdir_in(&base)
        {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

impl Kiosk {
    pub fn new() -> Self {
        let dir = scratch_dir();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        KeyDir::new(config.key_dir())
            .init(&shelftalk::crypto::rng())
            .expect("keys");
        {
            let vault = Vault::open(&config).expect("vault");
            let conn = vault.store.conn();
            for (sku, price) in TEMPLATE_SKUS {
                let product = Product {
                    sku: (*sku).to_string(),
                    name: format!("Template product {sku}"),
                    brand: Some("Northpine".into()),
                    category: vec!["Footwear".into(), "Running Shoes".into()],
                    price: Minor(*price),
                    list_price: None,
                    description: String::new(),
                    tags: vec!["footwear".into(), "running".into(), "shoes".into()],
                };
                products::upsert(conn, &product, Origin::Catalog, NOW).expect("product");
                for i in 0..IMPRESSIONS_PER_SKU {
                    let session = SessionToken::from_bytes([i as u8; 16]);
                    feedback::record_impression(
                        conn,
                        &Impression {
                            at: IMPRESSION_AT + i as i64,
                            session: &session,
                            sku,
                            style: Style::ALL[i % Style::ALL.len()],
                            style_probability: 0.5,
                            segment: "all",
                            content_kind: "blurb",
                            arm: shelftalk::experiment::PERSONALISED,
                            arm_propensity: 0.9,
                        },
                    )
                    .expect("impression");
                }
            }
            vault.store.checkpoint().expect("checkpoint");
        }
        let template = std::fs::read(config.db_path()).expect("template db");
        let input = dir.path().join("input");
        Self {
            _dir: dir,
            config,
            template,
            input,
        }
    }

    /// The template store, freshly copied into place, and the input written to its file.
    pub fn fresh(&self, data: &[u8]) -> Vault {
        let db = self.config.db_path();
        for suffix in ["", "-wal", "-shm"] {
            let mut path = db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
        std::fs::write(&db, &self.template).expect("copy template");
        std::fs::write(&self.input, data).expect("write input");
        Vault::open(&self.config).expect("open vault")
    }

    pub fn input(&self) -> &std::path::Path {
        &self.input
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Default for Kiosk {
    fn default() -> Self {
        Self::new()
    }
}

fn quarantined_in_store(vault: &Vault) -> Vec<quarantine::Entry> {
    let entries = quarantine::list(vault.store.conn(), None, u32::MAX).expect("quarantine list");
    for e in &entries {
        assert!(RULES.contains(&e.rule.as_str()) || e.rule == RULE_UNKNOWN_PRODUCT);
        assert!(
            !e.reason.trim().is_empty(),
            "stored quarantine without reason"
        );
        assert!(!e.field.is_empty(), "stored quarantine without field");
        assert!(e.line >= 1, "stored quarantine on line 0");
    }
    entries
}

fn product_count(vault: &Vault) -> u64 {
    products::count(vault.store.conn()).expect("count")
}

/// The second import of the same bytes: recognised, nothing changed.
fn assert_reimport_changes_nothing(
    vault: &mut Vault,
    kiosk: &Kiosk,
    first: &Outcome,
    catalog: bool,
) {
    let before = (
        product_count(vault),
        quarantine::count(vault.store.conn()).expect("count"),
        shoppers::counts(vault.store.conn()).expect("counts"),
    );
    let again = if catalog {
        import::catalog(
            vault,
            kiosk.input(),
            CatalogFormat::Auto,
            &crate::rules(),
            NOW,
            &ProgressBar::hidden(),
        )
    } else {
        import::events(
            vault,
            kiosk.input(),
            EventFormat::Auto,
            &crate::rules(),
            NOW,
            &ProgressBar::hidden(),
        )
    }
    .expect("re-import");
    assert!(again.already_imported, "the same bytes imported twice");
    assert_eq!(
        (again.report.accepted, again.report.quarantined),
        (first.report.accepted, first.report.quarantined)
    );
    let after = (
        product_count(vault),
        quarantine::count(vault.store.conn()).expect("count"),
        shoppers::counts(vault.store.conn()).expect("counts"),
    );
    assert_eq!(before, after, "a re-import changed the store");
}

/// The catalog import target.
pub fn check_catalog_import(kiosk: &Kiosk, data: &[u8]) {
    let rules = crate::rules();
    let read = read_catalog(data, CatalogFormat::Auto, &rules);
    let mut vault = kiosk.fresh(data);
    let before = product_count(&vault);
    let result = import::catalog(
        &mut vault,
        kiosk.input(),
        CatalogFormat::Auto,
        &rules,
        NOW,
        &ProgressBar::hidden(),
    );
    let rows = match (read, result) {
        (None, Err(ImportError::Ingest(_))) => {
            assert_eq!(
                product_count(&vault),
                before,
                "a refused file stored products"
            );
            assert!(quarantined_in_store(&vault).is_empty());
            return;
        }
        (None, Ok(o)) => panic!("the reader refused the file, the import took it: {o:?}"),
        (None, Err(e)) => panic!("refused file failed with a non-file error: {e}"),
        (Some(_), Err(e)) => panic!("a readable catalog failed the import: {e}"),
        (Some(rows), Ok(outcome)) => (rows, outcome),
    };
    let (rows, outcome) = rows;
    assert!(!outcome.already_imported);
    let accepted: Vec<&Product> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Accepted { record, .. } => Some(record),
            Row::Quarantined(_) => None,
        })
        .collect();
    let quarantined = rows.len() - accepted.len();
    assert_eq!(
        (outcome.report.accepted, outcome.report.quarantined),
        (accepted.len() as u64, quarantined as u64),
        "report counts are not the rows read"
    );
    let stored_q = quarantined_in_store(&vault);
    assert_eq!(stored_q.len(), quarantined, "quarantine table vs rows");
    for row in &rows {
        if let Row::Quarantined(q) = row {
            check_quarantine(q);
        }
    }
    // The last accepted row of each sku is what the store holds.
    let mut last: BTreeMap<&str, &Product> = BTreeMap::new();
    for p in &accepted {
        last.insert(p.sku.as_str(), p);
    }
    for (sku, p) in &last {
        let stored = products::get(vault.store.conn(), sku)
            .expect("get")
            .unwrap_or_else(|| panic!("accepted product {sku:?} not stored"));
        assert_eq!(&stored, *p, "stored product differs from the accepted row");
    }
    let new = last
        .keys()
        .filter(|sku| !TEMPLATE_SKUS.iter().any(|(t, _)| t == *sku))
        .count() as u64;
    assert_eq!(
        product_count(&vault),
        before + new,
        "products appeared from nowhere"
    );
    assert_reimport_changes_nothing(&mut vault, kiosk, &outcome, true);
}

/// A customer as the rows give it: the consent of their first stored row, their distinct events
/// in file order.
type Customer = (Option<(bool, bool)>, Vec<Event>);

/// The events import target.
pub fn check_events_import(kiosk: &Kiosk, data: &[u8]) {
    let rules = crate::rules();
    let read = read_events(data, EventFormat::Auto, &rules);
    let mut vault = kiosk.fresh(data);
    let before = product_count(&vault);
    let result = import::events(
        &mut vault,
        kiosk.input(),
        EventFormat::Auto,
        &rules,
        NOW,
        &ProgressBar::hidden(),
    );
    let (rows, outcome) = match (read, result) {
        (None, Err(ImportError::Ingest(_))) => {
            assert_eq!(
                product_count(&vault),
                before,
                "a refused file stored products"
            );
            assert_eq!(
                shoppers::counts(vault.store.conn()).expect("counts"),
                (0, 0)
            );
            assert!(quarantined_in_store(&vault).is_empty());
            return;
        }
        (None, Ok(o)) => panic!("the reader refused the file, the import took it: {o:?}"),
        (None, Err(e)) => panic!("refused file failed with a non-file error: {e}"),
        (Some(_), Err(e)) => panic!("a readable event file failed the import: {e}"),
        (Some(rows), Ok(outcome)) => (rows, outcome),
    };
    assert!(!outcome.already_imported);
    assert_eq!(
        outcome.suppressed, 0,
        "nobody is suppressed in the template"
    );

    // What the import must have done with each row, in file order.
    let mut known: HashSet<String> = TEMPLATE_SKUS.iter().map(|(s, _)| s.to_string()).collect();
    let mut read_quarantined = 0u64;
    let mut unknown = 0u64;
    let mut stored = 0u64;
    let mut created: HashSet<String> = HashSet::new();
    let mut fingerprints: HashSet<[u8; 32]> = HashSet::new();
    let mut anonymous: Vec<[u8; 32]> = Vec::new();
    let mut customers: HashMap<String, Customer> = HashMap::new();
    let mut purchase_units = 0u64;
    for row in &rows {
        let record = match row {
            Row::Quarantined(q) => {
                check_quarantine(q);
                read_quarantined += 1;
                continue;
            }
            Row::Accepted { record, .. } => record,
        };
        let sku = &record.event.sku;
        if !known.contains(sku) {
            if record.hint.price.is_none() {
                unknown += 1;
                continue;
            }
            known.insert(sku.clone());
            created.insert(sku.clone());
        }
        stored += 1;
        let fp = vault
            .keys()
            .pepper
            .fingerprint(b"event", &canonical_bytes(record));
        let new = fingerprints.insert(fp);
        if new && record.event.kind == EventKind::Purchase {
            purchase_units += u64::from(record.event.quantity.max(1));
        }
        match &record.customer {
            None => anonymous.push(fp),
            Some(c) => {
                let entry = customers
                    .entry(c.clone())
                    .or_insert_with(|| (record.consent, Vec::new()));
                if new {
                    entry.1.push(record.event.clone());
                }
            }
        }
    }
    let report = &outcome.report;
    assert_eq!(
        report.accepted + report.quarantined,
        rows.len() as u64,
        "every row read is accepted or quarantined"
    );
    assert_eq!(report.accepted, stored, "rows stored");
    assert_eq!(report.quarantined, read_quarantined + unknown);
    assert_eq!(report.count(RULE_UNKNOWN_PRODUCT), unknown);
    assert_eq!(
        quarantined_in_store(&vault).len() as u64,
        report.quarantined,
        "quarantine table vs report"
    );
    assert_eq!(outcome.events_new, fingerprints.len() as u64, "new events");
    assert_eq!(outcome.products_written, created.len() as u64);
    assert_eq!(product_count(&vault), before + created.len() as u64);
    for sku in &created {
        assert!(products::exists(vault.store.conn(), sku).expect("exists"));
    }
    let conn = vault.store.conn();
    for fp in &anonymous {
        let seen: bool = conn
            .prepare("SELECT 1 FROM seen_rows WHERE fingerprint = ?1")
            .expect("prepare")
            .exists([&fp[..]])
            .expect("query");
        assert!(seen, "an anonymous event was not recorded");
    }
    assert_eq!(
        outcome.shoppers_new,
        customers.len() as u64,
        "one shopper per customer"
    );
    let default_consent = vault.import_consent;
    for (customer, (consent, events)) in &customers {
        let number = LoyaltyNumber::parse(customer).expect("normal form parses");
        let shopper = vault
            .find(&number)
            .expect("find")
            .expect("an identified customer has a shopper");
        let want = consent.map_or(default_consent, |(personalise, analytics)| Consent {
            personalise,
            analytics,
        });
        assert_eq!(shopper.record.consent, want, "imported shopper's consent");
        let opened = profile::open_events(conn, &shopper).expect("open events");
        assert_eq!(
            &opened, events,
            "a shopper's stored events differ from the rows"
        );
    }
    let converted: u64 = conn
        .query_row(
            "SELECT count(*) FROM feedback_impressions WHERE converted = 1",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        converted, outcome.conversions,
        "conversions reported vs stored"
    );
    assert!(
        outcome.conversions <= purchase_units,
        "more conversions than units bought"
    );
    assert_reimport_changes_nothing(&mut vault, kiosk, &outcome, false);
}
